"""Linear (fully connected) layer: y = x Wᵀ + b."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_int, check_grad_shape, require_cache
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

    Shapes:
        x: (N, D), y: (N, M), with D = in_features and M = out_features.
        A 1-D x of shape (D,) is treated as a batch of one and gives y of shape (M,).

    Attributes:
        weight: Parameter (M, D), as ``torch.nn.Linear`` (out_features, in_features).
        bias:   Parameter (M,), or None when ``bias=False``.
        Both start uniform in (-1/√D, 1/√D), PyTorch's default, drawn from ``rng`` (a Generator,
        an int seed, or None for fresh randomness).

    Cached by forward: ``x`` (the input, needed for dW).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 rng: np.random.Generator | int | None = None, dtype=np.float64) -> None:
        super().__init__()
        in_features = check_int(in_features, "Linear", "in_features")
        out_features = check_int(out_features, "Linear", "out_features")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"Linear: dtype must be a floating type, got {dtype!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        rng = np.random.default_rng(rng)  # a Generator is used as it is; an int seeds a new one
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None
        self.x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "Linear")
        if x.ndim not in (1, 2) or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                             f"expected input of shape (N, {self.in_features}), got {x.shape}")
        self.x = x
        W = self.weight.data.astype(x.dtype, copy=False)   # compute in the input's dtype
        y = x @ W.T                                        # (N, D) @ (D, M) -> (N, M)
        if self.bias is not None:
            y = y + self.bias.data.astype(x.dtype, copy=False)
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        require_cache(self.x, "Linear")
        x = self.x
        dout = check_grad_shape(dout, x.shape[:-1] + (self.out_features,), "Linear").astype(x.dtype, copy=False)
        x2, dout2 = np.atleast_2d(x), np.atleast_2d(dout)  # a single sample is a batch of one
        self.weight.grad = (dout2.T @ x2).astype(self.weight.dtype)      # (M, N) @ (N, D) -> (M, D)
        if self.bias is not None:
            self.bias.grad = dout2.sum(axis=0).astype(self.bias.dtype)  # (M,)
        return dout @ self.weight.data.astype(x.dtype, copy=False)      # (N, M) @ (M, D) -> (N, D)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
