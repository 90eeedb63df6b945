"""Softmax over the last axis, stable for large inputs; backward without forming the Jacobian."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_grad_shape, require_cache
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
