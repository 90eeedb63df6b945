"""The base of every optimizer: a checked list of Parameters, state kept per parameter, ``step()``.

The protocol (SGD and Adam follow it, as ``torch.optim`` optimizers do):

* ``opt = Optimizer(params, ...)`` takes the parameters to train (a list, or ``model.parameters()``)
  and checks every hyper-parameter up front.
* ``opt.step()`` updates each parameter's ``.data`` in place from its ``.grad``. A parameter whose
  ``.grad`` is None has not been reached by any backward and is skipped, its state untouched.
* ``opt.state[p]`` is the dict of what the rule remembers about parameter ``p`` between steps
  (a momentum buffer, Adam's moments), created on p's first update.

There is no need to zero gradients between steps: a backward *writes* ``.grad``, it never adds to it.
``zero_grad()`` sets every ``.grad`` to None, which makes the next ``step()`` skip parameters that
the next backward does not reach.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

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
        params = list(params)
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

        Every gradient is checked before any parameter changes, so a bad one leaves all as they were.
        """
        for i, p in enumerate(self.params):
            if p.grad is not None and p.grad.shape != p.data.shape:
                raise ValueError(f"{type(self).__name__}.step: params[{i}] has shape {p.data.shape} but a gradient "
                                 f"of shape {p.grad.shape}")
        for p in self.params:
            if p.grad is not None:
                self.update(p, p.grad, self.state.setdefault(p, {}))

    def update(self, p: Parameter, g: np.ndarray, state: dict) -> None:
        """Change ``p.data`` in place given its gradient ``g``; ``state`` is p's own dict."""
        raise NotImplementedError(f"{type(self).__name__} does not define update")

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (optional: backward overwrites gradients anyway)."""
        for p in self.params:
            p.grad = None
