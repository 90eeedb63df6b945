"""ReLU: y = max(x, 0), elementwise."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, require_cache
from handnet.module import Module


class ReLU(Module):
    """Rectified linear unit.

    Forward:   y = max(x, 0)
    Backward:  dx = dout ⊙ 1[x > 0]
               The derivative at exactly x = 0 is taken as 0, as PyTorch does.

    Shapes: x and y of any shape, the same.
    Cached by forward: ``mask`` = 1[x > 0], a boolean array the shape of x.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mask = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "ReLU")
        self.mask = x > 0
        return np.maximum(x, 0)  # keeps NaN as NaN (as torch does), so a broken network is not hidden

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.mask, "ReLU")
        dout = check_grad_shape(dout, self.mask.shape, "ReLU")
        return np.where(self.mask, dout, np.zeros((), dtype=dout.dtype))
