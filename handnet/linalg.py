"""Linear algebra for the closed forms: Cholesky solves (never an inverse) and the normal equations.

Solving A x = b for a symmetric positive-definite A (d, d): A = L Lᵀ with L lower triangular
(``np.linalg.cholesky``, d³/3 flops), then two triangular solves of d² flops each (on paper; see
below for what NumPy spends on them):
    L z = b    by forward substitution:  zᵢ = (bᵢ − Σ_{j<i} Lᵢⱼ zⱼ) / Lᵢᵢ,  i = 0, 1, …
    Lᵀ x = z   by back substitution:     xᵢ = (zᵢ − Σ_{j>i} Lⱼᵢ xⱼ) / Lᵢᵢ,  i = d−1, …, 0
Both are backward stable; forming A⁻¹ would cost more (d³ flops) and lose accuracy. The
substitutions work a block of ``BLOCK`` rows at a time (see ``forward_substitution``), so each
costs about d/BLOCK NumPy calls rather than one per row. NumPy has no triangular solve, though:
``np.linalg.solve`` factors whatever it is given by LU, so a block of B rows costs 2B³/3 flops,
not B². While d ≤ BLOCK the two substitutions are two LU factorisations of d×d triangles, and one
LU solve with A itself does half that work (and at small d half the NumPy calls, which cost as
much as the flops there): ``well_conditioned_solve``, whose condition estimate judges the answer,
takes it there, the Cholesky factor still deciding definiteness.
``np.linalg.cholesky`` raises ``np.linalg.LinAlgError`` when A is not (numerically) positive
definite, which callers use as a test of definiteness.

``solve_normal_equations`` is the one solve path of least squares and ridge regression.

Scaling by a power of two. Forming XᵀX squares the entries of X, so X with entries of 1e160
gives inf, although the eigenvalues of XᵀX/n (1e320) are the only numbers that do not fit.
Dividing X by 2ᵏ, with 2ᵏ ≤ max |Xᵢⱼ| < 2ᵏ⁺¹, is exact (it only shifts exponents), makes every
product at most 4, and commutes with every rounding: the eigenvalues and solutions of the
scaled problem, scaled back, are bit for bit those of the original wherever those do not
overflow or underflow. So the scaling is needed only when they would: ``gram`` forms XᵀX from X
itself, and again from X/2ᵏ only when the largest diagonal entry of XᵀX (the largest squared
column norm) lies outside [2⁻⁵⁰⁰, 2⁵⁰⁰]; inside, neither XᵀX nor anything computed from it can
come near overflow (2¹⁰²⁴) or underflow (2⁻¹⁰²²). ``norm`` does the same for vectors. Least
squares on X·1e160 is solved exactly this way, though its curvature (1e320) is no float64.
"""

from __future__ import annotations

import functools
import math

import numpy as np

BLOCK = 64                                     # rows per block of the triangular solves
COND_LIMIT = 1 / np.sqrt(np.finfo(np.float64).eps)   # ≈ 6.7e7: the largest cond(A) a Cholesky solve is trusted with
_SAFE_LOW, _SAFE_HIGH = 2.0 ** -500, 2.0 ** 500      # sums of squares in here need no scaling


def _exponent(X: np.ndarray) -> int:
    """k with 2ᵏ ≤ max |Xᵢⱼ| < 2ᵏ⁺¹ (−1 when X is all zeros): dividing by 2ᵏ puts the largest |entry| in [1, 2)."""
    return int(np.frexp(np.max(np.abs(X)))[1]) - 1


def _times_power_of_two(x: float, k: int) -> float:
    """x·2ᵏ, inf when that exceeds the largest float64."""
    try:
        return math.ldexp(x, k)
    except OverflowError:
        return math.inf


def norm(v: np.ndarray) -> float:
    """‖v‖₂ = √(Σᵢ vᵢ²) without overflow: a vector of entries 1e200 has norm 1e200·√d, not inf.

    When Σᵢ vᵢ² lies in [2⁻⁵⁰⁰, 2⁵⁰⁰] it is the answer's square, computed without harm. Otherwise
    v is divided by 2ᵏ first (see the module docstring), so every square is below 4, and the
    norm is scaled back; inf only when ‖v‖ itself exceeds the largest float64.
    """
    v = np.asarray(v, dtype=np.float64).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        squares = float(v @ v)                  # inf or NaN here sends us to the careful path
    if _SAFE_LOW <= squares <= _SAFE_HIGH:
        return math.sqrt(squares)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return float(np.linalg.norm(v))
    k = _exponent(v)
    return _times_power_of_two(float(np.linalg.norm(np.ldexp(v, -k))), k)


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


@functools.lru_cache(maxsize=8)
def _probe(m: int) -> np.ndarray:
    """A fixed random vector (m,) of norm 1, the same at every call: the start of inverse iteration."""
    v = np.random.default_rng(0).standard_normal(m)
    v /= np.linalg.norm(v)
    v.flags.writeable = False
    return v


def well_conditioned_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """A⁻¹ b (b of shape (d,)) when A (d, d) is positive definite with cond(A) ≤ ``COND_LIMIT``, else None.

    A must be symmetric (the normal equations' matrices are exactly): the Cholesky factor reads
    only its lower triangle, the LU solve all of it.

    The solve: Cholesky's two substitutions, or for d ≤ ``BLOCK`` one LU solve with A (see the
    module docstring). The relative error of either is about cond(A)·ε, cond(A) = λ_max/λ_min. We
    estimate cond(A) from the factor A = LLᵀ, in O(d²) flops and without eigenvalues, as an upper
    bound on λ_max times lower bounds on 1/λ_min:
      λ_max ≤ ‖A‖_F, since ‖A‖_F² = Σᵢ λᵢ² (at most √d times too large: this errs towards the SVD);
      λ_min ≤ min_j L_jj²: each L_jj² is a pivot, the Schur complement of the rows and columns
          before j, and no pivot is below λ_min. A repeated column gives a pivot ≈ 0;
      1/λ_min ≥ ‖u‖² / vᵀu with u = A⁻¹v, for every v ≠ 0: one step of inverse iteration from a
          fixed random v, read through a Rayleigh quotient. Writing v = Σᵢ cᵢqᵢ in A's
          eigenvectors, the ratio is Σᵢ cᵢ²/λᵢ² ÷ Σᵢ cᵢ²/λᵢ, a mean of the 1/λᵢ weighted by
          cᵢ²/λᵢ: the weight of 1/λ_min is multiplied by 1/λ_min, more than any other's, so a
          small λ_min dominates unless v is almost orthogonal to its eigenvector.
    Both ‖A‖_F / min_j L_jj² and ‖A‖_F·‖u‖²/vᵀu must be ≤ ``COND_LIMIT``. The step of inverse
    iteration is solved together with b, as a second column: the test costs no extra solve.
    (On random spectra, one small eigenvalue set apart from the rest included, the larger of the two
    estimates lay between 0.09 and 16 times the true cond(A); the tests check a factor 20 each way.)
    """
    v = _probe(len(b))
    B = np.column_stack([b, v])                                      # (d, 2)
    try:
        L = np.linalg.cholesky(A)                                    # (d, d), lower triangular
        # For d ≤ BLOCK one LU solve with A costs half the two substitutions (see the module
        # docstring); it refuses an A that is singular in floating point, ill-conditioned anyway.
        x, u = (np.linalg.solve(A, B) if len(A) <= BLOCK else solve_factored(L, B)).T   # A⁻¹b, A⁻¹v
    except np.linalg.LinAlgError:                                    # not positive definite, or singular
        return None
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):   # a nearly singular A gives inf or NaN
        a_norm, smallest_pivot = norm(A), np.min(np.diag(L)) ** 2
        inverse_norm = (u @ u) / (v @ u)                              # ≤ ‖A⁻¹‖ = 1/λ_min
        well_conditioned = a_norm <= COND_LIMIT * smallest_pivot and a_norm * inverse_norm <= COND_LIMIT
    return x if well_conditioned else None


def gram(X: np.ndarray, lam: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """(X/2ᵏ, G, k): G = (X/2ᵏ)ᵀ(X/2ᵏ) (d, d) when d ≤ n, else (X/2ᵏ)(X/2ᵏ)ᵀ (n, n), for X (n, d).

    k = 0 unless G's largest diagonal entry is outside [2⁻⁵⁰⁰, 2⁵⁰⁰] (see the module docstring).
    With ``lam`` > 0 X is never scaled up (λ/4ᵏ could overflow; and an XᵀX that underflows is
    negligible against nλ anyway). G is a new array, which the caller may change.
    """
    def product(X):
        return X.T @ X if X.shape[1] <= X.shape[0] else X @ X.T  # (d, n) @ (n, d) or (n, d) @ (d, n)
    with np.errstate(over="ignore", invalid="ignore"):          # an overflow shows on the diagonal
        G = product(X)
    if _SAFE_LOW <= G.diagonal().max() <= _SAFE_HIGH:
        return X, G, 0
    k = _exponent(X) if lam == 0 else max(_exponent(X), 0)
    if k == 0:
        return X, G, 0
    X = np.ldexp(X, -k)                                          # X / 2ᵏ, exactly
    return X, product(X), k


def gram_eigenvalue_range(X: np.ndarray) -> tuple[float, float]:
    """(λ_min, λ_max) of XᵀX/n for X (n, d): the extreme curvatures of a least-squares loss.

    XᵀX (d, d) and XXᵀ (n, n) have the same non-zero eigenvalues (the squared singular values
    of X), so we decompose the smaller of the two. When d > n, XᵀX has rank ≤ n < d and
    λ_min = 0. ``eigvalsh`` gives the exact largest eigenvalue, not a bound such as the trace
    or ‖X‖_F², which can exceed it d-fold and would make a 1/L step d times too short.
    X is divided by a power of two when needed (``gram``), so XᵀX cannot overflow.

    An eigenvalue beyond the largest float64 (X with entries near 1e160) is returned as inf, its
    correctly rounded value; objectives refuse to report such a curvature.
    """
    n, d = X.shape
    _, G, k = gram(X)                                # of X/2ᵏ: (d, d) or (n, n)
    eigenvalues = np.linalg.eigvalsh(G / n)          # ascending, of (X/2ᵏ)ᵀ(X/2ᵏ)/n = XᵀX/n / 4ᵏ
    lam_max = max(float(eigenvalues[-1]), 0.0)
    lam_min = max(float(eigenvalues[0]), 0.0) if d <= n else 0.0   # clip rounding below 0
    return _times_power_of_two(lam_min, 2 * k), _times_power_of_two(lam_max, 2 * k)


def solve_normal_equations(X: np.ndarray, y: np.ndarray, lam: float = 0.0) -> np.ndarray:
    """The w (d,) minimising 1/(2n) ‖y − Xw‖² + λ/2 ‖w‖², i.e. solving (XᵀX + nλI) w = Xᵀy.

    d ≤ n, primal:  (XᵀX + nλI) w = Xᵀy, a d×d system:  nd² flops to form XᵀX (numpy's product
                    of a matrix with its own transpose computes one triangle), d³/3 to factor.
    d > n,  dual:   w = Xᵀα with (XXᵀ + nλI) α = y, an n×n system, cheaper when d > n. They
                    agree: Xᵀ(XXᵀ + nλI) = (XᵀX + nλI)Xᵀ, so (XᵀX + nλI)⁻¹Xᵀ = Xᵀ(XXᵀ + nλI)⁻¹.
                    With λ = 0 this is the least-squares solution of smallest norm, Xᵀ(XXᵀ)⁻¹y.
    A Cholesky solution carries a relative error of about the condition number of the system
    times ε — and forming XᵀX squares the condition of X. So Cholesky is used only while that
    condition number, estimated from the factor (``well_conditioned_solve``), is ≤ 1/√ε ≈ 6.7·10⁷.
    Otherwise (a rank-deficient X, a repeated column, nλ tiny against XᵀX) the SVD
    X = U diag(s) Vᵀ gives
        w = V diag(s / (s² + nλ)) Uᵀy,
    which never forms XᵀX; singular values below X's rounding level count as 0 and get the
    factor 0. With λ = 0 this is the pseudo-inverse: of all least-squares solutions, the one of
    smallest norm. The SVD costs about 4nd² + 8d³ flops (d ≤ n).

    X is divided by 2ᵏ when XᵀX would overflow or underflow (``gram``): (XᵀX + nλI)w = Xᵀy is,
    divided by 4ᵏ, ((X/2ᵏ)ᵀ(X/2ᵏ) + n(λ/4ᵏ)I)(2ᵏw) = (X/2ᵏ)ᵀy, so we solve for 2ᵏw and scale back.
    """
    n, d = X.shape
    X, A, k = gram(X, lam)                                        # X/2ᵏ and its (d, d) or (n, n) Gram matrix
    lam = math.ldexp(lam, -2 * k)
    A.flat[::len(A) + 1] += n * lam                               # XᵀX + nλI, or XXᵀ + nλI: the diagonal
    if d <= n:
        w = well_conditioned_solve(A, X.T @ y)                    # (d, n) @ (n,) -> (d,)
    else:
        alpha = well_conditioned_solve(A, y)                      # (n,)
        w = None if alpha is None else X.T @ alpha                # (d, n) @ (n,) -> (d,)
    if w is None:                                                 # not positive definite, or ill-conditioned
        U, s, Vt = np.linalg.svd(X, full_matrices=False)          # (n, r), (r,), (r, d)
        s = np.where(s > np.finfo(np.float64).eps * max(n, d) * s[0], s, 0.0)
        factor = np.divide(s, s**2 + n * lam, out=np.zeros_like(s), where=s > 0)
        w = Vt.T @ (factor * (U.T @ y))                           # (d, r) @ (r,) -> (d,)
    return np.ldexp(w, -k)
