"""Sigmoid: y = 1 / (1 + e^(−x)), elementwise, stable for any x."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_tangent, require_cache
from handnet.functional import sigmoid
from handnet.module import Module


class Sigmoid(Module):
    """Logistic sigmoid.

    Forward:   y = σ(x) = 1 / (1 + e^(−x))
    Backward:  dx = dout ⊙ y ⊙ (1 − y)       since σ'(x) = σ(x)(1 − σ(x))
               (For x ≳ 37, y rounds to 1 and this gives exactly 0, as torch does; the Logistic
               objective, which needs those tiny curvatures, computes σ(x)σ(−x) instead.)
    Forward mode: ẏ = ẋ ⊙ y ⊙ (1 − y)
    Second order: with ġ the tangent of dout, the product rule on dout ⊙ y(1 − y), and
               d/dt [y(1 − y)] = (1 − 2y) ẏ:
               d(dx)/dt = ġ ⊙ y(1 − y) + dout ⊙ (1 − 2y) ⊙ ẏ

    Shapes: x and y of any shape, the same.
    Cached by forward: ``y`` (the derivative is written in terms of the output).
    """

    def __init__(self) -> None:
        super().__init__()
        self.y = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = sigmoid(as_float_array(x, "Sigmoid"))
        return self.y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.y, "Sigmoid")
        dout = check_grad_shape(dout, self.y.shape, "Sigmoid")
        return dout * self.y * (1 - self.y)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.y, "Sigmoid", "jvp")
        self.check_tangents(tangents)
        y = self.y
        dx = check_tangent(dx, y.shape, y.dtype, "Sigmoid.jvp")
        return dx * y * (1 - y)

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.y, "Sigmoid", "backward_tangent")
        self.check_tangents(tangents)
        y = self.y
        g = check_grad_shape(dout, y.shape, "Sigmoid").astype(y.dtype, copy=False)
        g_dot = check_tangent(dout_dot, y.shape, y.dtype, "Sigmoid.backward_tangent", "dout_dot")
        y_dot = check_tangent(dx, y.shape, y.dtype, "Sigmoid.backward_tangent") * y * (1 - y)
        return g_dot * y * (1 - y) + g * (1 - 2 * y) * y_dot, {}
