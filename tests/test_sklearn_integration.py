"""handnet.sklearn's estimators inside scikit-learn's machinery (Pipeline, GridSearchCV, cross_val_score,
clone, pickle), and the messages they give for bad input (NaN, inf, a 1-D X, too few samples, unfitted)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from handnet.sklearn import LogisticRegression, MLPClassifier, MLPRegressor, Ridge

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
MLP = {"max_iter": 100, "learning_rate_init": 0.01, "random_state": 0}
CLASSIFIERS = [MLPClassifier((8,), **MLP), LogisticRegression()]
REGRESSORS = [MLPRegressor((8,), **MLP), Ridge()]
ALL = CLASSIFIERS + REGRESSORS
ids = [type(e).__name__ for e in ALL]


def data_for(estimator):
    if estimator in CLASSIFIERS:
        return load_iris(return_X_y=True)
    X, y = make_regression(90, 4, noise=1.0, random_state=0)
    return X, y / y.std()


@pytest.mark.parametrize("estimator", ALL, ids=ids)
def test_in_a_pipeline_after_a_scaler(estimator):
    X, y = data_for(estimator)
    pipeline = make_pipeline(StandardScaler(), estimator).fit(X, y)
    assert pipeline.predict(X).shape == (len(X),) and pipeline.score(X, y) > 0.5


@pytest.mark.parametrize("estimator", ALL, ids=ids)
def test_cross_val_score_gives_one_score_per_fold(estimator):
    X, y = data_for(estimator)
    scores = cross_val_score(make_pipeline(StandardScaler(), estimator), X, y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("estimator, grid", [
    (CLASSIFIERS[0], {"alpha": [1e-4, 1.0], "solver": ["adam", "lbfgs"]}),
    (CLASSIFIERS[1], {"C": [0.01, 1.0]}),
    (REGRESSORS[0], {"hidden_layer_sizes": [(4,), (8,)]}),
    (REGRESSORS[1], {"alpha": [0.1, 10.0]})], ids=ids)
def test_grid_search_fits_every_candidate_and_refits_the_best(estimator, grid):
    X, y = data_for(estimator)
    search = GridSearchCV(estimator, grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == np.prod([len(v) for v in grid.values()])
    assert search.best_params_ in search.cv_results_["params"]
    assert search.best_estimator_.predict(X).shape == (len(X),)


@pytest.mark.parametrize("estimator", ALL, ids=ids)
def test_a_clone_has_the_same_parameters_and_none_of_the_fit(estimator):
    X, y = data_for(estimator)
    fitted = clone(estimator).fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(copy))
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), fitted.predict(X))   # the same seed, the same fit


@pytest.mark.parametrize("estimator", ALL, ids=ids)
def test_a_pickled_estimator_predicts_the_same(estimator):
    X, y = data_for(estimator)
    fitted = clone(estimator).fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.predict(X))


# ---- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", ALL, ids=ids)
@pytest.mark.parametrize("bad, match", [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")])
def test_nan_or_inf_in_x_is_refused_in_fit_and_predict(estimator, bad, match):
    X, y = data_for(estimator)
    X_bad = X.astype(float).copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match=match):
        clone(estimator).fit(X_bad, y)
    with pytest.raises(ValueError, match=match):
        clone(estimator).fit(X, y).predict(X_bad)


@pytest.mark.parametrize("estimator", ALL, ids=ids)
def test_a_1d_x_empty_data_and_an_unfitted_estimator_get_scikit_learns_messages(estimator):
    X, y = data_for(estimator)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        clone(estimator).fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        clone(estimator).fit(X[:0], y[:0])
    with pytest.raises(NotFittedError):
        clone(estimator).predict(X)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4 features"):
        clone(estimator).fit(X, y).predict(X[:, :3])


@pytest.mark.parametrize("estimator", CLASSIFIERS, ids=ids[:2])
def test_a_classifier_refuses_one_class_and_continuous_targets(estimator):
    X, y = data_for(estimator)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clone(estimator).fit(X[:5], y[:5])
    with pytest.raises(ValueError, match="Unknown label type"):
        clone(estimator).fit(X, y + 0.5)
