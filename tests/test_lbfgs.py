"""lbfgs: the two-loop recursion against explicit BFGS matrices, the Wolfe conditions at every step,
the answers of the closed forms and of Newton, scipy's L-BFGS-B iteration counts, and bad arguments."""

import warnings

import numpy as np
import pytest
import scipy.optimize
from sklearn.datasets import load_breast_cancer

import handnet as hn
from handnet.layers import Linear, Tanh
from handnet.losses import LeastSquares, Logistic, Objective, Ridge, SoftmaxCrossEntropy
from handnet.optim import ConvergenceWarning, lbfgs, newton
from handnet.optim.lbfgs import WOLFE_C1, WOLFE_C2, two_loop
from handnet.optim.newton import ROUNDING
from tests.test_minimisers import Counted, logistic_data


class Rosenbrock(Objective):
    """f(w) = 100 (w₁ − w₀²)² + (1 − w₀)²: non-convex, a curved valley, minimiser (1, 1)."""

    n_features = 2

    def value(self, w):
        w = self.check_w(w)
        return float(100 * (w[1] - w[0] ** 2) ** 2 + (1 - w[0]) ** 2)

    def grad(self, w):
        w = self.check_w(w)
        return np.array([-400 * w[0] * (w[1] - w[0] ** 2) - 2 * (1 - w[0]), 200 * (w[1] - w[0] ** 2)])


def breast_cancer():
    """The 569 × 30 breast-cancer data, standardised, with a column of ones for the intercept."""
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.c_[X, np.ones(len(X))], y.astype(float)


def iterates(objective, w0, **kwargs):
    path = []
    result = lbfgs(objective, w0, callback=path.append, **kwargs)
    return result, path


# ---- the direction -------------------------------------------------------------------------
def test_two_loop_applies_the_matrix_that_m_explicit_bfgs_updates_of_gamma_i_build():
    rng = np.random.default_rng(0)
    d, m = 6, 4
    A = rng.standard_normal((d, d))
    A = A @ A.T + np.eye(d)                                   # y = A s: every pair has sᵀy > 0
    pairs = []
    for _ in range(m):
        s = rng.standard_normal(d)
        pairs.append((s, A @ s, 1 / float(s @ A @ s)))
    s, y, _ = pairs[-1]
    H = float(s @ y) / float(y @ y) * np.eye(d)               # H⁰ = γI
    for s, y, rho in pairs:                                   # H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ
        V = np.eye(d) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    g = rng.standard_normal(d)
    np.testing.assert_allclose(two_loop(g, pairs), H @ g, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H @ pairs[-1][1], pairs[-1][0], rtol=1e-10)   # the secant equation H y = s


# ---- the line search -------------------------------------------------------------------------
@pytest.mark.parametrize("objective, w0", [(Rosenbrock(), np.array([-1.2, 1.0])),
                                           (Logistic(*breast_cancer(), lam=1e-3), np.zeros(31))],
                         ids=["rosenbrock", "logistic"])
def test_every_accepted_step_satisfies_the_strong_wolfe_conditions(objective, w0):
    # With s = w_{k+1} − w_k = t·d: sufficient decrease f_{k+1} ≤ f_k + c₁ ∇f_kᵀs (up to rounding of f)
    # and curvature |∇f_{k+1}ᵀs| ≤ c₂ |∇f_kᵀs|, checked from the iterates alone.
    result, path = iterates(objective, w0, tol=1e-8)
    assert result.converged and result.n_iter >= 10
    for w, w_next in zip(path, path[1:]):
        s, f, g, g_next = w_next - w, objective.value(w), objective.grad(w), objective.grad(w_next)
        assert g @ s < 0
        assert objective.value(w_next) <= f + WOLFE_C1 * g @ s + ROUNDING * max(1, abs(f))
        assert abs(g_next @ s) <= WOLFE_C2 * abs(g @ s)


# ---- what it reaches ----------------------------------------------------------------------
def test_lbfgs_reaches_rosenbrocks_minimiser_from_the_classic_start():
    result = lbfgs(Rosenbrock(), np.array([-1.2, 1.0]), tol=1e-10)
    assert result.converged and result.n_iter <= 60
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_lbfgs_reaches_the_closed_form_ridge_solution(fit_intercept):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6)) + 1.0
    ridge = Ridge(X, X @ rng.standard_normal(6) + 5.0, lam=0.05, fit_intercept=fit_intercept)
    result = lbfgs(ridge, np.zeros(6), tol=1e-12)
    assert result.converged
    np.testing.assert_allclose(result.x, ridge.solve(), rtol=1e-9, atol=1e-11)


def test_lbfgs_on_rank_deficient_least_squares_reaches_a_minimiser_and_stops_cleanly_at_tol_zero():
    # A repeated column: many minimisers, all with ∇f = 0 and the same value.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 5))
    X[:, 4] = X[:, 3]
    ls = LeastSquares(X, rng.standard_normal(50))
    result = lbfgs(ls, np.zeros(5), tol=1e-10)
    assert result.converged and abs(result.fun - ls.value(ls.solve())) <= 1e-14
    # With tol = 0 it goes on until no step can be told from rounding, then says so.
    result = lbfgs(ls, np.zeros(5), tol=0.0)
    assert not result.converged and "line search" in result.message and result.history["grad_norm"][-1] < 1e-12


def test_lbfgs_and_newton_reach_the_same_logistic_minimiser():
    logistic = Logistic(*logistic_data(500, 6), lam=1e-3)
    result = lbfgs(logistic, np.zeros(6), tol=1e-10)
    assert result.converged
    np.testing.assert_allclose(result.x, newton(logistic, np.zeros(6), tol=1e-12).x, rtol=1e-8, atol=1e-10)


def test_lbfgs_trains_a_small_network_through_model_objective():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = hn.Sequential(Linear(3, 6, rng=0), Tanh(), Linear(6, 2, rng=1))
    objective = hn.ModelObjective(model, SoftmaxCrossEntropy(), X, y)
    result = lbfgs(objective, hn.parameters_to_vector(model), tol=1e-6, max_iter=2000)
    assert result.converged, result.message
    assert result.fun == objective.value(result.x) < result.history["value"][0] / 10


def test_more_memory_needs_no_more_iterations_on_an_ill_conditioned_logistic_problem():
    logistic = Logistic(*breast_cancer(), lam=1e-4)
    counts = [lbfgs(logistic, np.zeros(31), m=m, tol=1e-6).n_iter for m in (1, 5, 20)]
    assert counts[0] > counts[1] >= counts[2], counts


# ---- scipy ----------------------------------------------------------------------------------
def scipy_iterations(objective, tol):
    """The iterations scipy's L-BFGS-B takes to reach our criterion ‖∇f‖₂ ≤ tol (checked at each iterate,
    its own gtol and ftol switched off), from w = 0."""
    count = 0

    def callback(intermediate_result):
        nonlocal count
        count += 1
        if np.linalg.norm(objective.grad(intermediate_result.x)) <= tol:
            raise StopIteration

    scipy.optimize.minimize(lambda w: (objective.value(w), objective.grad(w)), np.zeros(objective.n_features),
                            jac=True, method="L-BFGS-B", callback=callback,
                            options={"gtol": 0.0, "ftol": 0.0, "maxiter": 10_000, "maxcor": 10})
    return count


@pytest.mark.parametrize("data", ["synthetic", "breast_cancer"])
@pytest.mark.parametrize("lam", [1e-2, 1e-4])
def test_lbfgs_needs_at_most_1_2_times_the_iterations_of_scipys_lbfgsb_on_logistic_objectives(data, lam):
    X, y = logistic_data(1000, 8) if data == "synthetic" else breast_cancer()
    logistic, tol = Logistic(X, y, lam), 1e-8
    result = lbfgs(logistic, np.zeros(logistic.n_features), m=10, tol=tol)
    theirs = scipy_iterations(logistic, tol)
    print(f"{data}, lam={lam}: lbfgs {result.n_iter} iterations, scipy L-BFGS-B {theirs}")
    assert result.converged and result.n_iter <= 1.2 * theirs, (result.n_iter, theirs)


# ---- the record and the stops --------------------------------------------------------------
def test_history_holds_one_entry_per_iterate_or_update_and_the_callback_sees_every_iterate():
    logistic = Logistic(*logistic_data(200, 4), lam=1e-2)
    result, path = iterates(logistic, np.zeros(4), tol=1e-8)
    K = result.n_iter
    assert len(result.history["value"]) == len(result.history["grad_norm"]) == len(path) == K + 1
    assert len(result.history["step_size"]) == len(result.history["evaluations"]) == K
    assert all(t > 0 for t in result.history["step_size"]) and min(result.history["evaluations"]) >= 1
    np.testing.assert_array_equal(path[-1], result.x)
    # The first direction is −∇f tried at t = 1/‖∇f‖, a step of length 1, which is accepted here.
    assert result.history["evaluations"][0] == 1
    assert result.history["step_size"][0] * result.history["grad_norm"][0] == pytest.approx(1.0)


def test_every_point_lbfgs_evaluates_costs_one_value_and_grad():
    objective = Counted(Logistic(*logistic_data(300, 4), lam=0.01))
    result = lbfgs(objective, np.zeros(4), tol=1e-10)
    assert result.converged
    assert objective.calls == ["value_and_grad"] * (1 + sum(result.history["evaluations"]))   # w0, then each trial


def test_starting_at_the_minimiser_takes_no_step():
    ridge = Ridge(*logistic_data(100, 3), lam=0.1)
    result = lbfgs(ridge, ridge.solve(), tol=1e-8)
    assert result.converged and result.n_iter == 0 and result.history["step_size"] == []


def test_max_iter_stops_and_says_so():
    result = lbfgs(Rosenbrock(), np.array([-1.2, 1.0]), max_iter=3)
    assert result.n_iter == 3 and not result.converged and "max_iter = 3" in result.message


def test_separable_classes_without_a_penalty_warn_and_stop_at_a_finite_w():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 2))
    with pytest.warns(ConvergenceWarning, match="separable"):
        result = lbfgs(Logistic(X, (X[:, 0] > 0).astype(float)), np.zeros(2))
    assert not result.converged and np.all(np.isfinite(result.x))


@pytest.mark.parametrize("kwargs, match", [({"m": 0}, "m must be"), ({"m": 2.5}, "m must be"),
                                           ({"tol": -1.0}, "tol"), ({"max_iter": -1}, "max_iter")])
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lbfgs(Rosenbrock(), np.zeros(2), **kwargs)


def test_a_w0_of_the_wrong_shape_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
            lbfgs(Rosenbrock(), np.zeros(3))
