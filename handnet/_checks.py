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


def require_cache(cache, who: str, method: str = "backward") -> None:
    """Raise if ``backward`` (or ``jvp``, …) is called before any ``forward``."""
    if cache is None:
        raise RuntimeError(f"{who}.{method} was called before {who}.forward: there is nothing to differentiate")


def check_tangent(dx, expected_shape: tuple[int, ...], dtype, who: str, name: str = "dx") -> np.ndarray:
    """A tangent of the forward's input (or output) in ``dtype``: zeros for None, else of exactly that shape."""
    if dx is None:
        return np.zeros(expected_shape, dtype=dtype)
    dx = as_float_array(dx, who, name)
    if dx.shape != tuple(expected_shape):
        raise ValueError(f"{who}: the tangent {name} must have the shape {tuple(expected_shape)} of what it is "
                         f"the tangent of, got {dx.shape}")
    return dx.astype(dtype, copy=False)


def check_finite(x: np.ndarray, who: str, name: str) -> None:
    """Raise ValueError if ``x`` holds NaN or ±inf: a loss of such input means nothing."""
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{who}: {name} must be finite, found {x[tuple(bad)]} at index {tuple(int(i) for i in bad)}")


def check_int(value, who: str, name: str, *, low: int = 1) -> int:
    """``value`` as an int, or a ValueError naming ``who`` and ``name`` unless it is an integer ≥ ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        wanted = "a positive integer" if low == 1 else f"an integer ≥ {low}"
        raise ValueError(f"{who}: {name} must be {wanted}, got {value!r}")
    return int(value)


def check_real(value, who: str, name: str, *, low: float = 0.0, high: float | None = None,
               low_open: bool = False, high_open: bool = True) -> float:
    """``value`` as a float, or a ValueError naming ``who`` and ``name`` unless it is a finite real
    number in the interval from ``low`` to ``high`` (None: no upper end); ``low_open`` and
    ``high_open`` say whether each end is excluded."""
    upper = "∞)" if high is None else f"{high:g}" + (")" if high_open else "]")
    interval = ("(" if low_open else "[") + f"{low:g}, " + upper
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = np.isfinite(v) and (v > low if low_open else v >= low)
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        raise ValueError(f"{who}: {name} must be a finite number in {interval}, got {value!r}")
    return float(value)


def check_samples(X, y, who: str, x_name: str, y_name: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """X (and y, unless ``y_name`` is None) as arrays: at least one row, real and finite, one y per row."""
    X = np.asarray(X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"{who}: {x_name} must have shape (N, D) with one row per sample and N ≥ 1, got shape "
                         f"{X.shape} (reshape a single feature to (N, 1))")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{who}: {x_name} must be an array of real numbers, got dtype {X.dtype}")
    check_finite(X, who, x_name)
    if y_name is None:
        return X, None
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{who}: {y_name} must have one entry per row of {x_name} ({len(X)}), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        check_finite(y, who, y_name)
    return X, y
