"""Tanh: y = tanh(x), elementwise."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, require_cache
from handnet.module import Module


class Tanh(Module):
    """Hyperbolic tangent.

    Forward:   y = tanh(x)
    Backward:  dx = dout ⊙ (1 − y²)          since tanh'(x) = 1 − tanh²(x)

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
