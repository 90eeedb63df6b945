"""The base of every optimizer: a checked list of Parameters, state kept per parameter, ``step()``.

The protocol (SGD and Adam follow it, as ``torch.optim`` optimizers do):

* ``opt = Optimizer(params, ...)`` takes the parameters to train (a list, or ``model.parameters()``)
  and checks every hyper-parameter up front.
* ``opt.step()`` updates each parameter's ``.data`` in place from its ``.grad``. A parameter whose
  ``.grad`` is None has not been reached by any backward and is skipped, its state untouched.
  A step is all or nothing: every gradient is checked first (an ndarray of finite real numbers
  with the parameter's shape), and a bad one raises ValueError naming the parameter before any
  parameter or any state has changed.
* ``opt.state[p]`` is the dict of what the rule remembers about parameter ``p`` between steps
  (a momentum buffer, Adam's moments), created on p's first update.

There is no need to zero gradients between steps: a backward *writes* ``.grad``, it never adds to it.
``zero_grad()`` sets every ``.grad`` to None, which makes the next ``step()`` skip parameters that
the next backward does not reach.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from handnet._checks import all_finite
from handnet.module import Module
from handnet.parameter import Parameter


class Optimizer:
    """Base class: subclasses implement ``update(p, g, state)`` for one parameter.

    Attributes:
        params: the list of Parameters this optimizer updates, in the order given.
        state: dict Parameter -> dict, what the update rule keeps for each parameter.
    """

    def __init__(self, params: Iterable[Parameter]) -> None:
        who = type(self).__name__
        if isinstance(params, Parameter):
            raise ValueError(f"{who}: params must be a list of Parameters (e.g. model.parameters()), "
                             f"got a single Parameter; wrap it in a list")
        if isinstance(params, Module):
            raise ValueError(f"{who}: params must be the Parameters to train, got the module {type(params).__name__} "
                             f"itself; pass model.parameters()")
        try:
            params = list(params)
        except TypeError:
            raise ValueError(f"{who}: params must be an iterable of Parameters, got {type(params).__name__}; "
                             f"pass model.parameters()") from None
        if not params:
            raise ValueError(f"{who}: params is empty: there is nothing to optimize")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise ValueError(f"{who}: params[{i}] must be a Parameter, got {type(p).__name__}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{who}: params lists a Parameter more than once; it would be updated twice per step")
        self.params: list[Parameter] = params
        self.state: dict[Parameter, dict] = {}

    def step(self) -> None:
        """Update every parameter that has a gradient; skip those whose ``.grad`` is None.

        All or nothing: every gradient is checked before any parameter or state changes, so a bad
        one (not an ndarray of finite real numbers of the parameter's shape) raises ValueError
        naming it and leaves all parameters and all optimizer state exactly as they were.
        """
        reached = [(i, p) for i, p in enumerate(self.params) if p.grad is not None]
        for i, p in reached:
            self._check_grad(i, p)
        for _, p in reached:
            self.update(p, p.grad, self.state.setdefault(p, {}))

    def _check_grad(self, i: int, p: Parameter) -> None:
        """Raise ValueError naming params[i] unless its .grad is an array of finite reals of its shape.

        Three attribute tests and one dot product (``all_finite``): a step of a small model is a
        few dozen NumPy calls, and its checks should not be a large part of them.
        """
        g = p.grad
        if not isinstance(g, np.ndarray):
            raise ValueError(f"{self._who(i, p)}: .grad must be an ndarray, got {type(g).__name__}; "
                             f"nothing was updated")
        if g.dtype.kind not in "iuf":   # int, unsigned, float: no complex, str, bool or object
            raise ValueError(f"{self._who(i, p)}: .grad must hold real numbers, got dtype {g.dtype}; "
                             f"nothing was updated")
        if g.shape != p.data.shape:
            raise ValueError(f"{self._who(i, p)} has a gradient of shape {g.shape}; nothing was updated")
        if not all_finite(g):
            bad = tuple(int(k) for k in np.argwhere(~np.isfinite(g))[0])
            raise ValueError(f"{self._who(i, p)}: .grad must be finite, found {g[bad]} at index {bad} (a step would "
                             f"make the parameter, and any moments kept of it, NaN for good); nothing was updated")

    def _who(self, i: int, p: Parameter) -> str:
        return f"{type(self).__name__}.step: params[{i}] (shape {p.data.shape})"

    def update(self, p: Parameter, g: np.ndarray, state: dict) -> None:
        """Change ``p.data`` in place given its gradient ``g``; ``state`` is p's own dict."""
        raise NotImplementedError(f"{type(self).__name__} does not define update")

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (optional: backward overwrites gradients anyway)."""
        for p in self.params:
            p.grad = None
