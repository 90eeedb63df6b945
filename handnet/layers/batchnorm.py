"""Batch normalisation over the batch axis of (N, D) inputs, and over N and L of (N, D, L) inputs."""

from __future__ import annotations

import numpy as np

from handnet._checks import (as_float_array, check_finite, check_float_dtype, check_grad_shape, check_int, check_real,
                             check_tangent, require_cache)
from handnet.layers.batch_statistics import batch_statistics, scaled_batch_statistics
from handnet.module import Module
from handnet.parameter import Parameter


class BatchNorm1d(Module):
    """Normalise each feature over the batch, then scale and shift it.

    The batch is a set of rows, one number per feature each: the N rows of an (N, D) input, or,
    for an (N, D, L) input (L positions per sample, torch's (N, C, L)), the N·L rows x[n, :, l],
    every position of every sample. Below, N counts the rows, and each sum over n runs over all
    of them; nothing else changes.

    Forward (train mode): per feature d, over the N rows of the batch,
        μ = (1/N) Σₙ xₙ                    batch mean
        σ² = (1/N) Σₙ (xₙ − μ)²            biased batch variance (used to normalise)
        x̂ = (x − μ) / √(σ² + ε)
        y = γ x̂ + β
    and the running statistics move towards the batch's (PyTorch's convention):
        running_mean ← (1 − m)·running_mean + m·μ
        running_var  ← (1 − m)·running_var  + m·σ²·N/(N − 1)     (the *unbiased* variance)
    with m = momentum (0.1 by default; momentum=None gives the plain average of all batches
    seen, m = 1/num_batches_tracked).

    Forward (eval mode): the same with μ, σ² replaced by running_mean, running_var, and
    nothing updated.

    Backward (train mode): write g = dout ⊙ γ = ∂L/∂x̂ and s = 1/√(σ² + ε), so x̂ = (x − μ)·s.
    x̂ depends on x directly and through μ and σ². Staged, as the chain rule gives it:
        ∂L/∂σ² = −½ s³ Σₙ gₙ (xₙ − μ)                       (from ∂s/∂σ² = −½ s³)
        ∂L/∂μ  = −s Σₙ gₙ                                    (σ²'s path adds ∂L/∂σ² · (−2/N) Σₙ (xₙ − μ) = 0)
        dxₙ    = s gₙ + ∂L/∂σ² · 2(xₙ − μ)/N + ∂L/∂μ / N
    Substituting the first two lines and x̂ = (x − μ)s, using only Σₙ (xₙ − μ) = 0, gives the
    compact form:
        dx = (s / N) · (N·g − Σₙ gₙ − x̂ ⊙ Σₙ (gₙ ⊙ x̂ₙ))
        dγ = Σₙ doutₙ ⊙ x̂ₙ
        dβ = Σₙ doutₙ
    (the sums are over the batch axis and give one number per feature). The two subtracted
    terms remove the parts of g along the constant vector and along x̂: the output does not
    change when all of a feature's inputs move together, and (exactly only as ε → 0, since ε
    keeps Σₙ x̂ₙ² a little below N) when they are scaled about their mean.
    Since g = dout ⊙ γ, the two sums are γ ⊙ dβ and γ ⊙ dγ, and the code computes
        dx = γ s ⊙ (dout − (dβ + x̂ ⊙ dγ) / N)
    which needs no (N, D) array for g.

    Backward (eval mode): μ and σ² are constants, so y is affine in x:
        dx = dout ⊙ γ · s,   with s = 1/√(running_var + ε);   dγ, dβ as above.

    Forward mode (train mode): the tangents of the batch statistics are μ̇ = mean(ẋ) and
    σ̇² = (2/N) Σₙ (xₙ − μ) ẋₙ, so ṡ = −½ s³ σ̇² = −s² mean(x̂ ⊙ ẋ), and the product rule on
    x̂ = (x − μ)s gives
        x̂̇ = s · (ẋ − mean(ẋ) − x̂ ⊙ mean(x̂ ⊙ ẋ))          (means over the batch, per feature)
        ẏ = γ ⊙ x̂̇ + γ̇ ⊙ x̂ + β̇
    x̂̇ is the compact backward's operator applied to ẋ: the Jacobian of x ↦ x̂ is symmetric.
    Forward mode (eval mode): x̂̇ = s ẋ, and ẏ as above.

    Second order: with ġ = dout_dot, and g = dout ⊙ γ as above, its tangent is
    ġ_x̂ = ġ ⊙ γ + dout ⊙ γ̇. Differentiating dx = s · (g − mean(g) − x̂ ⊙ mean(x̂ ⊙ g)) by the
    product rule, with ṡ/s = −s mean(x̂ ⊙ ẋ) from above (train mode):
        d(dx)/dt = −s mean(x̂ ⊙ ẋ) ⊙ dx
                   + s · (ġ_x̂ − mean(ġ_x̂) − x̂̇ ⊙ mean(x̂ ⊙ g) − x̂ ⊙ mean(x̂̇ ⊙ g + x̂ ⊙ ġ_x̂))
        d(dγ)/dt = Σₙ (ġₙ ⊙ x̂ₙ + doutₙ ⊙ x̂̇ₙ),   d(dβ)/dt = Σₙ ġₙ
    In eval mode s is a constant: d(dx)/dt = ġ_x̂ · s, and dγ, dβ move as above. In train mode
    the first two lines carry the coupling of the samples through μ and σ²: moving one sample
    moves every sample's gradient.

    Shapes:
        x, y: (N, D) or (N, D, L), with D = num_features, as in PyTorch. Train mode needs more
        than one row (N > 1, or N·L > 1): a variance of one value says nothing.

    Attributes:
        weight (γ), bias (β): Parameters (D,), starting at 1 and 0.
        running_mean, running_var: buffers (D,), starting at 0 and 1.
        num_batches_tracked: buffer, a 0-d int64 count of training batches seen.
        All but the count are of ``dtype`` (float64 by default; float32 as torch's default).

    Numerics: whatever the dtypes, the batch's sums are accumulated in float64 (a float32 sum of
    thousands of rows would lose digits of μ), and σ² is Σₙ (xₙ − μ)², never E[x²] − μ². A feature
    whose squares overflow float64 is redone exactly by scaling it with a power of two
    (``scaled_batch_statistics``); a running variance the buffer's dtype cannot hold is refused.

    Cached by forward: ``x_hat`` (as rows: (N, D), or (N·L, D) for an (N, D, L) input),
    ``inv_std`` (= s), whether it ran in train mode, and ``input_shape``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, *,
                 dtype=np.float64) -> None:
        super().__init__()
        num_features = check_int(num_features, "BatchNorm1d", "num_features")
        eps = check_real(eps, "BatchNorm1d", "eps", low_open=True)
        if momentum is not None:
            momentum = check_real(momentum, "BatchNorm1d", "momentum (or None)", high=1.0, high_open=False)
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"BatchNorm1d: dtype must be a floating type, got {dtype!r}")
        check_float_dtype(dtype, "BatchNorm1d", "dtype")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.weight = Parameter(np.ones(num_features, dtype))
        self.bias = Parameter(np.zeros(num_features, dtype))
        self.register_buffer("running_mean", np.zeros(num_features, dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype), minimum=0)    # a variance
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64), minimum=0)  # a count
        self.x_hat = None
        self.inv_std = None
        self.used_batch_stats = None
        self.input_shape = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "BatchNorm1d")
        d, who = self.num_features, f"BatchNorm1d({self.num_features})"
        if x.ndim not in (2, 3) or x.shape[1] != d:
            raise ValueError(f"{who}: expected input of shape (N, {d}) or (N, {d}, L), got {x.shape}")
        gamma, beta = self._affine_as(x.dtype)
        rows = _as_rows(x)                           # (N, D), or (N·L, D)
        n = rows.shape[0]
        if self.training:
            if n < 2:
                raise ValueError(f"{who}: train mode needs more than one sample per batch (for input (N, {d}, L), "
                                 f"more than one of the N·L positions) to estimate a variance, got input of shape "
                                 f"{x.shape}; use eval() to run on single samples")
            mean, var, centered = batch_statistics(rows)          # μ, σ² (D,) float64; x − μ (N, D)
            if not np.isfinite(var).all():
                # A NaN or inf in the batch is refused before the running statistics move (one NaN batch
                # would make them NaN for good); a finite batch whose squares overflow is redone with care.
                check_finite(x, who, "input in train mode")
                mean, var, centered = scaled_batch_statistics(rows)
            self._update_running_stats(mean, var, rows, who)
        else:
            mean, var = self.running_mean, self.running_var
            centered = rows - mean                   # (N, D) − (D,): in float64 when the buffers are
        self.used_batch_stats = self.training
        self.input_shape = x.shape
        inv_std = 1.0 / np.sqrt(var + self.eps)                           # s: (D,), in the statistics' dtype
        centered *= inv_std.astype(centered.dtype, copy=False)            # x̂ = (x − μ)·s, in place: our array
        self.x_hat = centered.astype(x.dtype, copy=False)                 # (N, D)
        self.inv_std = inv_std.astype(x.dtype, copy=False)
        y = self.x_hat * gamma                                            # y = γ x̂ + β: (N, D) ⊙ (D,) + (D,)
        y += beta
        return _from_rows(y, self.input_shape)

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, rows: np.ndarray, who: str) -> None:
        n = rows.shape[0]
        with np.errstate(over="ignore"):                    # an overflow becomes inf, refused just below
            unbiased_var = var * (n / (n - 1))
        fits = unbiased_var <= np.finfo(self.running_var.dtype).max
        if not fits.all():                                  # checked before anything moves
            k = int(np.flatnonzero(~fits)[0])
            raise ValueError(f"{who}: feature {k} of the batch has a variance beyond the largest "
                             f"{self.running_var.dtype} (its values reach {np.abs(rows[:, k]).max():.3g}), so "
                             f"running_var cannot hold it; rescale the input")
        self.num_batches_tracked = self.num_batches_tracked + 1
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        # The buffers keep their own dtype (the batch moments are computed in float64).
        self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(self.running_mean.dtype, copy=False)
        self.running_var = ((1 - m) * self.running_var + m * unbiased_var).astype(self.running_var.dtype, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.x_hat, "BatchNorm1d")
        x_hat, s = self.x_hat, self.inv_std
        dout = _as_rows(check_grad_shape(dout, self.input_shape, "BatchNorm1d").astype(x_hat.dtype, copy=False))
        gamma, _ = self._affine_as(x_hat.dtype)
        n = x_hat.shape[0]
        dgamma = np.einsum("nd,nd->d", dout, x_hat)  # Σₙ doutₙ ⊙ x̂ₙ: (D,), without an (N, D) product
        dbeta = dout.sum(axis=0)                     # (D,)
        if self.used_batch_stats:
            # dx = γ s ⊙ (dout − (dβ + x̂ ⊙ dγ)/N), built in one (N, D) array: (N, D) ⊙ (D,), then in place
            dx = x_hat * (dgamma / -n)
            dx -= dbeta / n
            dx += dout
            dx *= gamma * s
        else:
            dx = dout * (gamma * s)
        self.weight.grad = dgamma.astype(self.weight.dtype, copy=False)
        self.bias.grad = dbeta.astype(self.bias.dtype, copy=False)
        return _from_rows(dx, self.input_shape)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.x_hat, "BatchNorm1d", "jvp")
        x_hat = self.x_hat
        t = self.own_tangents(tangents, x_hat.dtype)
        gamma, _ = self._affine_as(x_hat.dtype)
        x_hat_dot = self._x_hat_tangent(_as_rows(check_tangent(dx, self.input_shape, x_hat.dtype, "BatchNorm1d.jvp")))
        return _from_rows(gamma * x_hat_dot + t["weight"] * x_hat + t["bias"], self.input_shape)

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.x_hat, "BatchNorm1d", "backward_tangent")
        x_hat, s = self.x_hat, self.inv_std
        shape, who = self.input_shape, "BatchNorm1d.backward_tangent"
        dout = _as_rows(check_grad_shape(dout, shape, "BatchNorm1d").astype(x_hat.dtype, copy=False))
        dout_dot = _as_rows(check_tangent(dout_dot, shape, x_hat.dtype, who, "dout_dot"))
        dx = _as_rows(check_tangent(dx, shape, x_hat.dtype, who))
        t = self.own_tangents(tangents, x_hat.dtype)
        gamma, _ = self._affine_as(x_hat.dtype)
        x_hat_dot = self._x_hat_tangent(dx)
        g, g_dot = dout * gamma, dout_dot * gamma + dout * t["weight"]     # ∂L/∂x̂ and its tangent: (N, D)
        if self.used_batch_stats:
            mean = lambda a: a.mean(axis=0)                                  # over the batch: (N, D) -> (D,)
            dx_grad = s * (g - mean(g) - x_hat * mean(x_hat * g))           # the compact backward
            dx_dot = (-s * mean(x_hat * dx) * dx_grad
                      + s * (g_dot - mean(g_dot) - x_hat_dot * mean(x_hat * g)
                             - x_hat * mean(x_hat_dot * g + x_hat * g_dot)))
        else:
            dx_dot = g_dot * s
        grad_dots = {"weight": (dout_dot * x_hat + dout * x_hat_dot).sum(axis=0), "bias": dout_dot.sum(axis=0)}
        return _from_rows(dx_dot, shape), grad_dots

    def _x_hat_tangent(self, dx: np.ndarray) -> np.ndarray:
        """x̂̇ for the input tangent ẋ: s·(ẋ − mean ẋ − x̂ ⊙ mean(x̂ ⊙ ẋ)) in train mode, s·ẋ in eval mode."""
        x_hat, s = self.x_hat, self.inv_std
        if not self.used_batch_stats:
            return s * dx
        return s * (dx - dx.mean(axis=0) - x_hat * (x_hat * dx).mean(axis=0))

    def _affine_as(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """γ and β in the dtype of the input (no copy when they already have it)."""
        return self.weight.data.astype(dtype, copy=False), self.bias.data.astype(dtype, copy=False)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


def _as_rows(a: np.ndarray) -> np.ndarray:
    """An (N, D) array as it is; an (N, D, L) one as the (N·L, D) rows a[n, :, l]."""
    return a if a.ndim == 2 else a.transpose(0, 2, 1).reshape(-1, a.shape[1])   # (N, L, D) -> (N·L, D)


def _from_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of _as_rows, for an input of ``shape``."""
    if len(shape) == 2:
        return rows
    n, d, length = shape
    return np.ascontiguousarray(rows.reshape(n, length, d).transpose(0, 2, 1))   # (N·L, D) -> (N, D, L)
