"""The mean and the biased variance of each feature of a batch, in float64, without overflow.

BatchNorm1d's numerics, apart from the layer: ``batch_statistics`` is the fast pass every batch
takes; ``scaled_batch_statistics`` redoes, exactly, a finite batch whose squares overflow.
"""

from __future__ import annotations

import numpy as np


def batch_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """μ = (1/N) Σₙ xₙ and the biased σ² = (1/N) Σₙ (xₙ − μ)² of each feature of x (N, D), in float64,
    and x − μ in x's dtype, a new array.

    The sums are accumulated in float64 whatever x's dtype, and σ² is Σ (x − μ)² in one pass
    that writes no (N, D) square. A NaN or inf in x, or a feature whose squares overflow float64
    (|x − μ| beyond ~1.3e154), gives a σ² that is not finite: the caller then refuses the batch or
    redoes it with ``scaled_batch_statistics``.
    """
    n = x.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):      # reported as a non-finite σ², see above
        mean = x.mean(axis=0, dtype=np.float64)             # (D,)
        centered = x - mean.astype(x.dtype, copy=False)     # (N, D)
        var = np.einsum("nd,nd->d", centered, centered, dtype=np.float64) / n
    return mean, var, centered


def scaled_batch_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``batch_statistics`` of a finite x (N, D) whose squares overflow: μ, σ² and x − μ, all in float64.

    The textbook formula squares x − μ, which overflows once |x − μ| > 1.3e154 even where σ² itself
    fits a float64, and then normalises the feature to 0. So each feature is first divided by a
    power of two c with c ≤ max |x| < 2c; that is exact (it only shifts exponents) and makes every
    square at most 16. The moments of x/c are scaled back: μ = c·μ(x/c), σ² = c²·σ²(x/c), bit for
    bit the textbook numbers wherever those do not overflow. A σ² beyond float64 becomes inf, which
    the running variance then refuses.
    """
    x = x.astype(np.float64, copy=False)
    c = np.ldexp(1.0, np.frexp(np.abs(x).max(axis=0))[1] - 1)   # (D,) powers of two (½ for a zero feature)
    u = x / c                                                   # (N, D), every |u| < 2
    mean_u = u.mean(axis=0)
    var_u = ((u - mean_u) ** 2).mean(axis=0)
    mean = mean_u * c
    with np.errstate(over="ignore"):                            # σ² beyond float64: inf, refused by the caller
        return mean, var_u * c * c, x - mean
