"""Input checks shared by layers and losses: fail loudly, name what is wrong."""

from __future__ import annotations

import math

import numpy as np


SUPPORTED_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_dtype(dtype, who: str, name: str) -> None:
    """Raise ValueError unless a floating ``dtype`` is float32 or float64.

    Layers and losses compute in their input's dtype. float16 would overflow in their sums and
    squares (its largest value is 65504: a squared residual of 300 is already inf), so rather
    than half-support it handnet refuses it, and any float other than float32 and float64.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype not in SUPPORTED_FLOATS:
        raise ValueError(f"{who}: {name} has dtype {dtype}; handnet computes in float32 or float64 only "
                         f"(cast it, e.g. x.astype(np.float32))")


def as_float_array(x, who: str, name: str = "input") -> np.ndarray:
    """Return ``x`` as a float32 or float64 ndarray, keeping that dtype; integers and bools become float64.

    Raises ValueError (naming ``who`` and ``name``) for non-numeric input and for other floats
    (float16, longdouble), which handnet does not compute in (see ``check_float_dtype``).
    """
    x = np.asarray(x)
    kind = x.dtype.kind                  # "f" float, "i"/"u" integer, "b" bool
    if kind == "f":
        check_float_dtype(x.dtype, who, name)
        return x
    if kind in "iub":
        return x.astype(np.float64)
    raise ValueError(f"{who}: {name} must be an array of real numbers, got dtype {x.dtype}")


def as_float64(x, who: str, name: str) -> np.ndarray:
    """Return ``x`` as a float64 ndarray, from any real dtype (float16 included: the conversion is
    exact); ValueError naming ``who`` and ``name`` for non-numeric input. For objectives, which
    compute in float64 whatever their data."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{who}: {name} must be an array of real numbers, got dtype {x.dtype}")
    return x.astype(np.float64, copy=False)


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


def all_finite(a) -> bool:
    """Whether every entry of ``a`` is finite (no NaN, no ±inf), by one dot product where it can.

    For a float array, a·a is finite exactly when every entry is, unless the sum of squares
    overflows (‖a‖ beyond ~1e154 in float64, ~1e19 in float32): then the entrywise test
    decides. The dot product is one BLAS call that writes nothing, where ``np.isfinite(a)``
    writes a boolean array as large as a, so the checks of a training step stay cheap. It runs
    over the entries in memory order (``ravel(order="K")``, a view of a C- or Fortran-ordered
    array, so data in either order is not copied); a strided or reversed view, or an array of
    non-native byte order, which the product would copy, gets the entrywise test.
    """
    a = np.asarray(a)
    if a.dtype.kind == "f" and a.dtype.isnative and (a.flags.c_contiguous or a.flags.f_contiguous):
        entries = a.ravel(order="K")                 # a view, in memory order
        if math.isfinite(np.vdot(entries, entries)):
            return True
    return bool(np.isfinite(a).all())


def check_finite(x: np.ndarray, who: str, name: str, *, by_row: bool = False) -> None:
    """Raise ValueError if ``x`` holds NaN or ±inf: a loss of such input means nothing.

    The message gives the index of the first bad entry; ``by_row=True`` (for targets, one row per
    sample) names its row first, so that the sample can be found in the data set.
    """
    if not all_finite(x):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        where = f"at row {bad[0]} (index {bad})" if by_row and bad else f"at index {bad}"
        raise ValueError(f"{who}: {name} must be finite, found {x[bad]} {where}")


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
    check_float_dtype(X.dtype, who, x_name)
    check_finite(X, who, x_name)
    if y_name is None:
        return X, None
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{who}: {y_name} must have one entry per row of {x_name} ({len(X)}), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        check_finite(y, who, y_name)
    return X, y


def check_state_value(key: str, value, current: np.ndarray, minimum: float | None) -> np.ndarray:
    """``value`` as a copy in the dtype of ``current``, or ValueError (naming ``key``) if it is not one
    the module could hold; see ``Module.check_state_dict``."""
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":  # bool, int, unsigned, float: no complex, str or object
        raise ValueError(f"load_state_dict: {key!r} must hold real numbers, got dtype {value.dtype}")
    if value.shape != current.shape:
        raise ValueError(f"load_state_dict: {key!r} has shape {value.shape}, the model expects {current.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"load_state_dict: {key!r} holds NaN or inf")
    if current.dtype.kind in "iu":
        if not np.all(value == np.round(value)):
            raise ValueError(f"load_state_dict: {key!r} is an integer buffer, got fractional values")
        info = np.iinfo(current.dtype)
        if value.size and not info.min <= int(value.min()) <= int(value.max()) <= info.max:   # exact, in Python ints
            raise ValueError(f"load_state_dict: {key!r} holds {int(value.max())}, beyond the model's {current.dtype} "
                             f"({info.min} to {info.max})")
        converted = value.astype(current.dtype)
    else:
        with np.errstate(over="ignore"):          # a value beyond the dtype's range becomes inf: refused below
            converted = value.astype(current.dtype)
        if not np.all(np.isfinite(converted)):
            raise ValueError(f"load_state_dict: {key!r} holds {float(np.max(np.abs(value))):.3g}, beyond the range of "
                             f"the model's {current.dtype}")
    if minimum is not None and converted.size and converted.min() < minimum:
        raise ValueError(f"load_state_dict: {key!r} must be ≥ {minimum:g} (the module could never hold less), got "
                         f"{converted.min()}")
    return np.array(converted, copy=True)
