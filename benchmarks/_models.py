"""The MLP D-H-H-C three ways, from one set of initial weights: handnet, torch eager, the reference.

Every builder returns a *trainer*: ``trainer.step(X_b, y_b)`` is one SGD-with-momentum step on a
batch, ``trainer.first_weight()`` the first layer's weight as a float64 numpy array (to check
that the three stayed in step). All three start from the handnet model's initial state dict:
torch loads it (``strict=True``), the reference copies it into plain arrays.

The handnet step is the plain four-line loop body, not ``hn.fit``:
    out = model(X_b); loss(out, y_b); model.backward_parameters(loss.backward()); opt.step()
For float32, handnet's Linear and BatchNorm1d layers are built with ``dtype=np.float32``, as
torch's and the reference's parameters are float32.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

import handnet as hn
from handnet.layers import BatchNorm1d, Linear, ReLU, SoftmaxCrossEntropy
from handnet.optim import SGD
from benchmarks.reference import reference_params, reference_step

LR = 0.01
MOMENTUM = 0.9


def handnet_model(dims: tuple[int, int, int, int], batchnorm: bool, dtype, seed: int = 0) -> hn.Sequential:
    """Linear(D, H) [BatchNorm1d(H)] ReLU Linear(H, H) [BatchNorm1d(H)] ReLU Linear(H, C)."""
    rng = np.random.default_rng(seed)
    d, h, c = dims[0], dims[1], dims[3]
    layers = []
    for fan_in in (d, h):
        layers.append(Linear(fan_in, h, rng=rng, dtype=dtype))
        if batchnorm:
            layers.append(BatchNorm1d(h, dtype=dtype))
        layers.append(ReLU())
    return hn.Sequential(*layers, Linear(h, c, rng=rng, dtype=dtype))


class HandnetTrainer:
    """handnet's Sequential, SoftmaxCrossEntropy and SGD, stepped by the plain four-line loop body."""

    def __init__(self, model: hn.Sequential) -> None:
        self.model, self.loss = model, SoftmaxCrossEntropy()
        self.opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(self, X_b: np.ndarray, y_b: np.ndarray) -> None:
        out = self.model(X_b)
        self.loss(out, y_b)
        self.model.backward_parameters(self.loss.backward())
        self.opt.step()

    def first_weight(self) -> np.ndarray:
        return self.model[0].weight.data.astype(np.float64)


class TorchTrainer:
    """torch.nn with the same layers, ``F.cross_entropy`` (a mean, as ours) and ``torch.optim.SGD``."""

    def __init__(self, torch: ModuleType, state: dict, batchnorm: bool, dims: tuple, dtype) -> None:
        nn = torch.nn
        self.torch = torch
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        d, h, c = dims[0], dims[1], dims[3]
        layers = []
        for fan_in in (d, h):
            layers += [nn.Linear(fan_in, h)] + ([nn.BatchNorm1d(h)] if batchnorm else []) + [nn.ReLU()]
        self.model = nn.Sequential(*layers, nn.Linear(h, c)).to(tdtype)
        self.model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=_np_dtype(v, dtype)))
                                    for k, v in state.items()}, strict=True)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def tensors(self, X: np.ndarray, y: np.ndarray) -> tuple:
        """X and y as torch tensors, made once outside the timing (they share numpy's memory)."""
        return self.torch.from_numpy(np.ascontiguousarray(X)), self.torch.from_numpy(y)

    def step(self, X_b, y_b) -> None:
        out = self.model(X_b)
        loss = self.torch.nn.functional.cross_entropy(out, y_b)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def first_weight(self) -> np.ndarray:
        return self.model[0].weight.detach().numpy().astype(np.float64)


def _np_dtype(value: np.ndarray, dtype):
    """The numpy dtype a state-dict entry is given to torch in: ``dtype`` for floats, int64 for counts."""
    return np.int64 if np.asarray(value).dtype.kind in "iu" else dtype


class ReferenceTrainer:
    """The straight-line NumPy step of ``benchmarks.reference`` on plain arrays."""

    def __init__(self, state: dict, batchnorm: bool, dtype) -> None:
        self.p, self.velocity, self.batchnorm = reference_params(state, batchnorm, dtype), {}, batchnorm

    def step(self, X_b: np.ndarray, y_b: np.ndarray) -> None:
        reference_step(self.p, self.velocity, X_b, y_b, LR, MOMENTUM, self.batchnorm)

    def first_weight(self) -> np.ndarray:
        return self.p["W1"].astype(np.float64)


def trainers(dims: tuple[int, int, int, int], batchnorm: bool, dtype, torch: ModuleType | None,
             seed: int = 0) -> dict[str, object]:
    """{"handnet": …, "torch eager": … (when torch is given), "numpy reference": …}, one initial state."""
    model = handnet_model(dims, batchnorm, dtype, seed)
    state = model.state_dict()
    out = {"handnet": HandnetTrainer(model)}
    if torch is not None:
        out["torch eager"] = TorchTrainer(torch, state, batchnorm, dims, dtype)
    out["numpy reference"] = ReferenceTrainer(state, batchnorm, dtype)
    return out
