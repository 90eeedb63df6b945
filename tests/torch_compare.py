"""The one place the tests meet PyTorch: build torch's twin of a handnet model and compare numbers.

Every comparison runs in float64 with a random upstream gradient (an all-ones gradient would
make BatchNorm's dx exactly zero and the comparison empty) and measures the relative error
    max |ours − torch| / max |torch|
which must be ≤ 1e-10 unless a test says otherwise. One exception: a tensor that is zero by
mathematics (the bias gradient of a Linear followed by BatchNorm, which cancels against the
batch mean) is rounding noise of size ~1e-17 in both libraries, and a relative error of noise
means nothing; such a tensor passes when max |ours − torch| ≤ ZERO_ATOL. The test data are of
order one, so this floor cannot hide a real disagreement.
"""

from __future__ import annotations

import numpy as np
import torch

import handnet as hn
from handnet import layers

torch.set_default_dtype(torch.float64)

TOL = 1e-10
ZERO_ATOL = 1e-13

# handnet layer -> a function building torch's equivalent from it (weights are loaded afterwards).
TORCH_TWINS = {
    layers.Linear: lambda m: torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
    layers.ReLU: lambda m: torch.nn.ReLU(),
    layers.Sigmoid: lambda m: torch.nn.Sigmoid(),
    layers.Tanh: lambda m: torch.nn.Tanh(),
    layers.Softmax: lambda m: torch.nn.Softmax(dim=-1),
    layers.BatchNorm1d: lambda m: torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum),
    hn.Sequential: lambda m: torch.nn.Sequential(*[torch_twin_structure(c) for c in m]),
}


def torch_twin_structure(module: hn.Module) -> torch.nn.Module:
    return TORCH_TWINS[type(module)](module)


def torch_twin(module: hn.Module) -> torch.nn.Module:
    """torch's model of the same structure, holding our weights and buffers, in our train/eval mode.

    ``load_state_dict(strict=True)`` doubles as a check that our state-dict keys and shapes are torch's.
    """
    twin = torch_twin_structure(module).double()
    twin.load_state_dict({k: torch.as_tensor(v) for k, v in module.state_dict().items()}, strict=True)
    twin.train(module.training)
    return twin


def rel_err(ours, theirs) -> float:
    ours = np.asarray(ours, dtype=np.float64)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"shapes differ: ours {ours.shape}, torch {theirs.shape}"
    scale = np.max(np.abs(theirs)) if theirs.size else 0.0
    diff = np.max(np.abs(ours - theirs)) if theirs.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def assert_close(ours, theirs, what: str, tol: float = TOL) -> None:
    err = rel_err(ours, theirs)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    if np.size(theirs) and np.max(np.abs(np.asarray(ours, dtype=np.float64) - theirs)) <= ZERO_ATOL:
        return
    assert err <= tol, f"{what}: relative error {err:.3e} against torch exceeds {tol:.0e}"


def compare_with_torch(module: hn.Module, x: np.ndarray, *, rng: np.random.Generator, steps: int = 1,
                       tol: float = TOL) -> None:
    """Forward, input gradient, every parameter gradient and every buffer must equal torch's.

    Runs ``steps`` forward/backward passes on fresh inputs (of x's shape) so that running
    statistics have moved several times before they are compared.
    """
    twin = torch_twin(module)
    for step in range(steps):
        xs = x if step == 0 else rng.standard_normal(x.shape)
        xt = torch.tensor(xs, requires_grad=True)
        y = module(xs)
        yt = twin(xt)
        assert_close(y, yt, f"forward (step {step})", tol)
        dout = rng.standard_normal(y.shape)
        dx = module.backward(dout)
        yt.backward(torch.as_tensor(dout))
        assert_close(dx, xt.grad, f"input gradient (step {step})", tol)
        theirs = dict(twin.named_parameters())
        for name, p in module.named_parameters():
            assert_close(p.grad, theirs[name].grad, f"gradient of {name} (step {step})", tol)
            theirs[name].grad = None
        ours_state, their_state = module.state_dict(), twin.state_dict()
        for name, value in ours_state.items():
            assert_close(value, their_state[name], f"state {name} (step {step})", tol)
