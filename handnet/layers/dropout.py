"""Dropout: zero each entry with probability p in train mode, scaling the rest by 1/(1 − p)."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_real, check_tangent, require_cache
from handnet.module import Module


class Dropout(Module):
    """Inverted dropout: random zeros in train mode, the identity in eval mode.

    Forward (train mode): y = x ⊙ m,  mᵢ = keepᵢ / (1 − p),  keepᵢ ∈ {0, 1} with P(keepᵢ = 1) = 1 − p,
        independently for every entry, drawn afresh at every forward from ``rng``. E[mᵢ] = 1, so
        E[y] = x: the scaling is done while training ("inverted"), and eval mode needs none.
    Forward (eval mode): y = x, i.e. m = 1.
    Backward:  dx = dout ⊙ m, with m the mask of the last forward (1 if that ran in eval mode):
               once m is drawn, y is linear in x, and m does not depend on x. So a backward
               after a train-mode forward uses that forward's mask, whatever the mode is now.
    Forward mode: ẏ = ẋ ⊙ m
    Second order: d(dx)/dt = ġ ⊙ m (ġ the tangent of dout): dx is linear in dout and does not
               depend on x, so dropout adds no curvature.

    Shapes: x and y of any shape, the same.
    Attributes:
        p: the probability of zeroing an entry, in [0, 1) (p = 1 would zero everything and
            divide by 0). 0.5 by default, as in PyTorch.
        rng: the Generator the masks are drawn from (a Generator is used as it is; an int seeds a
            new one; None gives fresh randomness), as for Linear's initial weights.
    Cached by forward: ``mask`` (m, in x's dtype; None after an eval-mode forward) and
    ``input_shape`` and ``input_dtype`` (what the tangents must have).
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_real(p, "Dropout", "p (the probability of zeroing an entry)", high=1.0)
        self.rng = np.random.default_rng(rng)
        self.mask = None
        self.input_shape = None
        self.input_dtype = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "Dropout")
        self.input_shape, self.input_dtype = x.shape, x.dtype
        if not self.training:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p                          # P(u ≥ p) = 1 − p for u ~ U[0, 1)
        self.mask = np.where(keep, np.asarray(1 / (1 - self.p), x.dtype), np.zeros((), x.dtype))
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.input_shape, "Dropout")
        dout = check_grad_shape(dout, self.input_shape, "Dropout")
        return dout if self.mask is None else dout * self.mask

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.input_shape, "Dropout", "jvp")
        self.check_tangents(tangents)
        dx = check_tangent(dx, self.input_shape, self.input_dtype, "Dropout.jvp")
        return dx if self.mask is None else dx * self.mask

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.input_shape, "Dropout", "backward_tangent")
        check_grad_shape(dout, self.input_shape, "Dropout")
        check_tangent(dx, self.input_shape, self.input_dtype, "Dropout.backward_tangent")
        self.check_tangents(tangents)
        g_dot = check_tangent(dout_dot, self.input_shape, self.input_dtype, "Dropout.backward_tangent", "dout_dot")
        return (g_dot if self.mask is None else g_dot * self.mask), {}

    def extra_repr(self) -> str:
        return f"p={self.p}"
