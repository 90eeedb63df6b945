"""Sequential: a chain of modules, differentiated by the chain rule from right to left."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from handnet.module import Module
from handnet.parameter import Parameter


class Sequential(Module):
    """A chain of modules: ``y = f_K(… f_2(f_1(x)))``.

    Forward:  x_0 = x,  x_k = f_k(x_{k-1}),  y = x_K.
    Backward: the chain rule, right to left: g_K = dout,  g_{k-1} = f_k.backward(g_k),  dx = g_0.
              Each f_k.backward also writes the gradients of f_k's own parameters.
              ``backward_parameters(dout)`` writes the same gradients and stops at the first f_j
              that holds parameters, asking it for no dx (nothing before it needs a g).
    Forward mode: the chain rule, left to right: ẋ_0 = dx,  ẋ_k = f_k.jvp(ẋ_{k-1}, θ̇_k),  dy = ẋ_K,
              where θ̇_k are the entries of ``tangents`` under f_k's prefix ("k."), without it.
    Second order: the two passes together. Left to right, the input tangent ẋ_{k-1} of every
              f_k (forward mode, as above); then right to left, beside the gradient g_k, its
              tangent: ġ_K = dout_dot and
                  (ġ_{k-1}, Ġ_k) = f_k.backward_tangent(g_k, ġ_k, ẋ_{k-1}, θ̇_k),  g_{k-1} = f_k.backward(g_k)
              where Ġ_k are the tangents of f_k's parameter gradients (given back with the prefix).

    Shapes: x is what the first module takes, y what the last one gives; each module's output
    must fit the next one's input (a mismatch raises ValueError naming the position).

    Each module (and each Parameter) may appear once, anywhere in the chain, nested chains
    included: a layer keeps the cache of its last forward and writes its ``.grad``, so one
    instance used twice would silently get the gradient wrong. Such a chain raises ValueError.

    Children are named ``"0"``, ``"1"``, … as in ``torch.nn.Sequential``, so parameter names and
    state-dict keys are PyTorch's (``"0.weight"``, ``"1.running_mean"``, …).
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(m).__name__}")
        self.layers = list(modules)
        _refuse_shared(self)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, m in enumerate(self.layers):
            yield str(i), m

    def forward(self, x: np.ndarray) -> np.ndarray:
        # The layers cache references; a copy of the caller's array keeps a reused batch buffer
        # from changing the gradients. Every later array is the chain's own.
        x = np.array(x)
        # If a later layer raises, earlier BatchNorm layers have already moved their running
        # statistics (torch behaves the same way): the error is about the input, not the state.
        for i, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except ValueError as e:
                # Say where in the chain the bad input arrived; the layer's message says what was wrong.
                raise ValueError(f"Sequential[{i}] ({type(layer).__name__}): {e}") from e
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def backward_parameters(self, dout: np.ndarray) -> None:
        # The chain rule stops at the first layer holding parameters: the layers before it have no
        # .grad to write, and it needs no dx.
        first = next((k for k, layer in enumerate(self.layers) if _holds_parameters(layer)), None)
        if first is None:
            return
        for layer in reversed(self.layers[first + 1:]):
            dout = layer.backward(dout)
        self.layers[first].backward_parameters(dout)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        per_child = self._split(tangents)
        for layer, child_tangents in zip(self.layers, per_child):
            dx = layer.jvp(dx, child_tangents)
        return dx

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        per_child = self._split(tangents)
        input_tangents = [dx]                                     # ẋ_0, ẋ_1, …, ẋ_{K-1}
        for layer, child_tangents in zip(self.layers[:-1], per_child):
            input_tangents.append(layer.jvp(input_tangents[-1], child_tangents))
        grad_dots = {}
        for k in reversed(range(len(self.layers))):
            layer = self.layers[k]
            next_dot, child_dots = layer.backward_tangent(dout, dout_dot, input_tangents[k], per_child[k])
            grad_dots.update({f"{k}.{name}": value for name, value in child_dots.items()})
            dout, dout_dot = layer.backward(dout), next_dot
        order = {name: i for i, (name, _) in enumerate(self.named_parameters())}
        return dout_dot, dict(sorted(grad_dots.items(), key=lambda item: order[item[0]]))

    def _split(self, tangents: dict | None) -> list[dict[str, np.ndarray]]:
        """The checked ``tangents``, one dict per child, each without the child's prefix."""
        tangents = self.check_tangents(tangents)
        per_child = [{} for _ in self.layers]
        for name, value in tangents.items():
            index, _, rest = name.partition(".")
            per_child[int(index)][rest] = value
        return per_child

    def __getitem__(self, index: int) -> Module:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


def _holds_parameters(module: Module) -> bool:
    """Whether ``module`` or a descendant holds a Parameter (the walk stops at the first one)."""
    return next(module.named_parameters(), None) is not None


def _refuse_shared(seq: Sequential) -> None:
    """Raise ValueError if a module or a Parameter appears at two places in ``seq``."""
    seen: dict[int, str] = {}

    def claim(obj, where: str) -> None:
        if id(obj) in seen:
            kind = "Parameter" if isinstance(obj, Parameter) else type(obj).__name__
            raise ValueError(
                f"Sequential: the same {kind} is used at {seen[id(obj)]!r} and at {where!r}. A layer keeps "
                f"the cache of its last forward and writes (not adds to) its .grad, so one instance cannot "
                f"serve two places: make a second {kind}")
        seen[id(obj)] = where

    for prefix, m in seq.named_modules():
        if m is not seq:
            claim(m, prefix.rstrip("."))
        for name, p in m._own_parameters():
            claim(p, prefix + name)
