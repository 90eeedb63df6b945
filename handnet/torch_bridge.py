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

* the same architecture: each module becomes its counterpart in ``TRANSLATIONS`` (the table, in
  ``handnet.torch_translations``), a Sequential recursively;
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
from typing import TYPE_CHECKING

import numpy as np

from handnet.module import Module
from handnet.torch_translations import TRANSLATIONS, Translation, torch_children

if TYPE_CHECKING:
    import torch


def to_torch(model: Module, dtype: torch.dtype | np.dtype | str | None = None) -> torch.nn.Module:
    """The ``torch.nn`` model with ``model``'s architecture, weights, buffers and per-module modes.

    A handnet Sequential becomes a ``torch.nn.Sequential``; a single layer becomes its counterpart.
    ``dtype`` (a torch or NumPy floating dtype) defaults to the dtype of the model's floating
    parameters and buffers, which must then all be the same: a torch layer computes in its
    parameters' dtype, a handnet layer in its input's. Given, every floating value is rounded to
    it. A model of float32 Linears needs it when it also holds a BatchNorm1d built without
    ``dtype=np.float32`` (float64 by default): ``to_torch(model, dtype=torch.float32)``.

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
    children = [_from_torch(c, nn, f"{where}[{name}]", f"{prefix}{name}.") for name, c in torch_children(t)]
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
