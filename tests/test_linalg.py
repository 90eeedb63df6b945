"""handnet.linalg: the blocked substitutions against np.linalg.solve, the Cholesky-or-SVD choice
against the true condition number, and least squares at the condition numbers around the switch.
"""

import numpy as np
import pytest

from handnet import linalg
from handnet.linalg import COND_LIMIT, back_substitution, forward_substitution, well_conditioned_solve
from handnet.losses import LeastSquares


def spd_with_spectrum(eigenvalues, seed):
    """Q diag(λ) Qᵀ for a random orthogonal Q: a symmetric positive-definite matrix of known spectrum."""
    d = len(eigenvalues)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return (Q * eigenvalues) @ Q.T


# d around the block size: one block, exactly one, one and a bit, several with a short last one
@pytest.mark.parametrize("d", [1, 2, linalg.BLOCK - 1, linalg.BLOCK, linalg.BLOCK + 1, 3 * linalg.BLOCK + 5])
@pytest.mark.parametrize("k", [None, 3])                  # b of shape (d,) or (d, k)
def test_blocked_substitutions_solve_the_triangular_systems_as_np_linalg_solve_does(d, k):
    rng = np.random.default_rng(d)
    L = np.linalg.cholesky(spd_with_spectrum(np.linspace(1.0, 10.0, d), seed=d))
    b = rng.standard_normal(d if k is None else (d, k))
    z = forward_substitution(L, b)
    x = back_substitution(L.T, z)
    assert z.shape == b.shape and x.shape == b.shape
    np.testing.assert_allclose(z, np.linalg.solve(L, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x, np.linalg.solve(L @ L.T, b), rtol=1e-12, atol=1e-12)


SPECTRA = {   # name -> eigenvalues(d, rng), scaled below to a given condition number
    "log-uniform": lambda d, rng: np.sort(np.exp(rng.uniform(-1.0, 0.0, d))),
    "one small, set apart": lambda d, rng: np.r_[0.0, np.ones(d - 1)],
    "one small among a spread": lambda d, rng: np.r_[0.0, np.exp(rng.uniform(-0.2, 0.0, d - 1))],
}


def with_condition(eigenvalues, cond):
    """The eigenvalues moved affinely (in log space) so that their range is exactly [1/cond, 1]."""
    logs = np.log(np.maximum(eigenvalues, 1e-300))
    logs = logs if np.ptp(logs) > 0 else np.linspace(0, 1, len(logs))
    return np.exp((logs - logs.max()) / (logs.max() - logs.min()) * np.log(cond))


@pytest.mark.parametrize("spectrum", SPECTRA)
@pytest.mark.parametrize("d", [5, 40, 150])
def test_cholesky_is_refused_well_above_the_condition_limit_and_used_well_below_it(spectrum, d):
    # The estimate of cond(A) is a bound on λ_max times a bound on 1/λ_min, not cond(A) itself; on
    # these spectra it must not be off by a factor 20 either way.
    rng = np.random.default_rng(d)
    base = SPECTRA[spectrum](d, rng)
    b = rng.standard_normal(d)
    for seed in range(3):
        ill = spd_with_spectrum(with_condition(base, 20 * COND_LIMIT), seed)
        well = spd_with_spectrum(with_condition(base, COND_LIMIT / 20), seed)
        assert well_conditioned_solve(ill, b) is None, f"cond = {np.linalg.cond(ill):.2e} accepted"
        x = well_conditioned_solve(well, b)
        assert x is not None, f"cond = {np.linalg.cond(well):.2e} refused"
        np.testing.assert_allclose(well @ x, b, rtol=0, atol=1e-6 * np.linalg.norm(b))


def test_a_matrix_that_is_not_positive_definite_is_refused():
    assert well_conditioned_solve(np.diag([1.0, -1.0]), np.ones(2)) is None


@pytest.mark.parametrize("log_cond_x", [0, 2, 3, 4.5, 6, 8])
def test_least_squares_is_as_accurate_as_the_condition_of_x_allows_on_either_side_of_the_switch(log_cond_x):
    # Cholesky of XᵀX errs by about cond(X)²·ε, the SVD of X by cond(X)·ε. Cholesky is used only while
    # cond(XᵀX) = cond(X)² ≲ 1/√ε, so the error stays below about √ε, or the SVD's cond(X)·ε when larger.
    # Cholesky at cond(X) = 1e6 would err by 1e12·ε ≈ 1e-4.
    rng = np.random.default_rng(3)
    n, d = 300, 40
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.logspace(0, -log_cond_x, d)
    X = (U * s) @ V.T
    w_true = rng.standard_normal(d)
    w = LeastSquares(X, X @ w_true).solve()
    error = np.linalg.norm(w - w_true) / np.linalg.norm(w_true)
    eps = np.finfo(np.float64).eps
    assert error <= max(100 * eps * 10.0 ** log_cond_x, 10 * np.sqrt(eps)), error


def test_norm_of_huge_tiny_and_ordinary_vectors_is_the_true_norm():
    v = np.array([3.0, 4.0])
    for scale in (1.0, 2.0 ** 600, 2.0 ** -600, 1e300):
        assert linalg.norm(v * scale) == pytest.approx(5.0 * scale, rel=1e-15)
    assert linalg.norm(np.zeros(3)) == 0.0
    assert linalg.norm(np.array([1e308, 1e308])) == pytest.approx(np.sqrt(2) * 1e308, rel=1e-15)
