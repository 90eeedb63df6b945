"""scikit-learn estimators built on handnet: the only part of handnet that imports scikit-learn.

Install it with ``pip install "handnet[sklearn]"``. Every estimator here follows scikit-learn's
protocol, and passes its estimator checks: parameters are stored as given by ``__init__`` and
checked in ``fit``; ``fit(X, y)`` validates the data (``validate_data``), trains from scratch
and returns self; fitted attributes end in ``_``; ``predict`` (and ``predict_proba``,
``score``) refuse an unfitted estimator or X of the wrong width. Their objectives are
scikit-learn's, with the same meaning of ``alpha`` and ``C``, so the answers agree with
scikit-learn's estimators; the derivatives and the solvers are handnet's.

* ``MLPClassifier``, ``MLPRegressor``   networks of handnet layers; solvers adam, sgd, lbfgs, newton, lm
* ``Ridge``                             ``handnet.losses.Ridge``, solved in closed form or by gradient descent
* ``LogisticRegression``                ``handnet.losses.Logistic`` (two classes) or a softmax layer's
                                        ``ModelObjective`` (more), by Newton's method or gradient descent

They work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and ``clone``.
"""

try:
    import sklearn  # noqa: F401  (the top-level package: imports here are absolute)
except ImportError as error:
    raise ImportError('handnet.sklearn needs scikit-learn >= 1.6: pip install "handnet[sklearn]"') from error

from handnet.sklearn.logistic_regression import LogisticRegression
from handnet.sklearn.mlp_classifier import MLPClassifier
from handnet.sklearn.mlp_regressor import MLPRegressor
from handnet.sklearn.ridge import Ridge

__all__ = ["MLPClassifier", "MLPRegressor", "Ridge", "LogisticRegression"]
