"""handnet.sklearn's Ridge and LogisticRegression against scikit-learn's: the same alpha and C, the same
coefficients (≤ 1e-8) with default settings; the unpenalised intercept; the multinomial case; bad input."""

import warnings

import numpy as np
import pytest
from sklearn import linear_model
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from handnet.functional import sigmoid
from handnet.sklearn import LogisticRegression, Ridge


def regression_data(targets=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, 5)) * [1, 2, 3, 4, 5] + 2.0
    Y = X @ rng.standard_normal((5, targets)) + 3.0 + rng.standard_normal((80, targets))
    return X, Y[:, 0] if targets == 1 else Y


def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def four_classes():
    return make_classification(400, 8, n_informative=5, n_classes=4, random_state=0)


def tight_sklearn(C, solver="newton-cholesky", **kwargs):
    return linear_model.LogisticRegression(C=C, solver=solver, tol=1e-14, max_iter=10_000, **kwargs)


# ---- Ridge ----------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 1.0, 30.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("targets", [1, 3])
def test_ridge_agrees_with_sklearn_ridge_for_the_same_alpha(alpha, fit_intercept, targets):
    X, y = regression_data(targets)
    ours = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    theirs = linear_model.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    assert np.shape(ours.coef_) == np.shape(theirs.coef_) and np.shape(ours.intercept_) == np.shape(theirs.intercept_)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)


def test_ridge_by_gradient_descent_reaches_the_closed_form():
    X, y = regression_data()
    gd = Ridge(alpha=2.0, solver="gd", tol=1e-12, max_iter=100_000).fit(X, y)
    exact = Ridge(alpha=2.0).fit(X, y)
    np.testing.assert_allclose(gd.coef_, exact.coef_, rtol=0, atol=1e-9)
    assert gd.intercept_ == pytest.approx(exact.intercept_, abs=1e-9)
    assert gd.n_iter_[0] > 1 and exact.n_iter_[0] == 1


def test_ridge_by_gradient_descent_warns_when_it_runs_out_of_iterations():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        Ridge(solver="gd", max_iter=3).fit(*regression_data())


# ---- LogisticRegression ------------------------------------------------------------------------
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("data", [breast_cancer, iris, four_classes], ids=lambda f: f.__name__)
def test_logistic_regression_with_defaults_agrees_with_a_tightly_converged_sklearn_fit(data, C):
    # Two classes (breast cancer) and the multinomial case (iris: 3, and 4 classes), against scikit-learn's
    # Newton solver run to tol = 1e-14 — the same objective, so the same coefficients.
    X, y = data()
    ours, theirs = LogisticRegression(C=C).fit(X, y), tight_sklearn(C).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape and ours.intercept_.shape == theirs.intercept_.shape
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-9)
    assert ours.n_iter_.shape == (1,) and ours.n_iter_[0] <= 15


@pytest.mark.parametrize("data", [iris, four_classes], ids=lambda f: f.__name__)
def test_multinomial_fit_agrees_with_sklearns_default_lbfgs_solver(data):
    X, y = data()
    ours, theirs = LogisticRegression().fit(X, y), tight_sklearn(1.0, solver="lbfgs").fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-6)


def test_multinomial_intercepts_sum_to_zero_like_sklearns():
    # The softmax does not change when every intercept moves by the same constant; scikit-learn's
    # solvers return the intercepts that sum to 0, and so do we.
    X, y = four_classes()
    ours = LogisticRegression(C=0.3).fit(X, y)
    assert abs(ours.intercept_.sum()) < 1e-12 and abs(tight_sklearn(0.3).fit(X, y).intercept_.sum()) < 1e-12


@pytest.mark.parametrize("data", [breast_cancer, iris], ids=lambda f: f.__name__)
def test_the_intercept_is_not_penalised(data):
    # With a huge penalty (C → 0) every weight goes to 0, but the free intercepts still fit the class
    # frequencies: σ(b) = the fraction of class 1, or softmax(b) = the class fractions.
    X, y = data()
    model = LogisticRegression(C=1e-12).fit(X, y)
    assert np.abs(model.coef_).max() < 1e-9
    fractions = np.bincount(y) / len(y)
    np.testing.assert_allclose(model.predict_proba(X[:1])[0], fractions, atol=1e-6)


def test_without_an_intercept_it_agrees_with_sklearn_too():
    X, y = breast_cancer()
    ours, theirs = LogisticRegression(fit_intercept=False).fit(X, y), tight_sklearn(1.0, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8)
    assert np.all(ours.intercept_ == 0) and ours.intercept_.shape == (1,)


def test_gradient_descent_reaches_newtons_answer():
    X, y = iris()
    gd = LogisticRegression(C=0.1, solver="gd", tol=1e-8, max_iter=50_000).fit(X, y)
    np.testing.assert_allclose(gd.coef_, LogisticRegression(C=0.1).fit(X, y).coef_, rtol=0, atol=1e-6)
    assert gd.n_iter_[0] > 100


def test_probabilities_margins_and_labels_agree():
    X, y = breast_cancer()
    labels = np.where(y == 1, "benign", "malignant")
    model = LogisticRegression().fit(X, labels)
    z, p = model.decision_function(X), model.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], sigmoid(z), rtol=1e-12)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), p, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.where(z > 0, model.classes_[1], model.classes_[0]))


def test_running_out_of_iterations_warns():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        LogisticRegression(solver="gd", max_iter=5).fit(*iris())


@pytest.mark.parametrize("params, match", [({"C": 0}, "C must be"), ({"C": -1.0}, "C must be"),
                                           ({"C": np.inf}, "C must be"), ({"solver": "lbfgs"}, "solver must be"),
                                           ({"max_iter": 0}, "max_iter"), ({"tol": -1e-3}, "tol")])
def test_bad_parameters_are_refused_in_fit_by_name(params, match):
    model = LogisticRegression(**params)                       # __init__ stores them as given
    with pytest.raises(ValueError, match=match):
        model.fit(*iris())


def test_a_single_class_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="at least 2 classes"):
            LogisticRegression().fit(np.eye(3), [1, 1, 1])
