"""Softmax followed by cross-entropy, fused: the loss of a C-class classifier on its logits."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_finite, check_tangent, require_cache
from handnet.functional import log_softmax
from handnet.losses.loss import Loss, fraction_true


class SoftmaxCrossEntropy(Loss):
    """Mean cross-entropy between softmax(logits) and the targets.

    Forward:   L = −(1/N) Σₙ Σ_c Tₙ_c · log softmax(zₙ)_c
               with log softmax(z)_c = z_c − log Σⱼ e^(zⱼ) computed by log-sum-exp (stable for
               logits of any size). For integer labels yₙ, T is one-hot and L = −(1/N) Σₙ log pₙ,yₙ.
    Backward:  dL/dz = (softmax(z) − T) / N
               Derivation: ∂/∂z_c of −Σⱼ Tⱼ log pⱼ = −Σⱼ Tⱼ (δⱼ_c − p_c) = p_c Σⱼ Tⱼ − T_c = p_c − T_c,
               using ∂ log pⱼ/∂z_c = δⱼ_c − p_c and Σⱼ Tⱼ = 1. The 1/N is the mean's.
               This fused gradient is why the pair is one class: it holds only for softmax followed
               by cross-entropy, and it is better conditioned than chaining the two backwards.
    Forward mode: L̇ = ⟨∂L/∂pred, ṗred⟩, the gradient above against the tangent (``jvp``).
    Hessian:   for each row n, ∂²L/∂zₙ∂zₙᵀ = (diag(pₙ) − pₙpₙᵀ) / N (the softmax Jacobian, over N);
               rows do not interact. It is positive semi-definite, so L is convex in the logits.
               ``hvp(v)`` applies it row by row as pₙ ⊙ (vₙ − ⟨vₙ, pₙ⟩) / N, without forming it.
    Reduction: mean over the batch (as ``torch.nn.functional.cross_entropy``), accumulated in float64.
               Classes with target 0 add exactly 0, so logits of any finite size give a finite loss
               when the target class is not hopelessly improbable: [1e308, −1e308, 0] with label 0 gives 0.

    Shapes:
        logits z: (N, C).
        target: integer class labels (N,) with values in [0, C), or class probabilities (N, C)
            (non-negative, each row summing to 1).
    Returns: the loss as a Python float.

    Cached by forward: ``probs`` = softmax(z) (N, C) and ``target_probs`` = T (N, C).
    """

    def __init__(self) -> None:
        self.probs = None
        self.target_probs = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        z = as_float_array(logits, "SoftmaxCrossEntropy", "logits")
        self._check_logits_shape(z.shape)
        check_finite(z, "SoftmaxCrossEntropy", "logits")
        target = np.asarray(target)
        T = self._target_probs(target, z.shape, z.dtype)
        log_p = log_softmax(z)                               # (N, C)
        self.probs = np.exp(log_p)
        self.target_probs = T
        n = z.shape[0]
        if target.ndim == 1:                                 # labels: L = −(1/N) Σₙ log pₙ,yₙ
            return float(-log_p[np.arange(n), target].sum(dtype=np.float64) / n)
        # A class with target 0 adds exactly 0, even where log p = −inf (a logit more than the largest
        # float below the row's maximum, see log_softmax): we never form 0·(−inf) = NaN.
        terms = T * np.where(T > 0, log_p, 0)                # (N, C)
        return float(-terms.sum(dtype=np.float64) / n)

    def check_target(self, pred_shape: tuple[int, ...], target: np.ndarray) -> None:
        """Labels (N,) in [0, C) or probability rows (N, C); the first bad row is named."""
        self._check_logits_shape(pred_shape)
        self._target_probs(target, pred_shape)

    @staticmethod
    def _check_logits_shape(shape: tuple[int, ...]) -> None:
        if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
            raise ValueError(f"SoftmaxCrossEntropy: logits must have shape (N, C) with N, C ≥ 1, got {tuple(shape)}")

    @staticmethod
    def _target_probs(target, shape: tuple[int, int], dtype=np.float64) -> np.ndarray:
        """Turn labels (N,) or probabilities (N, C) into a checked (N, C) probability array of ``dtype``.

        The one check of a target, run by forward and check_target alike. Probabilities are checked
        in their own dtype, so the answer does not depend on the logits'; only then are they cast.
        """
        n, c = shape
        target = np.asarray(target)
        who = "SoftmaxCrossEntropy"
        if target.shape == (n,):
            if target.dtype.kind not in "iu":
                raise ValueError(f"{who}: class labels must be integers, got dtype {target.dtype} "
                                 f"(pass probabilities as an (N, C) array)")
            outside = (target < 0) | (target >= c)
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise ValueError(f"{who}: class labels must lie in [0, {c}), got {target[row]} at row {row} "
                                 f"({int(outside.sum())} labels lie outside)")
            T = np.zeros(shape, dtype)
            T[np.arange(n), target] = 1
            return T
        if target.shape == (n, c):
            T = as_float_array(target, who, "target")
            check_finite(T, who, "target", by_row=True)
            negative = (T < 0).any(axis=1)
            if negative.any():
                row = int(np.flatnonzero(negative)[0])
                raise ValueError(f"{who}: target probabilities must be non-negative, row {row} holds "
                                 f"{T[row].min()}")
            tol = max(1e-6, float(np.sqrt(np.finfo(T.dtype).eps)))
            sums = T.sum(axis=1, dtype=np.float64)
            off = np.abs(sums - 1.0) > tol
            if off.any():
                row = int(np.flatnonzero(off)[0])
                raise ValueError(f"{who}: each row of target probabilities must sum to 1, row {row} sums to "
                                 f"{float(sums[row]):.10g} ({int(off.sum())} rows do not)")
            return T.astype(dtype, copy=False)
        raise ValueError(f"{who}: target must be labels of shape ({n},) or probabilities of "
                         f"shape ({n}, {c}), got {target.shape}")

    def backward(self) -> np.ndarray:
        require_cache(self.probs, "SoftmaxCrossEntropy")
        return (self.probs - self.target_probs) / self.probs.shape[0]

    def hvp(self, dlogits: np.ndarray) -> np.ndarray:
        """Per row, (diag(p) − ppᵀ) d / N = p ⊙ (d − ⟨d, p⟩) / N: the softmax Jacobian's product, over N."""
        require_cache(self.probs, "SoftmaxCrossEntropy", "hvp")
        p = self.probs
        d = check_tangent(dlogits, p.shape, p.dtype, "SoftmaxCrossEntropy.hvp", "dlogits")
        return p * (d - (d * p).sum(axis=1, keepdims=True)) / p.shape[0]

    def accuracy(self, logits: np.ndarray, target: np.ndarray) -> float | None:
        """With integer labels (N,): the fraction of rows whose argmax logit is the label. With
        probabilities as targets there is no single right class, so None."""
        target = np.asarray(target)
        if target.ndim != 1 or target.dtype.kind not in "iu":
            return None
        return fraction_true(np.argmax(logits, axis=1) == target)
