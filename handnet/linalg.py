"""Linear algebra for the closed forms: Cholesky solves (never an inverse) and the normal equations.

Solving A x = b for a symmetric positive-definite A (d, d): A = L Lᵀ with L lower triangular
(``np.linalg.cholesky``, d³/3 flops), then two triangular solves of d² flops each:
    L z = b    by forward substitution:  zᵢ = (bᵢ − Σ_{j<i} Lᵢⱼ zⱼ) / Lᵢᵢ,  i = 0, 1, …
    Lᵀ x = z   by back substitution:     xᵢ = (zᵢ − Σ_{j>i} Lⱼᵢ xⱼ) / Lᵢᵢ,  i = d−1, …, 0
Both are backward stable; forming A⁻¹ would cost more (d³ flops) and lose accuracy. The
substitutions work a block of ``BLOCK`` rows at a time (see ``forward_substitution``), so each
costs about d/BLOCK NumPy calls rather than one per row.
``np.linalg.cholesky`` raises ``np.linalg.LinAlgError`` when A is not (numerically) positive
definite, which callers use as a test of definiteness.

``solve_normal_equations`` is the one solve path of least squares and ridge regression.

Scaling by a power of two. Forming XᵀX squares the entries of X, so X with entries of 1e160
gives inf, although the eigenvalues of XᵀX/n (1e320) are the only numbers that do not fit.
Dividing X by 2ᵏ, with 2ᵏ ≤ max |Xᵢⱼ| < 2ᵏ⁺¹, is exact (it only shifts exponents), makes every
product at most 4, and commutes with every rounding: the eigenvalues and solutions of the
scaled problem, scaled back, are bit for bit those of the original wherever those do not
overflow. ``norm``, ``gram_eigenvalue_range`` and ``solve_normal_equations`` all work this way:
least squares on X·1e160 is solved exactly, though its curvature (1e320) is no float64.
"""

from __future__ import annotations

import math

import numpy as np

BLOCK = 64                                     # rows per block of the triangular solves


def _exponent(X: np.ndarray) -> int:
    """k with 2ᵏ ≤ max |Xᵢⱼ| < 2ᵏ⁺¹ (−1 when X is all zeros): dividing by 2ᵏ puts the largest |entry| in [1, 2)."""
    return int(np.frexp(np.max(np.abs(X)))[1]) - 1


def norm(v: np.ndarray) -> float:
    """‖v‖₂ = √(Σᵢ vᵢ²) without overflow: a vector of entries 1e200 has norm 1e200·√d, not inf.

    v is divided by 2ᵏ first (see the module docstring), so every square is below 4, and the
    norm is scaled back; inf only when ‖v‖ itself exceeds the largest float64.
    """
    v = np.asarray(v, dtype=np.float64)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return float(np.linalg.norm(v))
    k = _exponent(v)
    try:
        return math.ldexp(float(np.linalg.norm(np.ldexp(v, -k))), k)
    except OverflowError:
        return math.inf


def forward_substitution(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve L z = b for lower-triangular L (d, d) and b (d,) or (d, k), a block of rows at a time.

    Split the rows into blocks I of ``BLOCK`` rows. Row i's equation Σⱼ Lᵢⱼ zⱼ = bᵢ, summed in two
    parts — over the rows before its block, whose z is known, and over its own block — reads,
    for the whole block,
        L_II z_I = b_I − L_{I,<I} z_{<I}
    a product with everything solved so far (one GEMV, or GEMM for k columns), then a small
    triangular system, solved by one ``np.linalg.solve`` (LAPACK's LU, backward stable like the
    substitution). Row by row (BLOCK = 1) this is zᵢ = (bᵢ − Σ_{j<i} Lᵢⱼ zⱼ) / Lᵢᵢ.
    """
    z = np.array(b, dtype=np.float64)
    for start in range(0, len(z), BLOCK):
        rows = slice(start, start + BLOCK)                       # the block I
        z[rows] -= L[rows, :start] @ z[:start]                   # (B, start) @ (start, [k]) -> (B, [k])
        z[rows] = np.linalg.solve(L[rows, rows], z[rows])        # L_II z_I = what is left
    return z


def back_substitution(U: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Solve U x = z for upper-triangular U (d, d) and z (d,) or (d, k), a block of rows at a time.

    As ``forward_substitution``, from the last block up: U_II x_I = z_I − U_{I,>I} x_{>I}.
    """
    x = np.array(z, dtype=np.float64)
    for stop in range(len(x), 0, -BLOCK):
        rows = slice(max(stop - BLOCK, 0), stop)                 # the block I
        x[rows] -= U[rows, stop:] @ x[stop:]                     # (B, d − stop) @ (d − stop, [k]) -> (B, [k])
        x[rows] = np.linalg.solve(U[rows, rows], x[rows])        # U_II x_I = what is left
    return x


def solve_factored(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x = A⁻¹ b for A = L Lᵀ given its Cholesky factor L (d, d); b (d,) or (d, k)."""
    return back_substitution(L.T, forward_substitution(L, b))


def cholesky_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x = A⁻¹ b for symmetric positive-definite A (d, d), b (d,) or (d, k), by A = L Lᵀ.

    Raises:
        np.linalg.LinAlgError: A is not positive definite (the factorisation met a pivot ≤ 0).
    """
    return solve_factored(np.linalg.cholesky(A), b)       # L (d, d), lower triangular


def gram_eigenvalue_range(X: np.ndarray) -> tuple[float, float]:
    """(λ_min, λ_max) of XᵀX/n for X (n, d): the extreme curvatures of a least-squares loss.

    XᵀX (d, d) and XXᵀ (n, n) have the same non-zero eigenvalues (the squared singular values
    of X), so we decompose the smaller of the two. When d > n, XᵀX has rank ≤ n < d and
    λ_min = 0. ``eigvalsh`` gives the exact largest eigenvalue, not a bound such as the trace
    or ‖X‖_F², which can exceed it d-fold and would make a 1/L step d times too short.
    X is divided by a power of two first (see the module docstring), so XᵀX cannot overflow.

    An eigenvalue beyond the largest float64 (X with entries near 1e160) is returned as inf, its
    correctly rounded value; objectives refuse to report such a curvature.
    """
    n, d = X.shape
    k = _exponent(X)
    Xs = np.ldexp(X, -k)                              # X / 2ᵏ, exactly
    gram = Xs.T @ Xs if d <= n else Xs @ Xs.T        # (d, d) or (n, n)
    eigenvalues = np.linalg.eigvalsh(gram / n)       # ascending, of (X/2ᵏ)ᵀ(X/2ᵏ)/n = XᵀX/n / 4ᵏ
    lam_max = max(float(eigenvalues[-1]), 0.0)
    lam_min = max(float(eigenvalues[0]), 0.0) if d <= n else 0.0   # clip rounding below 0
    return _times_power_of_two(lam_min, 2 * k), _times_power_of_two(lam_max, 2 * k)


def _times_power_of_two(x: float, k: int) -> float:
    """x·2ᵏ, inf when that exceeds the largest float64."""
    try:
        return math.ldexp(x, k)
    except OverflowError:
        return math.inf


def solve_normal_equations(X: np.ndarray, y: np.ndarray, lam: float = 0.0,
                           curvature_range: tuple[float, float] | None = None) -> np.ndarray:
    """The w (d,) minimising 1/(2n) ‖y − Xw‖² + λ/2 ‖w‖², i.e. solving (XᵀX + nλI) w = Xᵀy.

    d ≤ n, primal:  (XᵀX + nλI) w = Xᵀy, a d×d system:  2nd² flops to form XᵀX, d³/3 to factor.
    d > n,  dual:   w = Xᵀα with (XXᵀ + nλI) α = y, an n×n system, cheaper when d > n. They
                    agree: Xᵀ(XXᵀ + nλI) = (XᵀX + nλI)Xᵀ, so (XᵀX + nλI)⁻¹Xᵀ = Xᵀ(XXᵀ + nλI)⁻¹.
    A Cholesky solution carries a relative error of about the condition number times ε, here
    (λ_max + λ)/(λ_min + λ) with λ_min, λ_max the extreme eigenvalues of XᵀX/n (``curvature_range``;
    computed when not given, λ_min = 0 when d > n) — forming XᵀX squares the condition of X. So
    Cholesky is used only while that ratio is ≤ 1/√ε ≈ 7·10⁷. Otherwise (a rank-deficient X, a
    repeated column, d > n with λ = 0) the SVD X = U diag(s) Vᵀ gives
        w = V diag(s / (s² + nλ)) Uᵀy,
    which never forms XᵀX; singular values below X's rounding level count as 0 and get the
    factor 0. With λ = 0 this is the pseudo-inverse: of all least-squares solutions, the one of
    smallest norm. The SVD costs about 4nd² + 8d³ flops (d ≤ n).
    """
    n, d = X.shape
    # Solve for X/2ᵏ instead: (XᵀX + nλI)w = Xᵀy is, divided by 4ᵏ, ((X/2ᵏ)ᵀ(X/2ᵏ) + n(λ/4ᵏ)I)(2ᵏw) = (X/2ᵏ)ᵀy.
    # Exact scaling, so nothing else changes. Tiny X is scaled up only when λ = 0: λ/4ᵏ could
    # overflow, and with λ > 0 an XᵀX that underflows is negligible against nλ anyway.
    k = _exponent(X) if lam == 0 else max(_exponent(X), 0)
    X, lam = np.ldexp(X, -k), math.ldexp(lam, -2 * k)
    if curvature_range is None or not 0 < curvature_range[1] < math.inf:   # none, or it overflowed or underflowed
        lam_min, lam_max = gram_eigenvalue_range(X)     # of X/2ᵏ
    else:
        lam_min, lam_max = (math.ldexp(c, -2 * k) for c in curvature_range)
    return np.ldexp(_solve_scaled(X, y, lam, lam_min, lam_max), -k)


def _solve_scaled(X: np.ndarray, y: np.ndarray, lam: float, lam_min: float, lam_max: float) -> np.ndarray:
    """``solve_normal_equations`` for X whose entries are at most 2 in size, given its curvature range."""
    n, d = X.shape
    if lam_min + lam > np.sqrt(np.finfo(np.float64).eps) * (lam_max + lam):
        try:
            if d <= n:
                return cholesky_solve(X.T @ X + n * lam * np.eye(d), X.T @ y)   # (d, d) w = (d,)
            alpha = cholesky_solve(X @ X.T + n * lam * np.eye(n), y)          # (n, n) α = (n,)
            return X.T @ alpha                                                # (d, n) @ (n,) -> (d,)
        except np.linalg.LinAlgError:
            pass  # numerically not positive definite after all: use the SVD below
    U, s, Vt = np.linalg.svd(X, full_matrices=False)                          # (n, k), (k,), (k, d)
    s = np.where(s > np.finfo(np.float64).eps * max(n, d) * s[0], s, 0.0)
    factor = np.divide(s, s**2 + n * lam, out=np.zeros_like(s), where=s > 0)
    return Vt.T @ (factor * (U.T @ y))                                        # (d, k) @ (k,) -> (d,)
