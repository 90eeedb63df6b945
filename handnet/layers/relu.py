"""ReLU: y = max(x, 0), elementwise."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_tangent, require_cache
from handnet.module import Module


class ReLU(Module):
    """Rectified linear unit.

    Forward:   y = max(x, 0)
    Backward:  dx = dout ⊙ 1[x > 0]
               The derivative at exactly x = 0 is taken as 0, as PyTorch does. The product is
               taken as written: an inf or NaN in dout where x ≤ 0 gives NaN (0·inf), where
               torch's selection would give 0; such a gradient is broken either way.
    Forward mode: ẏ = ẋ ⊙ 1[x > 0]       (the same mask: ReLU is linear on each side of 0)
    Second order: d(dx)/dt = ġ ⊙ 1[x > 0] (ġ the tangent of dout): the mask is piecewise
               constant, so moving x (away from 0) does not move it, and ReLU has no curvature.

    Shapes: x and y of any shape, the same.
    Cached by forward: the output ``y``, from which each rule reads the mask 1[x > 0] = 1[y > 0]
    (a NaN input gives y = NaN, and both tests are false). y is the array the next layer takes,
    and usually caches as its own input, so keeping it costs no memory; a mask would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.y = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "ReLU")
        self.y = np.maximum(x, 0)  # keeps NaN as NaN (as torch does), so a broken network is not hidden
        return self.y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.y, "ReLU")
        dout = check_grad_shape(dout, self.y.shape, "ReLU")
        return dout * (self.y > 0)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.y, "ReLU", "jvp")
        self.check_tangents(tangents)
        dx = check_tangent(dx, self.y.shape, self.y.dtype, "ReLU.jvp")
        return dx * (self.y > 0)

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.y, "ReLU", "backward_tangent")
        check_grad_shape(dout, self.y.shape, "ReLU")
        check_tangent(dx, self.y.shape, self.y.dtype, "ReLU.backward_tangent")
        self.check_tangents(tangents)
        g_dot = check_tangent(dout_dot, self.y.shape, self.y.dtype, "ReLU.backward_tangent", "dout_dot")
        return g_dot * (self.y > 0), {}
