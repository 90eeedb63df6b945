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
    bottom of the softmax) and makes every exponent ≤ 0, so nothing overflows. The sum has the
    term e⁰ = 1, so the log is of a number in [1, C]: never log 0.

    A shifted value zⱼ − m below −(the largest float) — logits 1e308 and −1e308 in one row —
    rounds to −inf, which is its correctly rounded value: log pⱼ is more negative than any float,
    and pⱼ = e^(−inf) = 0 exactly. So that overflow is the right answer, not an error, and its
    warning is silenced; a loss must then skip the terms whose target is 0 rather than form
    0·(−inf) (see ``SoftmaxCrossEntropy``).
    """
    shifted = _shifted_by_row_max(z, "log_softmax")
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ) over the last axis, computed as e^(zᵢ − m) / Σⱼ e^(zⱼ − m)."""
    e = np.exp(_shifted_by_row_max(z, "softmax"))
    return e / e.sum(axis=-1, keepdims=True)


def _shifted_by_row_max(z: np.ndarray, who: str) -> np.ndarray:
    """z − m with m the maximum of each row (last axis): every entry ≤ 0, and 0 at the maximum.

    Raises ValueError for an empty last axis (a softmax over no classes) and for a row whose
    maximum is not finite: NaN has no softmax, a row with +inf has none in floating point
    (inf − inf), nor has a row of only −inf (0/0). −inf beside a finite maximum is fine: its
    probability is exactly 0.
    """
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"{who}: the last axis holds the classes and must not be empty, got shape {z.shape}")
    m = z.max(axis=-1, keepdims=True)
    if not np.all(np.isfinite(m)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(m))[0][:-1])
        where = "the input" if not bad else f"row {bad[0] if len(bad) == 1 else bad}"
        raise ValueError(f"{who}: every row must have a finite maximum, {where} has maximum {m[bad].item()} "
                         f"(rows holding NaN or +inf, or only −inf, have no softmax)")
    with np.errstate(over="ignore"):   # z − m < −(largest float) rounds to −inf: exactly right, see log_softmax
        return z - m


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
