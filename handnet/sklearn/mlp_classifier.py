"""MLPClassifier: scikit-learn's multi-layer perceptron classifier, on handnet layers."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from handnet.evaluation import predict
from handnet.losses import BCEWithLogitsLoss, SoftmaxCrossEntropy
from handnet.losses.loss import Loss
from handnet.sklearn._classes import LogitPredictions
from handnet.sklearn.mlp import BaseMLP


class MLPClassifier(LogitPredictions, ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier with scikit-learn's interface, parameters and objective.

    Output and loss, as scikit-learn's: with two classes one logit z and the mean binary
    cross-entropy of σ(z) (``BCEWithLogitsLoss``); with C > 2 classes C logits and the mean
    softmax cross-entropy (``SoftmaxCrossEntropy``). Both reduce by the mean over the batch, so
    the L2 term α/(2b)·Σ‖W‖² is scikit-learn's (see ``BaseMLP``). ``predict_proba`` is
    softmax([0, z]) = (1 − σ(z), σ(z)) with two classes, softmax(z) otherwise, and ``predict``
    its argmax, so the two always agree.

    Parameters: those of ``BaseMLP`` (scikit-learn's names and defaults; ``solver`` also takes
    "newton" and "lm" for small networks; ``batch_norm`` and ``dropout`` are handnet's).
    Attributes: ``classes_``, ``n_features_in_``, ``n_outputs_`` (1 or C), ``model_`` (the trained
    ``handnet.Sequential``), ``loss_`` and ``loss_curve_`` (per epoch for adam and sgd, per
    update for the full-batch solvers), ``best_loss_``, ``n_iter_``.
    """

    def fit(self, X, y) -> MLPClassifier:
        """Train a new network on X (N, D) and labels y (N,) for up to max_iter epochs (or updates)."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self._set_classes(np.unique(y))
        return self._fit(X, y, partial=False)

    @available_if(BaseMLP._is_stochastic)
    def partial_fit(self, X, y, classes=None) -> MLPClassifier:
        """One epoch over (X, y); ``classes`` (every label there will be) is needed on the first call."""
        self._check_params()
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("MLPClassifier: classes must be passed on the first call to partial_fit")
            self._set_classes(np.unique(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"MLPClassifier: classes={classes!r} differs from those of the first call, "
                             f"{self.classes_!r}")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"MLPClassifier: y holds labels not in classes: {unknown!r}")
        return self._fit(X, y, partial=True)

    def _set_classes(self, classes: np.ndarray) -> None:
        if len(classes) < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes, but the data contains only "
                             f"one class: {classes[0]!r}")
        self.classes_ = classes
        self.n_outputs_ = 1 if len(classes) == 2 else len(classes)

    def _loss(self) -> Loss:
        return BCEWithLogitsLoss() if self.n_outputs_ == 1 else SoftmaxCrossEntropy()

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """Labels as the loss takes them: (N, 1) of 0.0/1.0 for two classes, indices 0..C−1 (N,) otherwise."""
        index = np.searchsorted(self.classes_, y)
        return index.astype(np.float64)[:, None] if self.n_outputs_ == 1 else index

    def _logits(self, X) -> np.ndarray:
        """(N, C) logits in eval mode; with two classes (0, z), whose softmax is (1 − σ(z), σ(z))."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = predict(self.model_, X)
        return np.hstack([np.zeros_like(z), z]) if self.n_outputs_ == 1 else z

