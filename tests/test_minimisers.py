"""gradient_descent and newton: the closed-form answers they must reach, the iteration counts the
theory predicts, scikit-learn's logistic regression, the separable case, and bad arguments."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from handnet.losses import LeastSquares, Logistic, Objective, Ridge
from handnet import optim
from handnet.optim import ConvergenceWarning, OptimizeResult, gradient_descent, newton
from handnet.optim.newton import newton_direction
from tests.torch_compare import rel_err


def logistic_data(n=3000, d=8, seed=0):
    """Correlated features and labels drawn from a logistic model: overlapping classes."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ (np.eye(d) + 0.5 * rng.standard_normal((d, d)))
    w_true = rng.standard_normal(d)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-np.clip(X @ w_true, -30, 30)))).astype(float)
    return X, y


def ridge_problem(fit_intercept=False, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 6)) + 1.0
    y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(200) + 5.0
    return Ridge(X, y, lam=0.05, fit_intercept=fit_intercept)


# ---- gradient descent ---------------------------------------------------------------------
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_gd_with_step_one_over_l_reaches_the_closed_form_ridge_solution(fit_intercept):
    ridge = ridge_problem(fit_intercept)
    result = gradient_descent(ridge, np.zeros(6), tol=1e-12, max_iter=100_000)
    assert result.converged
    assert rel_err(result.x, ridge.solve()) <= 1e-8
    assert result.history["step_size"] == [1 / ridge.lipschitz] * result.n_iter


def test_gd_decreases_the_value_monotonically_with_step_one_over_l():
    result = gradient_descent(Logistic(*logistic_data(300, 4)), np.zeros(4), max_iter=200)
    assert np.all(np.diff(result.history["value"]) <= 0)


def test_gd_error_contracts_at_least_as_fast_as_one_minus_mu_over_l():
    # For a quadratic with step 1/L, ‖w_k − w*‖ ≤ (1 − μ/L)^k ‖w_0 − w*‖.
    ridge = ridge_problem()
    w_star, k = ridge.solve(), 50
    result = gradient_descent(ridge, np.zeros(6), max_iter=k, tol=0.0)
    bound = (1 - ridge.strong_convexity / ridge.lipschitz) ** k * np.linalg.norm(w_star)
    assert np.linalg.norm(result.x - w_star) <= bound * (1 + 1e-9)


def test_gd_with_a_step_above_two_over_l_warns_and_returns_the_last_point_before_the_rise():
    ridge = ridge_problem()
    with pytest.warns(ConvergenceWarning, match="too large"):
        result = gradient_descent(ridge, np.zeros(6), lr=2.5 / ridge.lipschitz)
    assert not result.converged and np.all(np.isfinite(result.x))
    assert result.fun == result.history["value"][-1] == ridge.value(result.x)
    assert result.fun <= result.history["value"][0]


# ---- Newton -------------------------------------------------------------------------------
@pytest.mark.parametrize("objective", [ridge_problem(), ridge_problem(fit_intercept=True),
                                       LeastSquares(*logistic_data(100, 5))])
def test_newton_solves_a_quadratic_in_one_full_step(objective):
    w0 = np.random.default_rng(2).standard_normal(objective.n_features)
    result = newton(objective, w0, tol=1e-8)
    assert result.converged and result.n_iter == 1 and result.history["step_size"] == [1.0]
    assert rel_err(result.x, objective.solve()) <= 1e-10


def test_newton_on_logistic_reaches_grad_below_1e_10_within_12_steps_and_equals_sklearn():
    X, y = logistic_data()
    n, lam = len(y), 1e-3
    result = newton(Logistic(X, y, lam), np.zeros(X.shape[1]), tol=1e-10)
    assert result.converged and result.n_iter <= 12, result.message
    assert result.history["grad_norm"][-1] < 1e-10
    sk = LogisticRegression(C=1 / (n * lam), fit_intercept=False, solver="newton-cholesky",
                            tol=1e-12, max_iter=1000).fit(X, y)
    assert rel_err(result.x, sk.coef_.ravel()) <= 1e-8, rel_err(result.x, sk.coef_.ravel())


def test_newton_converges_quadratically_on_logistic_grad_norm_roughly_squares():
    result = newton(Logistic(*logistic_data(), lam=1e-3), np.zeros(8), tol=1e-12)
    g = np.array(result.history["grad_norm"])
    # Once the full step is taken, ‖∇f_{k+1}‖ ≤ C‖∇f_k‖² with a modest C (here about 15), until the
    # rounding floor (~1e-16) is reached. Linear convergence would make these ratios blow up.
    above_floor = g[1:] > 1e-13
    ratios = (g[1:] / g[:-1] ** 2)[above_floor][-3:]
    assert result.converged and np.all(ratios < 100.0), g
    assert all(t == 1.0 for t in result.history["step_size"][-3:])


def test_gd_needs_many_times_more_iterations_than_newton_on_logistic():
    objective = Logistic(*logistic_data(), lam=1e-3)
    newton_iters = newton(objective, np.zeros(8), tol=1e-8).n_iter
    gd = gradient_descent(objective, np.zeros(8), tol=1e-8, max_iter=20 * newton_iters)
    assert not gd.converged, f"GD converged in {gd.n_iter} steps, Newton needed {newton_iters}"


def test_newton_on_separable_classes_without_penalty_warns_and_stops_with_a_finite_answer():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)       # perfectly separable
    with pytest.warns(ConvergenceWarning, match="separable"):
        result = newton(Logistic(X, y), np.zeros(3), max_iter=200)  # RuntimeWarnings (overflow) are errors here
    assert not result.converged and result.n_iter < 200
    assert np.all(np.isfinite(result.x)) and np.isfinite(result.fun)
    assert np.all((2 * y - 1) * (X @ result.x) > 0)               # the warning's claim: w separates the classes


def test_newton_on_the_same_separable_classes_with_a_penalty_converges_without_warning():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = newton(Logistic(X, y, lam=1e-4), np.zeros(3))
    assert result.converged


def test_gd_on_separable_classes_with_a_gap_warns_as_soon_as_an_iterate_separates_them():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((500, 3))
    s = X @ np.array([1.0, -2.0, 0.5])
    X, y = X[np.abs(s) > 0.5], (s[np.abs(s) > 0.5] > 0).astype(float)   # a gap around the boundary
    with pytest.warns(ConvergenceWarning, match="separable"):
        result = gradient_descent(Logistic(X, y), np.zeros(3))
    assert not result.converged and np.all(np.isfinite(result.x))


def test_logistic_no_minimiser_needs_margins_nonnegative_some_positive_and_no_penalty():
    X, y = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 0.0, 1.0])
    assert Logistic(X, y).no_minimiser(np.array([1.0, 1.0])) is not None         # margins 1, 1, 1
    assert Logistic(X, y).no_minimiser(np.array([1.0, 0.0])) is not None         # 1, 1, 0: quasi-complete
    assert Logistic(X, y).no_minimiser(np.array([1.0, -1.0])) is None            # third margin −1
    assert Logistic(X, y).no_minimiser(np.zeros(2)) is None                      # all margins 0: no evidence
    assert Logistic(X, y, lam=0.1).no_minimiser(np.array([1.0, 1.0])) is None    # the penalty has a minimiser


def test_newton_warns_on_quasi_complete_separation_points_on_the_boundary():
    # Separable classes plus two points at the origin with opposite labels: every w keeps those two
    # at margin 0, so no w separates strictly, yet there is still no minimiser (Albert & Anderson).
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    X, y = np.vstack([X, np.zeros((2, 3))]), np.append(y, [0.0, 1.0])
    with pytest.warns(ConvergenceWarning, match="separable"):
        result = newton(Logistic(X, y), np.zeros(3), max_iter=200)
    assert not result.converged and np.all(np.isfinite(result.x))


def test_convergence_warning_is_a_user_warning_not_a_runtime_warning():
    # The test configuration turns RuntimeWarnings into errors; ours must stay a catchable warning.
    assert issubclass(ConvergenceWarning, UserWarning) and not issubclass(ConvergenceWarning, RuntimeWarning)


class Rosenbrock(Objective):
    """f(w) = (1 − w₀)² + 100 (w₁ − w₀²)²: non-convex, its Hessian is indefinite where w₁ > w₀² + 1/200."""

    n_features = 2
    lipschitz = 2000.0   # not a global bound; unused by Newton

    def value(self, w):
        return float((1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2)

    def grad(self, w):
        return np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2), 200 * (w[1] - w[0] ** 2)])

    def hessian(self, w):
        return np.array([[2 - 400 * w[1] + 1200 * w[0] ** 2, -400 * w[0]], [-400 * w[0], 200.0]])


def test_an_objective_with_only_value_and_grad_gets_the_pair_from_them_and_gd_runs_on_it():
    w = np.array([0.3, -0.2])
    f, g = Rosenbrock().value_and_grad(w)                          # the protocol's default
    assert f == Rosenbrock().value(w)
    np.testing.assert_array_equal(g, Rosenbrock().grad(w))
    path = []
    result = gradient_descent(Rosenbrock(), w, lr=1e-4, max_iter=20, tol=0.0, callback=path.append)
    assert result.n_iter == 20 and [Rosenbrock().value(v) for v in path] == result.history["value"]


class Counted(Objective):
    """Another objective, counting how often each of its evaluations is asked for."""

    def __init__(self, objective):
        self.objective, self.n_features, self.calls = objective, objective.n_features, []

    def _count(self, name, w):
        self.calls.append(name)
        return getattr(self.objective, name)(w)

    def value(self, w):
        return self._count("value", w)

    def grad(self, w):
        return self._count("grad", w)

    def value_and_grad(self, w):
        return self._count("value_and_grad", w)

    def hessian(self, w):
        return self._count("hessian", w)

    def gauss_newton(self, w):
        return self._count("gauss_newton", w)


def test_gd_evaluates_w0_and_each_new_iterate_once_by_value_and_grad():
    objective = Counted(Logistic(*logistic_data(200, 3), lam=0.1))
    result = gradient_descent(objective, np.zeros(3), lr=0.5, max_iter=7, tol=0.0)
    assert result.n_iter == 7
    assert objective.calls == ["value_and_grad"] * 8              # w0, then the 7 iterates


@pytest.mark.parametrize("minimiser", ["newton", "levenberg_marquardt"])
def test_second_order_minimisers_take_f_and_grad_at_w0_from_one_value_and_grad(minimiser):
    objective = Counted(LeastSquares(*logistic_data(200, 3)))
    getattr(optim, minimiser)(objective, np.zeros(3), max_iter=1)
    assert objective.calls[0] == "value_and_grad" and objective.calls[1] in ("hessian", "gauss_newton")


def test_newton_with_damping_and_line_search_minimises_rosenbrock_through_indefinite_hessians():
    w0 = np.array([0.0, 1.0])
    assert np.linalg.eigvalsh(Rosenbrock().hessian(w0))[0] < 0        # H is indefinite at the start
    result = newton(Rosenbrock(), w0, max_iter=100)
    assert result.converged and rel_err(result.x, np.ones(2)) <= 1e-10
    assert np.all(np.diff(result.history["value"]) <= 0)


def test_newton_direction_damps_an_indefinite_hessian_into_a_descent_direction():
    H, g = np.array([[1.0, 0.0], [0.0, -2.0]]), np.array([1.0, 1.0])
    d, tau = newton_direction(H, g)
    assert g @ d < 0
    assert np.linalg.eigvalsh(H + tau * np.eye(2))[0] >= tau / 2   # well away from singular
    np.testing.assert_allclose((H + tau * np.eye(2)) @ d, -g, rtol=1e-12)


# ---- the result and bad arguments ---------------------------------------------------------
@pytest.mark.parametrize("minimiser", [gradient_descent, newton])
def test_history_has_a_value_and_grad_norm_per_iterate_and_a_step_per_update(minimiser):
    objective = Logistic(*logistic_data(200, 3), lam=0.1)
    w0 = np.full(3, 0.5)
    result = minimiser(objective, w0, max_iter=5, tol=0.0)
    assert isinstance(result, OptimizeResult) and result.n_iter == 5 and not result.converged
    assert len(result.history["value"]) == len(result.history["grad_norm"]) == 6
    assert len(result.history["step_size"]) == 5
    assert result.history["value"][0] == objective.value(w0) and result.fun == objective.value(result.x)
    assert result.history["grad_norm"][-1] == pytest.approx(np.linalg.norm(objective.grad(result.x)))
    np.testing.assert_array_equal(w0, 0.5)                        # the starting point is not modified


@pytest.mark.parametrize("minimiser", [gradient_descent, newton])
def test_callback_sees_every_iterate_and_the_values_in_history_are_theirs(minimiser):
    objective = Logistic(*logistic_data(200, 3), lam=0.1)
    path = []
    result = minimiser(objective, np.zeros(3), max_iter=4, tol=0.0, callback=path.append)
    assert len(path) == result.n_iter + 1
    np.testing.assert_array_equal(path[0], np.zeros(3))
    np.testing.assert_array_equal(path[-1], result.x)
    assert [objective.value(w) for w in path] == result.history["value"]


@pytest.mark.parametrize("minimiser", [gradient_descent, newton])
def test_zero_iterations_return_the_starting_point(minimiser):
    result = minimiser(ridge_problem(), np.ones(6), max_iter=0)
    np.testing.assert_array_equal(result.x, np.ones(6))
    assert result.n_iter == 0 and result.history["step_size"] == []


@pytest.mark.parametrize("minimiser", [gradient_descent, newton])
@pytest.mark.parametrize("kwargs,match", [(dict(tol=-1.0), "tol"), (dict(tol=np.nan), "tol"),
                                          (dict(max_iter=-1), "max_iter"), (dict(max_iter=2.5), "max_iter")])
def test_bad_stopping_arguments_are_refused_naming_them(minimiser, kwargs, match):
    with pytest.raises(ValueError, match=match):
        minimiser(ridge_problem(), np.zeros(6), **kwargs)


@pytest.mark.parametrize("lr", [0.0, -0.1, np.inf, np.nan])
def test_gd_refuses_a_step_that_is_not_positive_and_finite(lr):
    with pytest.raises(ValueError, match="lr must be"):
        gradient_descent(ridge_problem(), np.zeros(6), lr=lr)


@pytest.mark.parametrize("minimiser", [gradient_descent, newton])
def test_a_starting_point_of_the_wrong_shape_is_refused_naming_w(minimiser):
    with pytest.raises(ValueError, match=r"w must have shape \(6,\)"):
        minimiser(ridge_problem(), np.zeros(5))


@pytest.mark.parametrize("minimiser", [gradient_descent, newton, optim.lbfgs, optim.levenberg_marquardt])
def test_a_plain_function_instead_of_an_objective_is_refused_saying_what_to_do(minimiser):
    with pytest.raises(TypeError, match="objective must be a handnet.losses.Objective .* got function; .* subclass"):
        minimiser(lambda w: w @ w, np.ones(2))


def test_gd_with_the_default_step_refuses_an_objective_with_no_curvature():
    objective = Ridge(np.zeros((5, 2)), np.ones(5), lam=0.0)   # L = 0: 1/L is no step
    with pytest.raises(ValueError, match="lr"):
        gradient_descent(objective, np.zeros(2))


# ---- overflow is never convergence --------------------------------------------------------
def small_least_squares(scale: float = 1.0) -> LeastSquares:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    return LeastSquares(X * scale, X @ np.array([1.0, 2.0, 3.0]) + 0.1 * rng.standard_normal(20))


@pytest.mark.parametrize("minimiser", [gradient_descent, newton, optim.lbfgs, optim.levenberg_marquardt])
@pytest.mark.parametrize("w0, match", [(np.full(3, 1e300), r"not finite at w0 \(f\(w0\) = inf"),
                                       (np.array([0.0, np.nan, 0.0]), "w must be finite")])
def test_a_start_where_the_objective_overflows_is_refused_not_called_a_minimum(minimiser, w0, match):
    # newton used to return w0 "within rounding error of the minimum, ‖∇f‖ = inf", with no warning.
    kwargs = dict(lr=0.1) if minimiser is gradient_descent else {}
    with pytest.raises(ValueError, match=match):
        minimiser(small_least_squares(), w0, **kwargs)


def test_newton_on_data_whose_hessian_overflows_warns_and_does_not_converge():
    objective = small_least_squares(1e200)                    # XᵀX/n ≈ 1e400: inf
    with pytest.warns(ConvergenceWarning, match="the Hessian is not finite"):
        result = newton(objective, np.zeros(3))
    assert not result.converged and result.n_iter == 0 and "not a minimum" in result.message
    np.testing.assert_array_equal(result.x, np.zeros(3))
    assert np.isfinite(result.history["grad_norm"][0])       # ‖∇f‖ ≈ 3e200, no longer inf


def test_gd_with_a_step_that_overflows_warns_with_its_own_message_and_no_numpy_warning():
    with pytest.warns(ConvergenceWarning, match=r"the value at the next iterate \(step lr = 1.000e\+300\) is not"):
        result = gradient_descent(small_least_squares(), np.zeros(3), lr=1e300)
    assert not result.converged and result.n_iter == 0       # (a numpy RuntimeWarning would fail this test)


@pytest.mark.parametrize("minimiser", [gradient_descent, newton])
def test_a_huge_penalty_gives_a_tiny_minimiser_without_numpy_overflow_warnings(minimiser):
    # ∇f(1) = λ·1 + … ≈ 1e300 per entry: ‖∇f‖ squared its entries and overflowed, though nothing else did.
    X, y = logistic_data(200, 3)
    objective = Logistic(X, y, lam=1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = minimiser(objective, np.ones(3))
    assert result.converged and result.history["grad_norm"][0] == pytest.approx(np.sqrt(3) * 1e300, rel=1e-3)
    np.testing.assert_allclose(result.x, X.T @ (y - 0.5) / (len(y) * 1e300), rtol=1e-6)   # w* ≈ Xᵀ(y − ½)/(nλ)


class PenaltyMixin:
    """Adds ‖w‖² to value and grad, through super(): a mixin, as a user might write one."""

    def value(self, w):
        return super().value(w) + float(w @ w)

    def grad(self, w):
        return super().grad(w) + 2 * w


def test_a_subclass_that_changes_value_and_grad_but_inherits_value_and_grad_is_refused_when_defined():
    refusal = (r"Penalised takes value from Penalised, grad from Penalised and value_and_grad from LeastSquares: "
               r"they may not be one function's")
    with pytest.raises(TypeError, match=refusal):
        class Penalised(LeastSquares):
            def value(self, w):
                return super().value(w) + float(w @ w)

            def grad(self, w):
                return super().grad(w) + 2 * w
    with pytest.raises(TypeError, match=r"value from PenaltyMixin, grad from PenaltyMixin and value_and_grad from "
                                        r"LeastSquares"):
        class Mixed(PenaltyMixin, LeastSquares):
            pass
    with pytest.raises(TypeError, match=r"value from LeastSquares, grad from LeastSquares and value_and_grad from "
                                        r"OnlyThePair"):
        class OnlyThePair(LeastSquares):                           # value and grad would lack the penalty
            def value_and_grad(self, w):
                f, g = super().value_and_grad(w)
                return f + float(w @ w), g + 2 * w


def test_a_subclass_whose_three_evaluations_agree_is_accepted_and_they_agree():
    class Consistent(LeastSquares):                                # all three written together
        def value(self, w):
            return super().value(w) + float(w @ w)

        def grad(self, w):
            return super().grad(w) + 2 * w

        def value_and_grad(self, w):
            f, g = super().value_and_grad(w)
            return f + float(w @ w), g + 2 * w

    class MixedWithTheDefaultPair(PenaltyMixin, LeastSquares):    # the pair from its own value and grad
        value_and_grad = Objective.value_and_grad

    X, y = logistic_data(50, 3)
    w = np.array([0.5, -1.0, 2.0])
    for objective in (Consistent(X, y), MixedWithTheDefaultPair(X, y)):
        f, g = objective.value_and_grad(w)
        assert f == objective.value(w) == LeastSquares(X, y).value(w) + float(w @ w)
        np.testing.assert_array_equal(g, objective.grad(w))
        np.testing.assert_array_equal(g, LeastSquares(X, y).grad(w) + 2 * w)
