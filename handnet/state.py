"""Putting a module back as it was: ``modes`` for train/eval, ``preserved`` for everything.

Tools that run a model for their own purposes (``predict`` and ``fit`` in eval mode, gradcheck,
the Jacobians, the curvature functions) must leave it as the caller had it; these two context
managers are how.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from handnet.module import Module


@contextmanager
def modes(model: Module, training: bool) -> Iterator[None]:
    """Put every module in train or eval mode; afterwards give each back the mode it had."""
    before = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for m, mode in before:
            m.training = mode


@contextmanager
def preserved(module: Module | None) -> Iterator[None]:
    """Run on float64 copies of the module's parameters; afterwards put everything back as it was.

    For tools that probe a module many times (gradcheck, jacobian, the curvature functions):
    their forwards and backwards overwrite each layer's cache (so a backward afterwards would
    differentiate the probe's input), its parameters' grads, and, for BatchNorm1d in train mode,
    its running statistics. So every module's attributes are saved and restored, and every
    parameter's data and grad. ``module`` may be None (nothing to keep).
    """
    modules = list(module.modules()) if module is not None else []
    params = [p for m in modules for p in m.parameters(recurse=False)]
    saved_params = [(p, p.data, p.grad) for p in params]
    saved_attributes = [(m, dict(vars(m))) for m in modules]   # caches, buffers, mode
    try:
        for p in params:
            p.data = np.array(p.data, dtype=np.float64, order="C")
        yield
    finally:
        for p, data, grad in saved_params:
            p.data, p.grad = data, grad
        for m, attributes in saved_attributes:
            vars(m).clear()
            vars(m).update(attributes)
