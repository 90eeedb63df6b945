"""LeakyReLU: y = x for x > 0, a·x otherwise, elementwise."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_tangent, require_cache
from handnet.module import Module


class LeakyReLU(Module):
    """Rectified linear unit with a slope a (``negative_slope``) below zero.

    Forward:   y = x ⊙ 1[x > 0] + a·x ⊙ 1[x ≤ 0]
    Backward:  dx = dout ⊙ k,  with k = 1[x > 0] + a·1[x ≤ 0] the slope on x's side of 0.
               At exactly x = 0 the slope is taken as a, as PyTorch does.
    Forward mode: ẏ = ẋ ⊙ k       (y is linear on each side of 0, with slope k)
    Second order: d(dx)/dt = ġ ⊙ k (ġ the tangent of dout): k is piecewise constant, so moving
               x (away from 0) does not move it, and the layer has no curvature. a = 0 is ReLU
               (except at 0 itself, where both give the slope 0).

    Shapes: x and y of any shape, the same.
    Attributes: ``negative_slope`` (a), any finite number; 0.01 by default, as in PyTorch.
    Cached by forward: ``slope`` = k, an array the shape and dtype of x.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        ok = isinstance(negative_slope, (int, float, np.integer, np.floating)) and not isinstance(negative_slope, bool)
        if not ok or not np.isfinite(negative_slope):
            raise ValueError(f"LeakyReLU: negative_slope must be a finite real number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.slope = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "LeakyReLU")
        self.slope = np.where(x > 0, np.ones((), x.dtype), np.asarray(self.negative_slope, x.dtype))
        return x * self.slope  # keeps NaN as NaN (as torch does), so a broken network is not hidden

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.slope, "LeakyReLU")
        dout = check_grad_shape(dout, self.slope.shape, "LeakyReLU")
        return dout * self.slope

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.slope, "LeakyReLU", "jvp")
        self.check_tangents(tangents)
        return check_tangent(dx, self.slope.shape, self.slope.dtype, "LeakyReLU.jvp") * self.slope

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.slope, "LeakyReLU", "backward_tangent")
        k = self.slope
        check_grad_shape(dout, k.shape, "LeakyReLU")
        check_tangent(dx, k.shape, k.dtype, "LeakyReLU.backward_tangent")
        self.check_tangents(tangents)
        g_dot = check_tangent(dout_dot, k.shape, k.dtype, "LeakyReLU.backward_tangent", "dout_dot")
        return g_dot * k, {}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"
