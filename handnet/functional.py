"""The numerically stable primitives: sigmoid, softmax, log_softmax and bce_with_logits.

A short lesson in overflow-free numerics. Each formula below is the textbook one rewritten,
with an identity, so that no exponent is ever positive: ``np.exp`` then never overflows, and a
huge input gives the right limit (0, 1, or a large finite loss) rather than ``inf``, ``nan`` or
a warning. Layers and losses call these; nothing here keeps state.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)) without overflow.

    With e = e^(−|x|) ∈ (0, 1]:  σ(x) = 1 / (1 + e) for x ≥ 0  and  σ(x) = e / (1 + e) for x < 0
    (multiply the top and bottom of 1/(1 + e^(−x)) by e^x). The exponent is never positive,
    so nothing overflows, and σ(−1000) is a tiny positive number or 0 rather than a warning.
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax(z) over the last axis by log-sum-exp: z − m − log Σⱼ e^(zⱼ − m), m = maxⱼ zⱼ.

    Subtracting the row maximum changes nothing mathematically (it cancels between top and
    bottom of the softmax) and makes every exponent ≤ 0, so nothing overflows.
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ) over the last axis, computed as e^(zᵢ − m) / Σⱼ e^(zⱼ − m)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


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
