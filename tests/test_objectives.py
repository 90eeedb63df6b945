"""LeastSquares, Ridge and Logistic: value, gradient and Hessian against torch autograd in float64,
against finite differences, the closed-form solutions against scikit-learn, and bad input.

torch's twins are written from the raw data and the formulas of the issue, not from our objects'
attributes, so a wrong centring or a wrong 1/n would show.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression
from sklearn.linear_model import Ridge as SkRidge

from handnet import numerical_jacobian
from handnet.losses import LeastSquares, Logistic, Ridge
from tests.torch_compare import assert_close, rel_err, compare_objective_with_torch


def torch_objective(kind, X, y, lam=0.0, fit_intercept=False):
    """f(w) as a torch function, straight from the issue's formulas."""
    X, y = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    n = X.shape[0]
    if fit_intercept:
        X, y = X - X.mean(dim=0), y - y.mean()
    if kind == "logistic":
        return lambda w: F.binary_cross_entropy_with_logits(X @ w, y) + lam / 2 * (w @ w)
    return lambda w: ((y - X @ w) ** 2).sum() / (2 * n) + lam / 2 * (w @ w)


def make(kind, n, d, lam=0.0, fit_intercept=False, seed=0):
    """Random data and (our objective, torch's f) for it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.5
    if kind == "logistic":
        y = (rng.uniform(size=n) < 0.5).astype(float)
        ours = Logistic(X, y, lam)
    else:
        y = X @ rng.standard_normal(d) + rng.standard_normal(n) + 2.0
        ours = LeastSquares(X, y) if kind == "lsq" else Ridge(X, y, lam, fit_intercept)
    return ours, torch_objective(kind, X, y, lam, fit_intercept), rng


CASES = [  # (kind, n, d, lam, fit_intercept)
    ("lsq", 30, 4, 0.0, False), ("lsq", 3, 6, 0.0, False),
    ("ridge", 30, 4, 0.3, False), ("ridge", 30, 4, 0.3, True), ("ridge", 5, 9, 0.1, True),
    ("logistic", 40, 5, 0.0, False), ("logistic", 40, 5, 0.2, False), ("logistic", 4, 8, 0.05, False),
]


@pytest.mark.parametrize("kind,n,d,lam,fit_intercept", CASES)
def test_value_grad_hessian_equal_torch_autograd(kind, n, d, lam, fit_intercept):
    ours, theirs, rng = make(kind, n, d, lam, fit_intercept)
    w = rng.standard_normal(d)
    compare_objective_with_torch(ours, theirs, w)


@pytest.mark.parametrize("kind,n,d,lam,fit_intercept", CASES)
def test_grad_and_hessian_equal_finite_differences_of_value_and_grad(kind, n, d, lam, fit_intercept):
    ours, _, rng = make(kind, n, d, lam, fit_intercept, seed=1)
    w = rng.standard_normal(d)
    np.testing.assert_allclose(ours.grad(w), numerical_jacobian(ours.value, w)[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.hessian(w), numerical_jacobian(ours.grad, w), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind,n,d,lam,fit_intercept", CASES)
def test_value_and_grad_is_exactly_value_then_grad_even_after_another_w(kind, n, d, lam, fit_intercept):
    # Logistic keeps the last w's margins: a pair computed from another w's would differ here.
    ours, _, rng = make(kind, n, d, lam, fit_intercept, seed=3)
    w1, w2 = rng.standard_normal(d), rng.standard_normal(d)
    fresh, _, _ = make(kind, n, d, lam, fit_intercept, seed=3)
    ours.value_and_grad(w1)
    f, g = ours.value_and_grad(w2)
    assert f == fresh.value(w2)
    np.testing.assert_array_equal(g, fresh.grad(w2))


@pytest.mark.parametrize("kind,n,d,lam,fit_intercept", CASES)
def test_value_and_grad_refuses_a_w_of_the_wrong_shape_naming_w(kind, n, d, lam, fit_intercept):
    ours, _, _ = make(kind, n, d, lam, fit_intercept)
    with pytest.raises(ValueError, match=rf"w must have shape \({d},\), got \({d + 1},\)"):
        ours.value_and_grad(np.zeros(d + 1))


def test_logistic_is_finite_and_equals_torch_for_margins_of_ten_thousand():
    ours, theirs, rng = make("logistic", 50, 3, lam=0.01, seed=2)
    w = 1e4 * rng.standard_normal(3)           # margins of order 10⁴: e^{margin} would overflow
    wt = torch.tensor(w, requires_grad=True)
    value = theirs(wt)
    value.backward()
    assert np.isfinite(ours.value(w)) and np.all(np.isfinite(ours.grad(w)))
    assert_close(ours.value(w), value.item(), "value")
    assert_close(ours.grad(w), wt.grad, "gradient")
    assert_close(ours.hessian(w), torch.autograd.functional.hessian(theirs, torch.tensor(w)), "Hessian")


def test_logistic_reuses_the_margins_of_the_same_w_only_never_of_a_w_changed_in_place():
    # Value, gradient and Hessian share z = Xw for the last w. A caller that updates w in place
    # (w -= lr * g) passes the same array with new numbers: each call must see the new ones.
    ours, theirs, rng = make("logistic", 40, 5, lam=0.2)
    w = rng.standard_normal(5)
    for _ in range(3):
        wt = torch.tensor(w, requires_grad=True)
        value = theirs(wt)
        value.backward()
        assert_close(ours.value(w), value.item(), "value")
        assert_close(ours.grad(w), wt.grad, "gradient")
        assert_close(ours.hessian(w), torch.autograd.functional.hessian(theirs, torch.tensor(w)), "Hessian")
        w -= 0.5 * ours.grad(w)                 # in place: the same array, other numbers
    H = ours.hessian(w)
    assert np.array_equal(H, H.T)               # (S^½X)ᵀ(S^½X) is symmetric bit for bit


def test_ridge_with_intercept_is_the_full_objective_minimised_over_the_intercept():
    # Envelope theorem: at b = intercept(w), ∂F/∂b = 0 and ∂F/∂w = grad(w), where
    # F(w, b) = 1/(2n)‖y − Xw − b‖² + λ/2‖w‖² on the raw (uncentred) data.
    rng = np.random.default_rng(3)
    X, y, lam = rng.standard_normal((25, 3)) + 4.0, rng.standard_normal(25) - 7.0, 0.2
    ridge = Ridge(X, y, lam, fit_intercept=True)
    w = rng.standard_normal(3)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(ridge.intercept(w), requires_grad=True)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    full = ((yt - Xt @ wt - bt) ** 2).sum() / (2 * len(y)) + lam / 2 * (wt @ wt)
    full.backward()
    assert_close(ridge.value(w), full.item(), "value = min over b")
    assert abs(bt.grad.item()) < 1e-12
    assert_close(ridge.grad(w), wt.grad, "gradient of the profile")


# ---- curvature constants ------------------------------------------------------------------
@pytest.mark.parametrize("kind,n,d,lam,fit_intercept", CASES)
def test_lipschitz_is_the_largest_hessian_eigenvalue_not_a_trace_bound(kind, n, d, lam, fit_intercept):
    # Quadratics: H is constant and L = λ_max(H). Logistic: H(0) = XᵀX/(4n) + λI since σ(0)(1−σ(0)) = 1/4,
    # the largest H can be, so L = λ_max(H(0)) and L ≥ λ_max(H(w)) for every w.
    ours, _, rng = make(kind, n, d, lam, fit_intercept, seed=4)
    eig = np.linalg.eigvalsh(ours.hessian(np.zeros(d)))
    assert ours.lipschitz == pytest.approx(eig[-1], rel=1e-12)
    assert ours.lipschitz < np.trace(ours.hessian(np.zeros(d))) or d == 1
    for _ in range(3):
        assert np.linalg.eigvalsh(ours.hessian(rng.standard_normal(d)))[-1] <= ours.lipschitz * (1 + 1e-12)


@pytest.mark.parametrize("kind,n,d,lam,fit_intercept", [c for c in CASES if c[0] != "logistic"])
def test_strong_convexity_of_a_quadratic_is_the_smallest_hessian_eigenvalue(kind, n, d, lam, fit_intercept):
    ours, _, _ = make(kind, n, d, lam, fit_intercept, seed=5)
    smallest = max(np.linalg.eigvalsh(ours.hessian(np.zeros(d)))[0], lam)   # d > n: XᵀX is singular
    assert ours.strong_convexity == pytest.approx(smallest, rel=1e-9, abs=1e-12)


def test_strong_convexity_of_logistic_is_lambda():
    assert Logistic(np.eye(3), [0, 1, 1], lam=0.25).strong_convexity == 0.25


# ---- closed-form solutions ----------------------------------------------------------------
@pytest.mark.parametrize("n,d", [(50, 5), (40, 40), (20, 60)])     # d < n, d = n, d > n (dual form)
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_ridge_solve_equals_sklearn_ridge_with_alpha_n_lambda(n, d, fit_intercept):
    rng = np.random.default_rng(n + d)
    X, y, lam = rng.standard_normal((n, d)) + 1.0, rng.standard_normal(n) + 3.0, 0.07
    ridge = Ridge(X, y, lam, fit_intercept=fit_intercept)
    w = ridge.solve()
    sk = SkRidge(alpha=n * lam, fit_intercept=fit_intercept, solver="cholesky").fit(X, y)
    assert rel_err(w, sk.coef_) <= 1e-9, rel_err(w, sk.coef_)
    assert ridge.intercept(w) == pytest.approx(sk.intercept_, rel=1e-9, abs=1e-12)
    assert np.linalg.norm(ridge.grad(w)) < 1e-10


def test_ridge_dual_and_primal_forms_give_the_same_solution():
    # Xᵀ(XXᵀ + nλI)⁻¹y = (XᵀX + nλI)⁻¹Xᵀy: solve the d > n problem (dual) and compare with the primal
    # written out with np.linalg.solve.
    rng = np.random.default_rng(6)
    X, y, lam = rng.standard_normal((8, 30)), rng.standard_normal(8), 0.5
    primal = np.linalg.solve(X.T @ X + 8 * lam * np.eye(30), X.T @ y)
    assert rel_err(Ridge(X, y, lam).solve(), primal) <= 1e-12


def test_least_squares_solve_equals_sklearn_linear_regression_on_full_rank_data():
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((60, 6)), rng.standard_normal(60)
    sk = LinearRegression(fit_intercept=False).fit(X, y)
    assert rel_err(LeastSquares(X, y).solve(), sk.coef_) <= 1e-12


@pytest.mark.parametrize("n,d", [(40, 5), (4, 9)])     # a repeated column; more features than rows
def test_least_squares_on_rank_deficient_x_returns_the_minimum_norm_solution(n, d):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((n, d))
    X[:, -1] = X[:, 0]                                 # rank < d: XᵀX is singular
    y = rng.standard_normal(n)
    lsq = LeastSquares(X, y)
    w = lsq.solve()
    assert np.all(np.isfinite(w))
    assert np.linalg.norm(lsq.grad(w)) < 1e-12         # a least-squares solution …
    assert rel_err(w, np.linalg.pinv(X) @ y) <= 1e-10  # … and the one of smallest norm, pinv(X) y
    assert w[0] == pytest.approx(w[-1], rel=1e-10)     # the weight is split evenly over the twin columns


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_ridge_with_a_tiny_lambda_on_a_repeated_column_still_gives_the_exact_solution(scale):
    # X = [A, A₀]: the first column repeated, and nλ tiny against XᵀX, so the normal equations
    # are hopelessly ill-conditioned (Cholesky fails, or returns noise). The exact answer is
    # known: by symmetry the two copies share one weight u, and with z = 2u the problem is
    # ridge on A with the first penalty halved:
    # (AᵀA + nλ·diag(½, 1, 1, 1)) (z, w₁, w₂, w₃) = Aᵀy, a well-conditioned 4×4 system.
    rng = np.random.default_rng(1)
    n, lam = 30, 1e-12
    A = scale * rng.standard_normal((n, 4))
    X, y = np.hstack([A, A[:, :1]]), rng.standard_normal(n)
    z, *rest = np.linalg.solve(A.T @ A + n * lam * np.diag([0.5, 1, 1, 1]), A.T @ y)
    expected = np.array([z / 2, *rest, z / 2])
    assert rel_err(Ridge(X, y, lam=lam).solve(), expected) <= 1e-8


def test_ridge_with_lambda_zero_is_least_squares():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    assert rel_err(Ridge(X, y, 0.0).solve(), LeastSquares(X, y).solve()) <= 1e-14


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 12), lam=st.floats(1e-3, 10.0),
       fit_intercept=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_ridge_solve_zeroes_the_gradient_and_gradients_match_finite_differences(
        n, d, lam, fit_intercept, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    labels = (rng.uniform(size=n) < 0.5).astype(float)
    ridge = Ridge(X, y, lam, fit_intercept=fit_intercept)
    w = ridge.solve()
    assert np.linalg.norm(ridge.grad(w)) <= 1e-10 * max(1.0, np.linalg.norm(X.T @ y) / n)
    for objective in (ridge, Logistic(X, labels, lam), LeastSquares(X, y)):
        v = rng.standard_normal(d)
        np.testing.assert_allclose(objective.grad(v), numerical_jacobian(objective.value, v)[0],
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(objective.hessian(v), numerical_jacobian(objective.grad, v),
                                   rtol=1e-5, atol=1e-7)


# ---- bad input ----------------------------------------------------------------------------
BUILDERS = {
    "LeastSquares": lambda X, y, **kw: LeastSquares(X, y),
    "Ridge": lambda X, y, lam=0.1: Ridge(X, y, lam),
    "Logistic": lambda X, y, lam=0.1: Logistic(X, y, lam),
}
GOOD_X, GOOD_Y = np.arange(6.0).reshape(3, 2), np.array([0.0, 1.0, 1.0])


@pytest.mark.parametrize("name", BUILDERS)
def test_mismatched_x_and_y_lengths_are_refused_naming_y(name):
    with pytest.raises(ValueError, match=rf"{name}: y must have shape \(3,\).*got \(4,\)"):
        BUILDERS[name](GOOD_X, np.zeros(4))


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("X", [np.zeros(3), np.zeros((3, 0)), np.zeros((3, 2, 1))])
def test_x_that_is_not_a_non_empty_matrix_is_refused_naming_x(name, X):
    with pytest.raises(ValueError, match=rf"{name}: X must have shape \(n, d\)"):
        BUILDERS[name](X, GOOD_Y)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("which", ["X", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_refused_naming_the_argument(name, which, bad):
    X, y = GOOD_X.copy(), GOOD_Y.copy()
    (X[1] if which == "X" else y)[1] = bad
    with pytest.raises(ValueError, match=f"{name}: {which} must be finite"):
        BUILDERS[name](X, y)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("row", [[np.inf, -np.inf], [-np.inf, 1.0], [np.nan, 0.0], [0.0, -np.inf]])
def test_non_finite_entries_are_found_whatever_else_their_row_holds(name, row):
    # X's finiteness is screened by one sum X·X; −inf's square is inf like +inf's, and NaN's is NaN.
    X = GOOD_X.copy()
    X[2] = row
    with pytest.raises(ValueError, match=rf"{name}: X must be finite, found .* at index \(2, [01]\)"):
        BUILDERS[name](X, GOOD_Y)


@pytest.mark.parametrize("name", BUILDERS)
def test_finite_entries_whose_squares_overflow_are_accepted(name):
    X = GOOD_X.copy()
    X[1] = [1.5e308, 1.5e308]                                 # finite, though their squares are inf
    np.testing.assert_array_equal(BUILDERS[name](X, GOOD_Y).X[1], [1.5e308, 1.5e308])


@pytest.mark.parametrize("labels", [[0.0, 1.0, 2.0], [0.0, 0.5, 1.0], [-1.0, 1.0, 1.0]])
def test_logistic_labels_outside_zero_one_are_refused(labels):
    with pytest.raises(ValueError, match=r"Logistic: y must hold labels 0 and 1 only"):
        Logistic(GOOD_X, labels)


@pytest.mark.parametrize("name", ["Ridge", "Logistic"])
@pytest.mark.parametrize("lam", [-1e-3, np.nan, np.inf, "big"])
def test_negative_or_non_finite_lambda_is_refused_naming_lam(name, lam):
    with pytest.raises(ValueError, match=f"{name}: lam must be"):
        BUILDERS[name](GOOD_X, GOOD_Y, lam=lam)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("method", ["value", "grad", "hessian"])
@pytest.mark.parametrize("w", [np.zeros(3), np.zeros((2, 1)), np.array([0.0, np.nan])])
def test_w_of_the_wrong_shape_or_not_finite_is_refused_naming_w(name, method, w):
    objective = BUILDERS[name](GOOD_X, GOOD_Y)
    with pytest.raises(ValueError, match=rf"{name}: w must (have shape \(2,\)|be finite)"):
        getattr(objective, method)(w)



# ---- data too large for XᵀX ----------------------------------------------------------------
@pytest.mark.parametrize("lam, fit_intercept", [(0.0, False), (0.1, False), (0.1, True)])
def test_solve_on_x_scaled_by_1e160_is_the_solution_scaled_back_and_curvature_is_refused_clearly(lam, fit_intercept):
    # XᵀX ≈ 1e320 overflows (numpy said "Eigenvalues did not converge"), yet w* ≈ 1e-160 fits. Against
    # that curvature λ = 0.1 is negligible, so w*·scale is least squares' answer on the unscaled X.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    scale = 2.0 ** 531                                        # ≈ 1.1e160
    big = Ridge(X * scale, y, lam, fit_intercept=fit_intercept)
    np.testing.assert_allclose(big.solve() * scale, Ridge(X, y, 0.0, fit_intercept=fit_intercept).solve(), rtol=1e-9)
    for name in ("lipschitz", "strong_convexity"):
        with pytest.raises(ValueError, match=f"Ridge: {name} exceeds the largest float64: X has entries up to "
                                             f".*rescale X"):
            getattr(big, name)
    with pytest.raises(ValueError, match="Logistic: lipschitz exceeds the largest float64"):
        Logistic(X * scale, (y > 0).astype(float)).lipschitz

