"""Layer normalisation over the last axis: each row normalised over its own features."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_int, check_real, check_tangent, require_cache
from handnet.module import Module
from handnet.parameter import Parameter


class LayerNorm(Module):
    """Normalise each row over its D features, then scale and shift each feature.

    Forward: for each row x (D numbers; with leading axes, every leading index is a row),
        μ = (1/D) Σ_d x_d                  the row's mean
        σ² = (1/D) Σ_d (x_d − μ)²          its biased variance
        x̂ = (x − μ) / √(σ² + ε)
        y = γ ⊙ x̂ + β                      γ, β: one number per feature, shared by all rows
    The statistics are the row's own, so train and eval mode are the same and nothing is
    tracked. It is BatchNorm1d's algebra with the axes' roles swapped: the statistics run along
    a row instead of down a feature's column, while γ and β still belong to the features.

    Backward: write g = dout ⊙ γ = ∂L/∂x̂ and s = 1/√(σ² + ε) (one number per row), so
    x̂ = (x − μ)·s. x̂ depends on x directly and through μ and σ². Per row, staged as the chain
    rule gives it:
        ∂L/∂σ² = −½ s³ Σ_d g_d (x_d − μ)                    (from ∂s/∂σ² = −½ s³)
        ∂L/∂μ  = −s Σ_d g_d                                   (σ²'s path adds ∂L/∂σ² · (−2/D) Σ_d (x_d − μ) = 0)
        dx_d   = s g_d + ∂L/∂σ² · 2(x_d − μ)/D + ∂L/∂μ / D
    Substituting the first two lines and x̂ = (x − μ)s, using only Σ_d (x_d − μ) = 0, gives the
    compact form, with means over the row's D features:
        dx = (s / D) · (D·g − Σ_d g_d − x̂ ⊙ Σ_d g_d x̂_d) = s · (g − mean(g) − x̂ ⊙ mean(x̂ ⊙ g))
        dγ = Σ_rows dout ⊙ x̂
        dβ = Σ_rows dout
    (every row used γ and β, hence the sums over all rows). As for BatchNorm1d, the subtracted
    terms remove the parts of g along the constant row and along x̂: y does not change when a
    row's inputs all move together, or (exactly only as ε → 0) are scaled about their mean.

    Forward mode: μ̇ = mean(ẋ) and σ̇² = (2/D) Σ_d (x_d − μ) ẋ_d, so ṡ = −½ s³ σ̇² = −s² mean(x̂ ⊙ ẋ),
    and the product rule on x̂ = (x − μ)s gives
        x̂̇ = s · (ẋ − mean(ẋ) − x̂ ⊙ mean(x̂ ⊙ ẋ))          (means over the row)
        ẏ = γ ⊙ x̂̇ + γ̇ ⊙ x̂ + β̇
    x̂̇ is the compact backward's operator applied to ẋ: the Jacobian of x ↦ x̂ is symmetric.

    Second order: with ġ = dout_dot, and g = dout ⊙ γ as above, its tangent is
    ġ_x̂ = ġ ⊙ γ + dout ⊙ γ̇. Differentiating dx = s · (g − mean(g) − x̂ ⊙ mean(x̂ ⊙ g)) by the
    product rule, with ṡ/s = −s mean(x̂ ⊙ ẋ) from above:
        d(dx)/dt = −s mean(x̂ ⊙ ẋ) ⊙ dx
                   + s · (ġ_x̂ − mean(ġ_x̂) − x̂̇ ⊙ mean(x̂ ⊙ g) − x̂ ⊙ mean(x̂̇ ⊙ g + x̂ ⊙ ġ_x̂))
        d(dγ)/dt = Σ_rows (ġ ⊙ x̂ + dout ⊙ x̂̇),   d(dβ)/dt = Σ_rows ġ
    Moving one feature of a row moves the gradient of every feature of that row, and of no
    other row. Without elementwise_affine, γ = 1 and β = 0 are constants (γ̇ = β̇ = 0, no dγ, dβ).

    Shapes:
        x, y: (*, D) with (D,) = normalized_shape: any leading axes (a 1-D x is a single row).

    Attributes:
        normalized_shape: (D,), a tuple as torch stores it; given as D or (D,). Only the last
            axis is normalised here (torch also takes a longer shape, for several last axes).
        eps: ε > 0, 1e-5 by default, as in PyTorch.
        elementwise_affine: whether γ and β are learned (True by default).
        weight (γ), bias (β): Parameters (D,), starting at 1 and 0; None without elementwise_affine.

    Cached by forward: ``x_hat`` (*, D) and ``inv_std`` (= s, (*, 1)).
    """

    def __init__(self, normalized_shape: int | tuple[int], eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        super().__init__()
        shape = tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        if len(shape) != 1:
            raise ValueError(f"LayerNorm: normalized_shape must be an int D or a 1-tuple (D,), the size of the last "
                             f"axis, which is the one normalised; got {normalized_shape!r}")
        d = check_int(shape[0], "LayerNorm", "normalized_shape")
        if not isinstance(elementwise_affine, (bool, np.bool_)):
            raise ValueError(f"LayerNorm: elementwise_affine must be True or False, got {elementwise_affine!r}")
        self.normalized_shape = (d,)
        self.eps = check_real(eps, "LayerNorm", "eps", low_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = Parameter(np.ones(d)) if self.elementwise_affine else None
        self.bias = Parameter(np.zeros(d)) if self.elementwise_affine else None
        self.x_hat = None
        self.inv_std = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "LayerNorm")
        d = self.normalized_shape[0]
        if x.ndim == 0 or x.shape[-1] != d:
            raise ValueError(f"LayerNorm(normalized_shape={self.normalized_shape}): expected input of shape (*, {d}), "
                             f"normalised over its last axis, got {x.shape}")
        gamma, beta = self._affine_as(x.dtype)
        mean = x.mean(axis=-1, keepdims=True)                    # (*, 1)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)     # (*, 1), biased
        self.inv_std = 1.0 / np.sqrt(var + np.asarray(self.eps, dtype=x.dtype))
        self.x_hat = (x - mean) * self.inv_std                   # (*, D)
        return gamma * self.x_hat + beta

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.x_hat, "LayerNorm")
        x_hat, s = self.x_hat, self.inv_std
        dout = check_grad_shape(dout, x_hat.shape, "LayerNorm").astype(x_hat.dtype, copy=False)
        gamma, _ = self._affine_as(x_hat.dtype)
        g = dout * gamma                                         # ∂L/∂x̂: (*, D)
        dx = s * (g - _mean(g) - x_hat * _mean(x_hat * g))
        if self.elementwise_affine:
            self.weight.grad = _sum_rows(dout * x_hat).astype(self.weight.dtype, copy=False)   # dγ: (D,)
            self.bias.grad = _sum_rows(dout).astype(self.bias.dtype, copy=False)              # dβ: (D,)
        return dx

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.x_hat, "LayerNorm", "jvp")
        x_hat = self.x_hat
        gamma_dot, beta_dot = self._affine_tangents(tangents, x_hat.dtype)
        gamma, _ = self._affine_as(x_hat.dtype)
        x_hat_dot = self._x_hat_tangent(check_tangent(dx, x_hat.shape, x_hat.dtype, "LayerNorm.jvp"))
        return gamma * x_hat_dot + gamma_dot * x_hat + beta_dot

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.x_hat, "LayerNorm", "backward_tangent")
        x_hat, s = self.x_hat, self.inv_std
        dout = check_grad_shape(dout, x_hat.shape, "LayerNorm").astype(x_hat.dtype, copy=False)
        dout_dot = check_tangent(dout_dot, x_hat.shape, x_hat.dtype, "LayerNorm.backward_tangent", "dout_dot")
        dx = check_tangent(dx, x_hat.shape, x_hat.dtype, "LayerNorm.backward_tangent")
        gamma_dot, _ = self._affine_tangents(tangents, x_hat.dtype)
        gamma, _ = self._affine_as(x_hat.dtype)
        x_hat_dot = self._x_hat_tangent(dx)
        g, g_dot = dout * gamma, dout_dot * gamma + dout * gamma_dot      # ∂L/∂x̂ and its tangent: (*, D)
        dx_grad = s * (g - _mean(g) - x_hat * _mean(x_hat * g))          # the compact backward
        dx_dot = (-s * _mean(x_hat * dx) * dx_grad
                  + s * (g_dot - _mean(g_dot) - x_hat_dot * _mean(x_hat * g)
                         - x_hat * _mean(x_hat_dot * g + x_hat * g_dot)))
        if not self.elementwise_affine:
            return dx_dot, {}
        return dx_dot, {"weight": _sum_rows(dout_dot * x_hat + dout * x_hat_dot), "bias": _sum_rows(dout_dot)}

    def _x_hat_tangent(self, dx: np.ndarray) -> np.ndarray:
        """x̂̇ for the input tangent ẋ: s·(ẋ − mean ẋ − x̂ ⊙ mean(x̂ ⊙ ẋ)), means over each row."""
        x_hat, s = self.x_hat, self.inv_std
        return s * (dx - _mean(dx) - x_hat * _mean(x_hat * dx))

    def _affine_as(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """γ and β in the dtype of the input; the constants 1 and 0 without elementwise_affine."""
        if not self.elementwise_affine:
            return np.ones((), dtype), np.zeros((), dtype)
        return self.weight.data.astype(dtype, copy=False), self.bias.data.astype(dtype, copy=False)

    def _affine_tangents(self, tangents: dict | None, dtype) -> tuple[np.ndarray, np.ndarray]:
        """γ̇ and β̇ (checked; zero where not given, and without elementwise_affine)."""
        t = self.own_tangents(tangents, dtype)
        zero = np.zeros((), dtype)
        return t.get("weight", zero), t.get("bias", zero)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def _mean(a: np.ndarray) -> np.ndarray:
    """The mean over each row (the last axis), kept as a column: (*, D) -> (*, 1)."""
    return a.mean(axis=-1, keepdims=True)


def _sum_rows(a: np.ndarray) -> np.ndarray:
    """The sum over every row: (*, D) -> (D,)."""
    return a.reshape(-1, a.shape[-1]).sum(axis=0)
