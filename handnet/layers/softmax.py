"""Softmax over the last axis, stable for large inputs; backward without forming the Jacobian."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, check_tangent, require_cache
from handnet.functional import softmax
from handnet.module import Module


class Softmax(Module):
    """Softmax over the last axis: each row becomes a probability vector.

    Forward:   yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ)             (each row of the last axis separately)
    Jacobian:  ∂yᵢ/∂xⱼ = yᵢ (δᵢⱼ − yⱼ),   i.e. J = diag(y) − y yᵀ
    Backward:  dx = Jᵀ dout = y ⊙ (dout − ⟨dout, y⟩)
               where ⟨dout, y⟩ = Σⱼ doutⱼ yⱼ is one number per row. J is symmetric, and
               (diag(y) − y yᵀ) dout = y ⊙ dout − y (yᵀ dout): O(C) work per row instead of
               the O(C²) of building J.
    Forward mode: ẏ = J ẋ = y ⊙ (ẋ − ⟨ẋ, y⟩)         (the same product, J being symmetric)
    Second order: with ġ the tangent of dout, the product rule on y ⊙ (dout − ⟨dout, y⟩):
               d(dx)/dt = ẏ ⊙ (dout − ⟨dout, y⟩) + y ⊙ (ġ − ⟨ġ, y⟩ − ⟨dout, ẏ⟩)

    Shapes: x and y of shape (..., C); the softmax is taken over the last axis.
    Cached by forward: ``y``.

    To train a classifier, use SoftmaxCrossEntropy on the logits instead: it fuses the two and is
    more accurate than a Softmax followed by a log.
    """

    def __init__(self) -> None:
        super().__init__()
        self.y = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "Softmax")
        if x.ndim == 0:
            raise ValueError("Softmax: expected an input with at least one axis, got a scalar")
        self.y = softmax(x)
        return self.y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.y, "Softmax")
        y = self.y
        dout = check_grad_shape(dout, y.shape, "Softmax")
        inner = (dout * y).sum(axis=-1, keepdims=True)  # ⟨dout, y⟩ per row: (..., 1)
        return y * (dout - inner)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.y, "Softmax", "jvp")
        self.check_tangents(tangents)
        y = self.y
        dx = check_tangent(dx, y.shape, y.dtype, "Softmax.jvp")
        return y * (dx - (dx * y).sum(axis=-1, keepdims=True))

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.y, "Softmax", "backward_tangent")
        y = self.y
        g = check_grad_shape(dout, y.shape, "Softmax").astype(y.dtype, copy=False)
        g_dot = check_tangent(dout_dot, y.shape, y.dtype, "Softmax.backward_tangent", "dout_dot")
        y_dot = self.jvp(dx, tangents)
        inner = lambda a, b: (a * b).sum(axis=-1, keepdims=True)   # ⟨a, b⟩ per row: (..., 1)
        return y_dot * (g - inner(g, y)) + y * (g_dot - inner(g_dot, y) - inner(g, y_dot)), {}
