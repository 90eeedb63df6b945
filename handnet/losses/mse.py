"""Mean squared error: the loss of a regression network."""

from __future__ import annotations

import numpy as np

from handnet._checks import check_tangent, require_cache
from handnet.losses._check_pair import check_pair
from handnet.losses.loss import Loss


class MSELoss(Loss):
    """Mean of the squared differences over every element.

    Forward:   L = (1/N) Σᵢ (predᵢ − targetᵢ)²       N = pred.size, all elements
    Backward:  dL/dpred = 2 (pred − target) / N
    Forward mode: L̇ = ⟨∂L/∂pred, ṗred⟩, the gradient above against the tangent (``jvp``).
    Hessian:   d²L/dpred² = (2/N) I                   (constant: L is a quadratic in pred);
               ``hvp(v)`` = (2/N) v
    Reduction: mean over all elements, as ``torch.nn.MSELoss()`` — note there is no 1/2, so the
               gradient carries a 2 (scikit-learn's MLP uses ``.mean() / 2`` and has none).

    Shapes:
        pred, target: any shape, the same (no broadcasting).
    Returns: the loss as a Python float.

    Cached by forward: ``residual`` = pred − target (the shape of pred).
    """

    def __init__(self) -> None:
        self.residual = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        pred, target = check_pair(pred, target, "MSELoss")
        self.residual = pred - target
        return float(np.mean(self.residual ** 2))

    def backward(self) -> np.ndarray:
        require_cache(self.residual, "MSELoss")
        return 2 * self.residual / self.residual.size

    def hvp(self, dpred: np.ndarray) -> np.ndarray:
        """(2/N) · dpred: the Hessian (2/N) I applied to dpred."""
        require_cache(self.residual, "MSELoss", "hvp")
        r = self.residual
        return 2 * check_tangent(dpred, r.shape, r.dtype, "MSELoss.hvp", "dpred") / r.size
