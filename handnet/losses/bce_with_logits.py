"""Binary cross-entropy on logits: the loss of a binary classifier, computed without sigmoid's overflow."""

from __future__ import annotations

import numpy as np

from handnet._checks import require_cache
from handnet.layers.sigmoid import sigmoid
from handnet.loss import Loss
from handnet.losses._check_pair import check_pair


def bce_with_logits(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise ℓ(z, y) = −y log σ(z) − (1 − y) log(1 − σ(z)), stable for logits of any size.

    With log σ(z) = −log(1 + e^(−z)) and log(1 − σ(z)) = −z − log(1 + e^(−z)):
        ℓ = log(1 + e^(−z)) + (1 − y) z = log(1 + e^z) − y z.
    log(1 + e^z) = max(z, 0) + log(1 + e^(−|z|)) (factor out e^max(z,0)), so
        ℓ = max(z, 0) − y z + log1p(e^(−|z|)),
    where the exponent is never positive: nothing overflows, and log1p keeps the digits of a
    tiny e^(−|z|). At z = 1000, y = 1 this gives 1000 − 1000 + log1p(0) = 0 exactly.
    """
    return np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))


class BCEWithLogitsLoss(Loss):
    """Mean binary cross-entropy between σ(logits) and targets in [0, 1].

    Forward:   L = (1/N) Σᵢ [max(zᵢ, 0) − yᵢ zᵢ + log(1 + e^(−|zᵢ|))]      N = z.size
               which is (1/N) Σᵢ −yᵢ log σ(zᵢ) − (1 − yᵢ) log(1 − σ(zᵢ)), written so that no
               exponent is positive (see ``bce_with_logits``).
    Backward:  dL/dz = (σ(z) − y) / N
               Derivation: ℓ = log(1 + e^z) − y z, and d/dz log(1 + e^z) = e^z / (1 + e^z) = σ(z).
               σ is the stable ``handnet.layers.sigmoid.sigmoid``, so the gradient is finite for
               any logit: at z = ±1000 it is (1 − y)/N or −y/N.
    Hessian:   d²L/dz² = diag(σ(z) (1 − σ(z))) / N
    Reduction: mean over all elements, as ``torch.nn.BCEWithLogitsLoss()`` (no ``weight`` or
               ``pos_weight``). Soft targets (any y in [0, 1]) are allowed, as in torch.

    Shapes:
        logits z, target y: any shape, the same (no broadcasting).
    Returns: the loss as a Python float.

    Cached by forward: ``logits`` z and ``target`` y.
    """

    def __init__(self) -> None:
        self.logits = None
        self.target = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z, y = check_pair(logits, target, "BCEWithLogitsLoss", "logits")
        if y.min() < 0 or y.max() > 1:
            raise ValueError(f"BCEWithLogitsLoss: target must lie in [0, 1], got values from "
                             f"{y.min()} to {y.max()}")
        self.logits, self.target = z, y
        return float(np.mean(bce_with_logits(z, y)))

    def backward(self) -> np.ndarray:
        require_cache(self.logits, "BCEWithLogitsLoss")
        return (sigmoid(self.logits) - self.target) / self.logits.size
