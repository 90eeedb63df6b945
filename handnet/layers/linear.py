"""Linear (fully connected) layer: y = x Wᵀ + b."""

from __future__ import annotations

import numpy as np

from handnet._checks import (as_float_array, check_float_dtype, check_grad_shape, check_int, check_tangent,
                             require_cache)
from handnet.module import Module
from handnet.parameter import Parameter


class Linear(Module):
    """Affine map of each row: y = x Wᵀ + b.

    Forward:   y = x Wᵀ + b
    Backward:  dx = dout W           (N, M) @ (M, D) -> (N, D)
               dW = doutᵀ x          (M, N) @ (N, D) -> (M, D)
               db = Σₙ dout[n, :]    (M,)
    Derivation: yₙₘ = Σ_d xₙ_d W_md + b_m, so ∂yₙₘ/∂xₙ_d = W_md, ∂yₙₘ/∂W_md = xₙ_d and
    ∂yₙₘ/∂b_m = 1; summing dout·(these) over the indices that do not appear in the result gives
    the three lines above. The bias is shared by all N rows, hence the sum over n.
    Forward mode: ẏ = ẋ Wᵀ + x Ẇᵀ + ḃ
               (the product rule on x Wᵀ + b; y is linear in each of x, W, b separately)
    Second order: backward is bilinear, so its tangent is the product rule on each line, with
               ġ the tangent of g = dout:
               d(dx)/dt = ġ W + g Ẇ,   d(dW)/dt = ġᵀ x + gᵀ ẋ,   d(db)/dt = Σₙ ġₙ

    Shapes:
        x: (N, D), y: (N, M), with D = in_features and M = out_features. As in torch, any
        number of leading axes is allowed, x: (*, D) gives y: (*, M); every leading index is a
        row, so the sums over n above run over all of them (and a 1-D x is a single row).

    Attributes:
        weight: Parameter (M, D), as ``torch.nn.Linear`` (out_features, in_features).
        bias:   Parameter (M,), or None when ``bias=False``.
        Both start uniform in (-1/√D, 1/√D), PyTorch's default, drawn from ``rng`` (a Generator,
        an int seed, or None for fresh randomness).

    Cached by forward: ``x``, the input itself (needed for dW and by both tangent rules). It is a
    reference, not a copy, as every cache is (see ``handnet.module``): a caller who refills that
    array between forward and backward changes dW. ``Sequential`` copies its input for this reason.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 rng: np.random.Generator | int | None = None, dtype=np.float64) -> None:
        super().__init__()
        in_features = check_int(in_features, "Linear", "in_features")
        out_features = check_int(out_features, "Linear", "out_features")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"Linear: dtype must be a floating type, got {dtype!r}")
        check_float_dtype(dtype, "Linear", "dtype")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        rng = np.random.default_rng(rng)  # a Generator is used as it is; an int seeds a new one
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None
        self.x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                             f"expected input of shape (*, {self.in_features}), got {x.shape}")
        W, b = self._weights_as(x.dtype)   # compute in the input's dtype
        self.x = x
        y = x @ W.T                        # (*, D) @ (D, M) -> (*, M)
        if b is not None:
            y += b                         # in place: y is a new array, no one else holds it
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = self._write_parameter_grads(dout)
        W, _ = self._weights_as(self.x.dtype)
        return dout @ W                    # dx: (*, M) @ (M, D) -> (*, D)

    def backward_parameters(self, dout: np.ndarray) -> None:
        """dW and db only: the product dout W for dx, as costly as dW, is skipped."""
        self._write_parameter_grads(dout)

    def _write_parameter_grads(self, dout: np.ndarray) -> np.ndarray:
        """Write dW = doutᵀ x and db = Σₙ doutₙ; return dout, checked and in the input's dtype."""
        require_cache(self.x, "Linear")
        x = self.x
        dout = check_grad_shape(dout, x.shape[:-1] + (self.out_features,), "Linear").astype(x.dtype, copy=False)
        rows_x, rows_dout = x.reshape(-1, self.in_features), dout.reshape(-1, self.out_features)  # (N, D), (N, M)
        dW = rows_dout.T @ rows_x          # (M, N) @ (N, D) -> (M, D)
        self.weight.grad = dW.astype(self.weight.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad = rows_dout.sum(axis=0).astype(self.bias.dtype, copy=False)   # db: (M,)
        return dout

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        require_cache(self.x, "Linear", "jvp")
        x = self.x
        dx = check_tangent(dx, x.shape, x.dtype, "Linear.jvp")
        t = self.own_tangents(tangents, x.dtype)
        W, b = self._weights_as(x.dtype)
        dy = dx @ W.T + x @ t["weight"].T       # (*, D) @ (D, M) -> (*, M), twice
        return dy + t["bias"] if b is not None else dy

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        require_cache(self.x, "Linear", "backward_tangent")
        x = self.x
        shape_y = x.shape[:-1] + (self.out_features,)
        g = check_grad_shape(dout, shape_y, "Linear").astype(x.dtype, copy=False)
        g_dot = check_tangent(dout_dot, shape_y, x.dtype, "Linear.backward_tangent", "dout_dot")
        dx = check_tangent(dx, x.shape, x.dtype, "Linear.backward_tangent")
        t = self.own_tangents(tangents, x.dtype)
        W, b = self._weights_as(x.dtype)
        rows = lambda a: a.reshape(-1, a.shape[-1])           # (*, k) -> (N, k)
        dx_dot = g_dot @ W + g @ t["weight"]                  # (*, M) @ (M, D) -> (*, D), twice
        grad_dots = {"weight": rows(g_dot).T @ rows(x) + rows(g).T @ rows(dx)}   # (M, N) @ (N, D) -> (M, D)
        if b is not None:
            grad_dots["bias"] = rows(g_dot).sum(axis=0)       # (M,)
        return dx_dot, grad_dots

    def _weights_as(self, dtype) -> tuple[np.ndarray, np.ndarray | None]:
        """W and b in the dtype of the input (no copy when they already have it)."""
        b = self.bias.data.astype(dtype, copy=False) if self.bias is not None else None
        return self.weight.data.astype(dtype, copy=False), b

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
