"""The table of the PyTorch bridge: each handnet class, its ``torch.nn`` counterpart, a builder each way.

``handnet.torch_bridge`` walks a model and looks each module up here; a layer added to handnet
gets its row here (the tests refuse an exported layer without one). torch classes are named,
not imported, so that this module loads without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handnet import layers
from handnet.sequential import Sequential


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
    names = [name for name, _ in torch_children(t)]
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


def torch_children(t) -> list[tuple[str, Any]]:
    """t's direct children in order, counting repeats (``named_children`` skips a repeated module)."""
    return [(name, c) for name, c in t.named_modules(remove_duplicate=False) if name and "." not in name]
