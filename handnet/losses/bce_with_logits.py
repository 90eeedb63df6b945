"""Binary cross-entropy on logits: the loss of a binary classifier, computed without sigmoid's overflow."""

from __future__ import annotations

import numpy as np

from handnet._checks import check_tangent, require_cache
from handnet.functional import bce_with_logits, sigmoid
from handnet.losses._check_pair import check_pred, check_target
from handnet.losses.loss import Loss, fraction_true


class BCEWithLogitsLoss(Loss):
    """Mean binary cross-entropy between σ(logits) and targets in [0, 1].

    Forward:   L = (1/N) Σᵢ [max(zᵢ, 0) − yᵢ zᵢ + log(1 + e^(−|zᵢ|))]      N = z.size
               which is (1/N) Σᵢ −yᵢ log σ(zᵢ) − (1 − yᵢ) log(1 − σ(zᵢ)), written so that no
               exponent is positive (see ``handnet.functional.bce_with_logits``).
    Backward:  dL/dz = (σ(z) − y) / N
               Derivation: ℓ = log(1 + e^z) − y z, and d/dz log(1 + e^z) = e^z / (1 + e^z) = σ(z).
               σ is the stable ``handnet.functional.sigmoid``, so the gradient is finite for
               any logit: at z = ±1000 it is (1 − y)/N or −y/N.
    Forward mode: L̇ = ⟨∂L/∂pred, ṗred⟩, the gradient above against the tangent (``jvp``).
    Hessian:   d²L/dz² = diag(σ(z) (1 − σ(z))) / N;  ``hvp(v)`` = σ(z)(1 − σ(z)) ⊙ v / N
    Reduction: mean over all elements, as ``torch.nn.BCEWithLogitsLoss()`` (no ``weight`` or
               ``pos_weight``). Soft targets (any y in [0, 1]) are allowed, as in torch. Each term
               is at most |zᵢ| + log 2, so it fits the logits' dtype; the mean is accumulated in float64.

    Shapes:
        logits z, target y: any shape, the same (no broadcasting).
    Returns: the loss as a Python float.

    Cached by forward: ``logits`` z and ``target`` y.
    """

    def __init__(self) -> None:
        self.logits = None
        self.target = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z = check_pred(logits, "BCEWithLogitsLoss", "logits")
        y = self._checked_target(z.shape, target).astype(z.dtype, copy=False)
        self.logits, self.target = z, y
        return float(np.mean(bce_with_logits(z, y), dtype=np.float64))   # each term ≤ |z|; their sum may not be

    def check_target(self, pred_shape: tuple[int, ...], target: np.ndarray) -> None:
        """Valid targets have the logits' shape and lie in [0, 1]; the first bad entry is named with its row."""
        self._checked_target(pred_shape, target)

    @staticmethod
    def _checked_target(shape: tuple[int, ...], target) -> np.ndarray:
        """The one check of a target, run by forward and check_target alike."""
        y = check_target(target, shape, "BCEWithLogitsLoss", "logits")
        outside = (y < 0) | (y > 1)
        if outside.any():
            bad = tuple(int(i) for i in np.argwhere(outside)[0])
            raise ValueError(f"BCEWithLogitsLoss: target must lie in [0, 1], got {y[bad]} at row {bad[0]} "
                             f"(index {bad}; {int(outside.sum())} entries lie outside)")
        return y

    def backward(self) -> np.ndarray:
        require_cache(self.logits, "BCEWithLogitsLoss")
        return (sigmoid(self.logits) - self.target) / self.logits.size

    def hvp(self, dlogits: np.ndarray) -> np.ndarray:
        """σ(z)(1 − σ(z)) ⊙ dlogits / N, with σ(z)(1 − σ(z)) computed as σ(z)σ(−z) (no cancellation)."""
        require_cache(self.logits, "BCEWithLogitsLoss", "hvp")
        z = self.logits
        dz = check_tangent(dlogits, z.shape, z.dtype, "BCEWithLogitsLoss.hvp", "dlogits")
        return sigmoid(z) * sigmoid(-z) * dz / z.size

    def accuracy(self, logits: np.ndarray, target: np.ndarray) -> float | None:
        """With targets all exactly 0 or 1: the fraction of entries where (logit > 0) is the target.
        Soft targets have no right answer to count, so None."""
        target = np.asarray(target)
        if not np.all((target == 0) | (target == 1)):
            return None
        return fraction_true((np.asarray(logits) > 0) == (target == 1))
