"""Softmax followed by cross-entropy, fused: the loss of a C-class classifier on its logits."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_finite, check_tangent, require_cache
from handnet.functional import log_softmax
from handnet.losses.loss import Loss


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
    Reduction: mean over the batch (as ``torch.nn.functional.cross_entropy``).

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
        if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
            raise ValueError(f"SoftmaxCrossEntropy: logits must have shape (N, C) with N, C ≥ 1, got {z.shape}")
        check_finite(z, "SoftmaxCrossEntropy", "logits")
        T = self._target_probs(target, z.shape, z.dtype)
        log_p = log_softmax(z)                               # (N, C)
        self.probs = np.exp(log_p)
        self.target_probs = T
        return float(-(T * log_p).sum() / z.shape[0])

    @staticmethod
    def _target_probs(target, shape: tuple[int, int], dtype) -> np.ndarray:
        """Turn labels (N,) or probabilities (N, C) into a checked (N, C) probability array."""
        n, c = shape
        target = np.asarray(target)
        if target.shape == (n,):
            if not np.issubdtype(target.dtype, np.integer):
                raise ValueError(f"SoftmaxCrossEntropy: class labels must be integers, got dtype {target.dtype} "
                                 f"(pass probabilities as an (N, C) array)")
            if target.min() < 0 or target.max() >= c:
                raise ValueError(f"SoftmaxCrossEntropy: class labels must lie in [0, {c}), "
                                 f"got values from {target.min()} to {target.max()}")
            T = np.zeros(shape, dtype=dtype)
            T[np.arange(n), target] = 1
            return T
        if target.shape == (n, c):
            T = as_float_array(target, "SoftmaxCrossEntropy", "target").astype(dtype, copy=False)
            check_finite(T, "SoftmaxCrossEntropy", "target")
            tol = max(1e-6, float(np.sqrt(np.finfo(dtype).eps)))
            if T.min() < 0 or not np.allclose(T.sum(axis=1), 1.0, rtol=0, atol=tol):
                raise ValueError("SoftmaxCrossEntropy: target probabilities must be non-negative and each row "
                                 "must sum to 1")
            return T
        raise ValueError(f"SoftmaxCrossEntropy: target must be labels of shape ({n},) or probabilities of "
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
        if target.ndim != 1 or not np.issubdtype(target.dtype, np.integer):
            return None
        return float(np.mean(np.argmax(logits, axis=1) == target))
