"""Input checks shared by layers and losses: fail loudly, name what is wrong."""

from __future__ import annotations

import numpy as np


def as_float_array(x, who: str, name: str = "input") -> np.ndarray:
    """Return ``x`` as a floating ndarray, keeping float16/32/64; other numbers become float64.

    Raises ValueError (naming ``who`` and ``name``) for non-numeric input.
    """
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        return x
    if np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.bool_):
        return x.astype(np.float64)
    raise ValueError(f"{who}: {name} must be an array of real numbers, got dtype {x.dtype}")


def check_grad_shape(dout, expected_shape: tuple[int, ...], who: str) -> np.ndarray:
    """Check that the upstream gradient has the shape of the forward output."""
    dout = as_float_array(dout, who, "gradient")
    if dout.shape != tuple(expected_shape):
        raise ValueError(
            f"{who}.backward: the gradient must have the shape of the forward output "
            f"{tuple(expected_shape)}, got {dout.shape}"
        )
    return dout


def require_cache(cache, who: str) -> None:
    """Raise if ``backward`` is called before any ``forward``."""
    if cache is None:
        raise RuntimeError(f"{who}.backward was called before {who}.forward: there is nothing to differentiate")


def check_finite(x: np.ndarray, who: str, name: str) -> None:
    """Raise ValueError if ``x`` holds NaN or ±inf: a loss of such input means nothing."""
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{who}: {name} must be finite, found {x[tuple(bad)]} at index {tuple(int(i) for i in bad)}")
