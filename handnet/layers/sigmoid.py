"""Sigmoid: y = 1 / (1 + e^(−x)), elementwise, stable for any x."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, require_cache
from handnet.functional import sigmoid
from handnet.module import Module


class Sigmoid(Module):
    """Logistic sigmoid.

    Forward:   y = σ(x) = 1 / (1 + e^(−x))
    Backward:  dx = dout ⊙ y ⊙ (1 − y)       since σ'(x) = σ(x)(1 − σ(x))
               (For x ≳ 37, y rounds to 1 and this gives exactly 0, as torch does; the Logistic
               objective, which needs those tiny curvatures, computes σ(x)σ(−x) instead.)

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
