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

    def __getitem__(self, index: int) -> Module:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


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
