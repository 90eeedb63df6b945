"""A Parameter is an array that an optimizer may change, together with the gradient of the loss."""

from __future__ import annotations

import numpy as np

from handnet._checks import check_float_dtype


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    Attributes:
        data: the values, an ndarray of floats. Optimizers update it in place.
        grad: ∂L/∂data, an ndarray of the same shape and dtype, or None until a
            ``backward`` has written it. A backward *writes* (overwrites) ``grad``;
            it never adds to what was there, so there is nothing to zero between steps.
    """

    def __init__(self, data: np.ndarray) -> None:
        data = np.array(data)  # always a copy: the Parameter owns its values
        if data.dtype.kind not in "biuf":   # None (object), complex (its imaginary part would be dropped), str
            what = "None" if data.ndim == 0 and data.item() is None else f"dtype {data.dtype}"
            raise ValueError(f"Parameter: data must be an array of real numbers, got {what}")
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)
        check_float_dtype(data.dtype, "Parameter", "data")
        self.data: np.ndarray = data
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
