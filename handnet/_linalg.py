"""Solving A x = b for a symmetric positive-definite A by Cholesky, never by an inverse.

A = L Lᵀ with L lower triangular (``np.linalg.cholesky``), then two triangular solves:
    L z = b    by forward substitution:  zᵢ = (bᵢ − Σ_{j<i} Lᵢⱼ zⱼ) / Lᵢᵢ,  i = 0, 1, …
    Lᵀ x = z   by back substitution:     xᵢ = (zᵢ − Σ_{j>i} Lⱼᵢ xⱼ) / Lᵢᵢ,  i = d−1, …, 0
Each costs O(d²) after the O(d³/3) factorisation, and both are backward stable; forming A⁻¹
would cost more and lose accuracy. ``np.linalg.cholesky`` raises ``np.linalg.LinAlgError`` when
A is not (numerically) positive definite, which callers use as a test of definiteness.
"""

from __future__ import annotations

import numpy as np


def forward_substitution(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve L z = b for lower-triangular L (d, d) and b (d,) or (d, k)."""
    z = np.array(b, dtype=np.float64)
    for i in range(L.shape[0]):
        z[i] = (z[i] - L[i, :i] @ z[:i]) / L[i, i]
    return z


def back_substitution(U: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Solve U x = z for upper-triangular U (d, d) and z (d,) or (d, k)."""
    x = np.array(z, dtype=np.float64)
    for i in reversed(range(U.shape[0])):
        x[i] = (x[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]
    return x


def cholesky_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x = A⁻¹ b for symmetric positive-definite A (d, d), b (d,) or (d, k), by A = L Lᵀ.

    Raises:
        np.linalg.LinAlgError: A is not positive definite (the factorisation met a pivot ≤ 0).
    """
    L = np.linalg.cholesky(A)                 # (d, d), lower triangular
    return back_substitution(L.T, forward_substitution(L, b))
