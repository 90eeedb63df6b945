"""The protocol every network loss follows.

* ``value = loss(pred, target)`` returns the loss as a Python float and caches what the
  gradient needs;
* ``dpred = loss.backward()`` returns ∂L/∂pred, the shape of ``pred``, for the last call;
* ``loss.jvp(dpred) -> float`` is forward mode, the directional derivative ⟨∂L/∂pred, dpred⟩
  of the last call's loss along ``dpred``;
* ``loss.hvp(dpred) -> array`` is the Hessian of L with respect to pred, applied to ``dpred``
  (the shape of pred). Each loss's docstring states its Hessian. It starts the second-order
  pass (``handnet.curvature``), as ``backward`` starts the first;
* ``loss.accuracy(pred, target)`` is the fraction predicted right when (loss, target) make a
  classification task, else None (the default), so ``fit`` and ``evaluate`` can report it.
* ``loss.check_target(pred_shape, target)`` raises ValueError, naming the first bad row, unless
  ``target`` is a valid target for a prediction of shape ``pred_shape``: the same check as
  ``forward`` makes, without a prediction. ``fit`` calls it on the whole training and validation
  sets before the first step, so a bad label in the last batch stops training before it starts.
  The default accepts every target.

A loss has no parameters; the gradient it returns is the ``dout`` that starts the network's
backward pass: ``model.backward(loss.backward())``. Each loss's docstring states its reduction
(mean over what), because the gradient is only right for the reduction it was derived for.
"""

from __future__ import annotations

import math

import numpy as np

from handnet._checks import check_tangent


class Loss:
    """Base class of network losses: ``__call__(pred, target) -> float`` and ``backward() -> dpred``."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def jvp(self, dpred: np.ndarray) -> float:
        """⟨∂L/∂pred, dpred⟩: how fast the last call's loss changes when pred moves along dpred."""
        grad = self.backward()
        return float(np.sum(grad * check_tangent(dpred, grad.shape, grad.dtype, type(self).__name__, "dpred")))

    def hvp(self, dpred: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define hvp (its Hessian with respect to pred)")

    def check_target(self, pred_shape: tuple[int, ...], target: np.ndarray) -> None:
        """Raise ValueError (naming the first bad row) unless ``target`` fits a prediction of ``pred_shape``."""

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float | None:
        """The fraction of samples predicted right, or None when the task is not classification."""
        return None

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def fraction_true(right: np.ndarray) -> float:
    """The fraction of True entries of a boolean array (an accuracy), NaN when it is empty.

    Counted (``np.count_nonzero``), not averaged: ``np.mean`` would first turn the booleans into
    a float array, which costs more than the comparison that made them.
    """
    return int(np.count_nonzero(right)) / right.size if right.size else math.nan   # a Python float
