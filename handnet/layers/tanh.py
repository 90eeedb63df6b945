"""Tanh: y = tanh(x), elementwise."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_tangent, require_cache
from handnet.module import Module


class Tanh(Module):
    """Hyperbolic tangent.

    Forward:   y = tanh(x)
    Backward:  dx = dout ⊙ (1 − y²)          since tanh'(x) = 1 − tanh²(x)
    Forward mode: ẏ = ẋ ⊙ (1 − y²)
    Second order: with ġ the tangent of dout, and d/dt (1 − y²) = −2y ẏ:
               d(dx)/dt = ġ ⊙ (1 − y²) − 2 dout ⊙ y ⊙ ẏ

    Shapes: x and y of any shape, the same.
    Cached by forward: ``y``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.y = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(as_float_array(x, "Tanh"))
        return self.y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.y, "Tanh")
        dout = check_grad_shape(dout, self.y.shape, "Tanh")
        return dout * (1 - self.y * self.y)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.y, "Tanh", "jvp")
        self.check_tangents(tangents)
        y = self.y
        dx = check_tangent(dx, y.shape, y.dtype, "Tanh.jvp")
        return dx * (1 - y * y)

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.y, "Tanh", "backward_tangent")
        self.check_tangents(tangents)
        y = self.y
        g = check_grad_shape(dout, y.shape, "Tanh").astype(y.dtype, copy=False)
        g_dot = check_tangent(dout_dot, y.shape, y.dtype, "Tanh.backward_tangent", "dout_dot")
        y_dot = check_tangent(dx, y.shape, y.dtype, "Tanh.backward_tangent") * (1 - y * y)
        return g_dot * (1 - y * y) - 2 * g * y * y_dot, {}
