"""GELU: y = x Φ(x), elementwise, exactly or in torch's tanh approximation."""

from __future__ import annotations

import math

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_tangent, require_cache
from handnet.functional import normal_cdf
from handnet.module import Module

_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_KAPPA = 0.044715


class GELU(Module):
    """Gaussian error linear unit: each input scaled by the probability Φ(x) that a standard
    normal falls below it.

    Forward (approximate="none"):  y = x Φ(x),  Φ(x) = ½ erfc(−x/√2),  φ(x) = Φ′(x) = e^(−x²/2)/√(2π)
        (Φ by ``functional.normal_cdf``, accurate in the left tail too; φ′ = −x φ.)
    Forward (approximate="tanh"):  y = ½ x (1 + t),  t = tanh(u),  u = √(2/π) (x + κ x³),  κ = 0.044715
    Backward:  dx = dout ⊙ k,  with k = y′(x) the slope:
        none:  k = Φ + x φ
        tanh:  k = ½ (1 + t) + ½ x (1 − t²) u′,   u′ = √(2/π) (1 + 3κ x²)   (tanh′ = 1 − tanh²)
    Forward mode: ẏ = ẋ ⊙ k
    Second order: with ġ the tangent of dout, the product rule on dout ⊙ k(x):
               d(dx)/dt = ġ ⊙ k + dout ⊙ k′ ⊙ ẋ,  k′ = y″(x) the curvature:
        none:  k′ = φ + φ + x φ′ = (2 − x²) φ
        tanh:  k′ = (1 − t²) (u′ + ½ x (u″ − 2t u′²)),   u″ = 6κ √(2/π) x
               (differentiate each half of k: d/dx [½(1 + t)] = ½(1 − t²)u′, and
               d/dx [½ x (1 − t²) u′] = ½(1 − t²)u′ + ½ x ((1 − t²)u″ − 2t(1 − t²)u′²).)

    Shapes: x and y of any shape, the same.
    Attributes: ``approximate``, "none" (the default) or "tanh", as in ``torch.nn.GELU``.
    Cached by forward: ``x`` (the curvature is recomputed from it) and ``slope`` = k.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self.x = None
        self.slope = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "GELU")
        self.x = x
        if self.approximate == "none":
            cdf = normal_cdf(x)
            self.slope = cdf + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
            return x * cdf
        t, u_prime = self._tanh_terms(x)
        self.slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * u_prime
        return 0.5 * x * (1 + t)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.slope, "GELU")
        dout = check_grad_shape(dout, self.slope.shape, "GELU")
        return dout * self.slope

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.slope, "GELU", "jvp")
        self.check_tangents(tangents)
        return check_tangent(dx, self.slope.shape, self.slope.dtype, "GELU.jvp") * self.slope

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.slope, "GELU", "backward_tangent")
        self.check_tangents(tangents)
        x, k = self.x, self.slope
        g = check_grad_shape(dout, x.shape, "GELU").astype(x.dtype, copy=False)
        g_dot = check_tangent(dout_dot, x.shape, x.dtype, "GELU.backward_tangent", "dout_dot")
        x_dot = check_tangent(dx, x.shape, x.dtype, "GELU.backward_tangent")
        return g_dot * k + g * self._curvature(x) * x_dot, {}

    def _curvature(self, x: np.ndarray) -> np.ndarray:
        """k′ = y″(x), as in the docstring."""
        if self.approximate == "none":
            return (2 - x * x) * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        t, u_prime = self._tanh_terms(x)
        u_second = 6 * _KAPPA * _SQRT_2_OVER_PI * x
        return (1 - t * t) * (u_prime + 0.5 * x * (u_second - 2 * t * u_prime * u_prime))

    @staticmethod
    def _tanh_terms(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """t = tanh(u) and u′ for the tanh approximation."""
        t = np.tanh(_SQRT_2_OVER_PI * (x + _KAPPA * x * x * x))
        return t, _SQRT_2_OVER_PI * (1 + 3 * _KAPPA * x * x)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
