"""handnet.sklearn's MLPs: scikit-learn's objective (its α/(2n)‖W‖² scaling) checked by handing our weights
to scikit-learn's own MLP, the five solvers, eval-mode prediction, BatchNorm's small batches, partial_fit,
dropout, and bad parameters."""

import numpy as np
import pytest
from sklearn import neural_network
from sklearn.base import is_classifier
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import handnet.layers
from handnet.layers import BatchNorm1d, Linear
from handnet.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def iris(classes=3):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[y < classes], y[y < classes]


def regression(targets=1):
    X, y = make_regression(60, 4, n_targets=targets, noise=1.0, random_state=0)
    return X, (y - y.mean(axis=0)) / y.std(axis=0)


CASES = {                           # (our estimator, scikit-learn's, data); iris(2) is binary: one logistic output
    "binary": (MLPClassifier, neural_network.MLPClassifier, lambda: iris(2)),
    "multiclass": (MLPClassifier, neural_network.MLPClassifier, iris),
    "regression": (MLPRegressor, neural_network.MLPRegressor, regression),
    "two outputs": (MLPRegressor, neural_network.MLPRegressor, lambda: regression(2)),
}


def weights_into(ours, theirs) -> None:
    """Put our network's Linear weights into a scikit-learn MLP (coefs_ are (in, out): our weightᵀ)."""
    linears = [m for m in ours.model_.modules() if isinstance(m, Linear)]
    theirs.coefs_ = [m.weight.data.T.copy() for m in linears]
    theirs.intercepts_ = [m.bias.data.copy() for m in linears]


def partial_fit(model, X, y):
    return model.partial_fit(X, y, classes=np.unique(y)) if is_classifier(model) else model.partial_fit(X, y)


# ---- scikit-learn's objective ----------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_an_sgd_epoch_takes_scikit_learns_step_from_the_same_weights(case):
    # One batch of all n samples, plain gradient steps (momentum 0): both take θ ← θ − η(∇ mean loss + (α/n) W),
    # so after the same epoch from the same weights both hold the same weights and report the same loss.
    ours_cls, theirs_cls, data = CASES[case]
    X, y = data()
    params = dict(hidden_layer_sizes=(5,), activation="tanh", solver="sgd", momentum=0.0, alpha=3.0,
                  learning_rate_init=0.1, batch_size=len(X))
    ours = partial_fit(ours_cls(**params, random_state=0), X, y)
    theirs = partial_fit(theirs_cls(**params, shuffle=False), X, y)
    weights_into(ours, theirs)
    partial_fit(ours, X, y), partial_fit(theirs, X, y)
    if case != "two outputs":     # with K outputs scikit-learn reports 1/K of the data term whose gradient it takes
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12)
    linears = [m for m in ours.model_.modules() if isinstance(m, Linear)]
    for mine, coef, intercept in zip(linears, theirs.coefs_, theirs.intercepts_):
        np.testing.assert_allclose(mine.weight.data.T, coef, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(mine.bias.data, intercept, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", ["binary", "multiclass", "regression"])
def test_our_lbfgs_minimum_is_where_scikit_learns_lbfgs_stays(case):
    # If our objective were not scikit-learn's (say α/2·‖W‖² instead of α/(2n)·‖W‖²), its gradient at our
    # minimum would not vanish and scikit-learn's L-BFGS, started there, would move away.
    ours_cls, theirs_cls, data = CASES[case]
    X, y = data()
    params = dict(hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs", alpha=0.1)
    ours = ours_cls(**params, tol=1e-10, max_iter=3000, random_state=0).fit(X, y)
    assert ours.n_iter_ < 3000
    # Not the point W = 0, where a tanh network's gradient in W vanishes whatever the penalty.
    assert min(np.abs(m.weight.data).max() for m in ours.model_.modules() if isinstance(m, Linear)) > 0.1
    theirs = theirs_cls(**params, max_iter=1).fit(X, y)
    weights_into(ours, theirs)
    theirs.set_params(warm_start=True, tol=1e-9, max_iter=100).fit(X, y)
    assert theirs.loss_ == pytest.approx(ours.loss_, rel=1e-10)
    for coef, mine in zip(theirs.coefs_, [m.weight.data.T for m in ours.model_.modules() if isinstance(m, Linear)]):
        np.testing.assert_allclose(coef, mine, rtol=0, atol=1e-7)


def test_the_stopping_rule_is_scikit_learns():
    # With tol larger than any improvement, both stop after n_iter_no_change + 2 epochs: the first sets
    # the best loss, each later one counts as no improvement, and they stop once the count exceeds it.
    X, y = iris()
    params = dict(hidden_layer_sizes=(5,), tol=10.0, n_iter_no_change=3, random_state=0)
    assert MLPClassifier(**params).fit(X, y).n_iter_ == neural_network.MLPClassifier(**params).fit(X, y).n_iter_ == 5


# ---- the solvers ----------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs", "newton", "lm"])
def test_every_solver_fits_iris(solver):
    X, y = iris()
    model = MLPClassifier((4,), solver=solver, max_iter=300 if solver in ("adam", "sgd") else 60,
                          learning_rate_init=0.01, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9 and 1 <= model.n_iter_ == len(model.loss_curve_)
    assert model.loss_curve_[-1] == model.loss_ < model.loss_curve_[0]


def test_newton_refuses_a_network_too_big_for_its_matrices():
    X, y = iris()
    with pytest.raises(ValueError, match="at most 1000 parameters"):
        MLPClassifier((300,), solver="newton").fit(X, y)


# ---- modes and BatchNorm --------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_predict_runs_in_eval_mode_so_one_row_predicts_as_in_a_batch(solver):
    X, y = iris()
    model = MLPClassifier((6,), batch_norm=True, solver=solver, max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X[:1]), model.predict_proba(X)[:1], rtol=1e-12)
    assert model.model_.training                                   # predict gave the mode back


def test_full_batch_solvers_leave_batch_norm_with_the_whole_sets_statistics():
    X, y = iris()
    model = MLPClassifier((6,), batch_norm=True, solver="lbfgs", max_iter=30, random_state=0).fit(X, y)
    linear, batch_norm = model.model_.layers[0], model.model_.layers[1]
    assert isinstance(batch_norm, BatchNorm1d)
    h = linear(X)
    np.testing.assert_allclose(batch_norm.running_mean, h.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(batch_norm.running_var, h.var(axis=0, ddof=1), rtol=1e-12)


def test_batch_norm_is_never_given_a_batch_of_one():
    X, y = iris()
    # 101 samples in batches of 50: the last batch of one joins the one before.
    MLPClassifier((4,), batch_norm=True, batch_size=50, max_iter=2, random_state=0).fit(X[:101], y[:101])
    with pytest.raises(ValueError, match="got 1 sample"):
        MLPRegressor((4,), batch_norm=True).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="batch_size=1"):
        MLPClassifier((4,), batch_norm=True, batch_size=1).fit(X, y)
    model = MLPClassifier((4,), batch_norm=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="got 1 sample"):
        model.partial_fit(X[:1], y[:1])


# ---- partial_fit ----------------------------------------------------------------------------
def test_partial_fit_runs_one_epoch_of_the_same_network_each_call():
    X, y = iris()
    model = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1, 2])
    network = model.model_
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.model_ is network and model.n_iter_ == len(model.loss_curve_) == 4
    with pytest.raises(ValueError, match="labels not in classes"):
        model.partial_fit(X, y + 5)
    with pytest.raises(ValueError, match="differs from those of the first call"):
        model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        model.partial_fit(X[:, :3], y)


def test_partial_fit_exists_only_for_the_stochastic_solvers():
    assert hasattr(MLPRegressor(solver="sgd"), "partial_fit") and not hasattr(MLPRegressor(solver="lm"), "partial_fit")


def test_fit_starts_again_and_reseeds():
    X, y = regression()
    model = MLPRegressor((5,), max_iter=5, random_state=3)
    first = model.fit(X, y).predict(X)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(model.fit(X, y).predict(X), first)
    assert model.n_iter_ == 5


# ---- dropout --------------------------------------------------------------------------------
def test_dropout_trains_and_is_off_when_predicting():
    X, y = iris()
    model = MLPClassifier((16,), dropout=0.2, learning_rate_init=0.01, max_iter=200, random_state=0).fit(X, y)
    assert any(isinstance(m, handnet.layers.Dropout) for m in model.model_.modules())
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))   # eval mode: no randomness
    assert model.score(X, y) > 0.8


def test_dropout_with_a_full_batch_solver_is_refused():
    with pytest.raises(ValueError, match="random"):
        MLPClassifier(dropout=0.5, solver="lbfgs").fit(*iris())


# ---- parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (5, 0)}, "hidden_layer_sizes"), ({"activation": "sigmoid"}, "activation must be"),
    ({"solver": "bfgs"}, "solver must be"), ({"alpha": -1.0}, "alpha"), ({"batch_size": 0}, "batch_size"),
    ({"learning_rate_init": 0.0}, "learning_rate_init"), ({"max_iter": 0}, "max_iter"),
    ({"momentum": 1.5}, "momentum"), ({"dropout": 1.0}, "dropout")])
def test_bad_parameters_are_refused_in_fit_by_name(params, match):
    model = MLPClassifier(**params)                               # __init__ stores them as given
    with pytest.raises(ValueError, match=match):
        model.fit(*iris())


def test_verbose_shows_a_progress_bar(capsys):
    X, y = regression()
    MLPRegressor((3,), max_iter=3, verbose=True).fit(X, y)
    assert "3/3" in capsys.readouterr().err                       # tqdm's count of epochs
    MLPRegressor((3,), max_iter=3).fit(X, y)
    assert "3/3" not in capsys.readouterr().err


def test_max_iter_without_convergence_warns():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        MLPRegressor((3,), max_iter=2).fit(*regression())
