"""The bridge to PyTorch: a handnet model as the same ``torch.nn`` model, and back.

This is the path for a model that outgrows handnet: train it here, where every derivative can be
read, then continue in PyTorch, on a GPU or across machines::

    import handnet as hn
    import torch

    net = hn.to_torch(model)   # torch.nn.Sequential: the same layers, weights, buffers, modes, dtype
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss = torch.nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y))
    loss.backward()
    opt.step()
    # In each process of a multi-machine job: torch.nn.parallel.DistributedDataParallel(net).
    model = hn.from_torch(net)  # and back, to read or evaluate it here

The contract, in both directions:

* the same architecture: each module becomes its counterpart in ``TRANSLATIONS``, a Sequential
  recursively;
* the same state: every parameter and buffer is copied bit for bit and keeps its dtype (float32
  stays float32). These are copies, not views: training one model never changes the other;
* the same mode: each module's ``training`` flag is copied module by module, so a model in train
  mode may hold a layer in eval mode;
* or an error that names the module, says where it sits (``model[1][0]``) and lists what is
  supported. Nothing is guessed: a subclass is refused (its forward may differ), and so are options
  the other library cannot express (``BatchNorm1d(affine=False)``, ``Softmax(dim=0)``) and shared
  (tied) weights, which handnet's layers cannot hold.

State-dict keys are the same in both libraries (``"0.weight"``, ``"1.running_mean"``, …), so
``to_torch`` fills torch's model with ``load_state_dict(strict=True)``, which also checks the
table. ``from_torch`` copies module by module instead, because handnet's ``load_state_dict``
casts each value to the dtype the model already holds, and a new BatchNorm1d holds float64.

torch is imported inside the functions, so ``import handnet`` never needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from handnet import layers
from handnet.module import Module
from handnet.sequential import Sequential

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Translation:
    """One row of the table: a handnet class, its ``torch.nn`` counterpart, and a builder each way.

    A builder takes the module to translate and the class to build (then, for a container, its
    children, already translated) and returns a new module with the same configuration. Weights,
    buffers and mode are copied afterwards, in the same way for every row.
    """

    handnet: type
    torch_name: str                  # the class torch.nn.<torch_name>, named so torch loads late
    to_torch: Callable[..., Any]     # (handnet module, torch class, *children) -> torch module
    from_torch: Callable[..., Any]   # (torch module, handnet class, *children) -> handnet module


def _batchnorm_from_torch(t, BatchNorm1d):
    if not (t.affine and t.bias is not None and t.track_running_stats):
        raise ValueError(f"affine={t.affine}, bias={t.bias is not None}, track_running_stats={t.track_running_stats} "
                         f"is not supported: handnet's BatchNorm1d always learns γ and β and tracks running "
                         f"statistics")
    return BatchNorm1d(t.num_features, eps=t.eps, momentum=t.momentum)


def _softmax_from_torch(t, Softmax):
    # handnet's Softmax normalises the last axis. torch's dim=1 is that axis for the (N, C) inputs
    # that a network produces. For inputs with 3 or more axes the two would differ.
    if t.dim not in (-1, 1):
        raise ValueError(f"dim={t.dim} is not supported: handnet's Softmax normalises the last axis, "
                         f"so only dim=-1 (or dim=1, the same axis for an (N, C) input) translates")
    return Softmax()


def _layernorm_from_torch(t, LayerNorm):
    if t.elementwise_affine and t.bias is None:
        raise ValueError("bias=False is not supported: handnet's LayerNorm learns γ and β together")
    shape = t.normalized_shape  # torch always stores a tuple; a single axis is passed as its int
    return LayerNorm(shape[0] if len(shape) == 1 else shape, eps=t.eps, elementwise_affine=t.elementwise_affine)


def _sequential_from_torch(t, Sequential, *children):
    names = [name for name, _ in _torch_children(t)]
    if names != [str(i) for i in range(len(names))]:
        raise ValueError(f"its children are named {names}, but a handnet Sequential numbers its children "
                         f"0, 1, …, and the state-dict keys would change; rebuild it as "
                         f"torch.nn.Sequential(*module) first")
    return Sequential(*children)


# Each row: handnet class, torch.nn class name, handnet -> torch, torch -> handnet.
TRANSLATIONS: tuple[Translation, ...] = (
    Translation(layers.Linear, "Linear",
                lambda m, Linear: Linear(m.in_features, m.out_features, bias=m.bias is not None),
                lambda t, Linear: Linear(t.in_features, t.out_features, bias=t.bias is not None)),
    Translation(layers.ReLU, "ReLU", lambda m, ReLU: ReLU(), lambda t, ReLU: ReLU()),
    Translation(layers.Sigmoid, "Sigmoid", lambda m, Sigmoid: Sigmoid(), lambda t, Sigmoid: Sigmoid()),
    Translation(layers.Tanh, "Tanh", lambda m, Tanh: Tanh(), lambda t, Tanh: Tanh()),
    Translation(layers.Softmax, "Softmax", lambda m, Softmax: Softmax(dim=-1), _softmax_from_torch),
    Translation(layers.BatchNorm1d, "BatchNorm1d",
                lambda m, BatchNorm1d: BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum),
                _batchnorm_from_torch),
    Translation(Sequential, "Sequential", lambda m, Sequential, *children: Sequential(*children),
                _sequential_from_torch),
    Translation(layers.Dropout, "Dropout",
                lambda m, Dropout: Dropout(p=m.p), lambda t, Dropout: Dropout(p=t.p)),
    Translation(layers.LeakyReLU, "LeakyReLU",
                lambda m, LeakyReLU: LeakyReLU(negative_slope=m.negative_slope),
                lambda t, LeakyReLU: LeakyReLU(negative_slope=t.negative_slope)),
    Translation(layers.GELU, "GELU",
                lambda m, GELU: GELU(approximate=m.approximate), lambda t, GELU: GELU(approximate=t.approximate)),
    Translation(layers.LayerNorm, "LayerNorm",
                lambda m, LayerNorm: LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine),
                _layernorm_from_torch),
)


def to_torch(model: Module, dtype: torch.dtype | np.dtype | str | None = None) -> torch.nn.Module:
    """The ``torch.nn`` model with ``model``'s architecture, weights, buffers and per-module modes.

    A handnet Sequential becomes a ``torch.nn.Sequential``; a single layer becomes its counterpart.
    ``dtype`` (a torch or NumPy floating dtype) defaults to the dtype of the model's floating
    parameters and buffers, which must then all be the same: a torch layer computes in its
    parameters' dtype, a handnet layer in its input's. Given, every floating value is rounded to
    it. A model of float32 Linears needs it when it also holds a BatchNorm1d, which has no dtype
    argument and starts in float64: ``to_torch(model, dtype=torch.float32)``.

    Raises:
        TypeError: ``model`` is not a handnet Module, or holds a module with no row in ``TRANSLATIONS``.
        ValueError: the model mixes floating dtypes and no ``dtype`` is given. (A layer or Parameter
            used in two places cannot occur: Sequential refuses it when it is built.)
    """
    import torch

    if not isinstance(model, Module):
        raise TypeError(f"to_torch: model must be a handnet Module, got {type(model).__name__}")
    dtype = _model_dtype(model) if dtype is None else _as_torch_dtype(dtype)
    # Building torch layers draws their initial weights; keep the caller's random stream untouched.
    with torch.random.fork_rng(devices=[]):
        twin = _to_torch(model, torch.nn, "model")
    if dtype is not None:
        twin.to(dtype)  # floating parameters and buffers only; num_batches_tracked stays int64
    # load_state_dict copies: it writes into twin's own tensors, so the two models share no memory.
    twin.load_state_dict({k: _as_tensor(v) for k, v in model.state_dict().items()}, strict=True)
    return twin


def from_torch(module: torch.nn.Module) -> Module:
    """The handnet model with ``module``'s architecture, weights, buffers, per-module modes and dtypes.

    A ``torch.nn.Sequential`` becomes a handnet Sequential; a single layer becomes its counterpart.
    Every tensor keeps its dtype; float16, float32, float64 and int64 are supported.

    Raises:
        TypeError: ``module`` is not a ``torch.nn.Module``, or holds a module with no row in
            ``TRANSLATIONS`` (a custom module, a subclass, a Conv2d, …).
        ValueError: a supported class uses an option handnet lacks, a tensor has a dtype NumPy
            cannot hold (bfloat16) or that handnet does not use, or parameters are shared (tied).
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: module must be a torch.nn.Module, got {type(module).__name__}")
    _refuse_shared("from_torch", module.named_parameters(remove_duplicate=False))
    ours = _from_torch(module, torch.nn, "model", "")
    theirs = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    if {k: v.shape for k, v in ours.state_dict().items()} != theirs:  # a row that builds the wrong layer
        raise RuntimeError(f"from_torch: the translation of {type(module).__name__} does not hold its state "
                           f"{theirs}; the row in TRANSLATIONS is wrong")
    return ours


# ---- the walk, one module at a time --------------------------------------------------------
def _to_torch(m: Module, nn, where: str):
    row = _row("to_torch", type(m), {r.handnet: r for r in TRANSLATIONS}, where, _handnet_name)
    children = [_to_torch(c, nn, f"{where}[{name}]") for name, c in m.named_children()]
    twin = row.to_torch(m, getattr(nn, row.torch_name), *children)
    twin.training = m.training  # the attribute, not .train(): that would overwrite the children's
    return twin


def _from_torch(t, nn, where: str, prefix: str) -> Module:
    row = _row("from_torch", type(t), {getattr(nn, r.torch_name): r for r in TRANSLATIONS}, where, _torch_name)
    children = [_from_torch(c, nn, f"{where}[{name}]", f"{prefix}{name}.") for name, c in _torch_children(t)]
    try:
        ours = row.from_torch(t, row.handnet, *children)
    except ValueError as e:  # say where the module sits; the builder said what is wrong with it
        raise ValueError(f"from_torch: {where} ({_torch_name(type(t))}): {e}") from e
    for name, tensor in t.named_parameters(recurse=False):
        getattr(ours, name).data = _as_array(tensor, prefix + name)
    for name, tensor in t.named_buffers(recurse=False):
        ours.register_buffer(name, _as_array(tensor, prefix + name))
    ours.training = t.training
    return ours


def _row(direction: str, cls: type, rows: dict, where: str, name: Callable[[type], str]) -> Translation:
    if cls in rows:
        return rows[cls]
    parents = [c for c in rows if issubclass(cls, c)]
    why = f", a subclass of {name(parents[0])} whose forward may differ" if parents else ""
    raise TypeError(f"{direction}: {where} is {name(cls)}{why}, which has no translation. "
                    f"Supported: {', '.join(name(c) for c in rows)}")


def _torch_children(t) -> list[tuple[str, Any]]:
    """t's direct children in order, counting repeats (``named_children`` skips a repeated module)."""
    return [(name, c) for name, c in t.named_modules(remove_duplicate=False) if name and "." not in name]


def _handnet_name(cls: type) -> str:
    return cls.__name__ if cls.__module__.startswith("handnet.") else f"{cls.__module__}.{cls.__qualname__}"


def _torch_name(cls: type) -> str:
    import torch

    if getattr(torch.nn, cls.__name__, None) is cls:
        return f"torch.nn.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


# ---- values and dtypes ----------------------------------------------------------------------
def _refuse_shared(direction: str, named_parameters) -> None:
    """Refuse tied torch parameters (torch allows them; a handnet model cannot hold them)."""
    names: dict[int, list[str]] = {}
    for name, p in named_parameters:
        names.setdefault(id(p), []).append(name)
    tied = [group for group in names.values() if len(group) > 1]
    if tied:
        raise ValueError(f"{direction}: one parameter is shared by {', '.join(tied[0])}; handnet layers own "
                         f"their parameters and write (not add to) their gradients, so tied weights cannot be "
                         f"translated")


def _model_dtype(model: Module):
    """The torch dtype of every floating parameter and buffer of ``model``, or None if it has none."""
    import torch

    keys: dict[np.dtype, list[str]] = {}
    for key, value in model.state_dict().items():
        if value.dtype.kind == "f":
            keys.setdefault(value.dtype, []).append(key)
    if len(keys) > 1:
        held = "; ".join(f"{dt}: {', '.join(k)}" for dt, k in keys.items())
        raise ValueError(f"to_torch: the model mixes floating dtypes ({held}); a torch layer computes in its "
                         f"parameters' dtype, so choose one, e.g. to_torch(model, dtype=torch.float32)")
    return torch.from_numpy(np.zeros(0, dtype=next(iter(keys)))).dtype if keys else None


def _as_torch_dtype(dtype):
    import torch

    if not isinstance(dtype, torch.dtype):
        dtype = torch.from_numpy(np.zeros(0, dtype=np.dtype(dtype))).dtype
    if not dtype.is_floating_point:
        raise ValueError(f"to_torch: dtype must be a floating dtype, got {dtype}")
    return dtype


def _as_tensor(value: np.ndarray):
    import torch

    # torch reads only native byte order; state_dict() has already copied, so no memory is shared.
    return torch.from_numpy(np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("=")))


def _as_array(tensor, key: str) -> np.ndarray:
    import torch

    if tensor.dtype not in (torch.float16, torch.float32, torch.float64, torch.int64):
        raise ValueError(f"from_torch: {key!r} is {tensor.dtype}; handnet holds float16, float32, float64 "
                         f"and int64 (num_batches_tracked); convert first, e.g. module.double()")
    return tensor.detach().cpu().numpy().copy()  # a copy: .numpy() alone would share torch's memory
