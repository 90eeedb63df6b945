"""Derivatives by central differences, and the one measure of disagreement the checks use.

``numerical_jacobian`` is the one central-difference loop; ``numerical_gradient`` is its scalar
case. Both make their own C-ordered float64 copy of x and perturb it in place, so they work
whatever the memory layout of the caller's array, and never change it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from handnet._checks import check_real


def relative_error(actual, expected) -> float:
    """max |actual − expected| / max |expected|: the error relative to the largest expected entry.

    A max-norm measure, so entries that are zero by mathematics (the bias gradient before a
    BatchNorm, say) are judged against the size of the whole array, not against themselves. When
    ``expected`` is all zero, it is the absolute error max |actual|. The shapes must agree.
    """
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"relative_error: shapes differ: {actual.shape} and {expected.shape}")
    if actual.size == 0:
        return 0.0
    diff = float(np.max(np.abs(actual - expected)))
    scale = float(np.max(np.abs(expected)))
    return diff / scale if scale > 0 else diff


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by central differences, in float64: (y.size, x.size).

    Column j is (f(x + ε eⱼ) − f(x − ε eⱼ)) / 2ε. ``f`` is called with a C-ordered float64 copy
    of x whose entry j is perturbed in place (so f must not keep it).
    """
    eps = check_real(eps, "numerical_jacobian", "eps", low_open=True)
    x = np.array(x, dtype=np.float64, order="C")   # our own copy: the caller's array is never touched
    flat = x.reshape(-1)                             # a view of the C-ordered copy, so writes reach x
    columns = []
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        up = np.array(f(x), dtype=np.float64).reshape(-1)
        flat[j] = old - eps
        down = np.array(f(x), dtype=np.float64).reshape(-1)
        flat[j] = old
        columns.append((up - down) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.empty((np.size(f(x)), 0))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∇f(x) of a scalar function by central differences, in x's shape (float64)."""
    x = np.asarray(x)
    return numerical_jacobian(lambda t: np.array([f(t)], dtype=np.float64), x, eps).reshape(x.shape)
