"""What the two classifiers share: predictions from the logits of each class."""

from __future__ import annotations

import numpy as np

from handnet.functional import log_softmax, softmax


class LogitPredictions:
    """``predict``, ``predict_proba`` and ``predict_log_proba`` from ``self._logits(X)`` (N, K).

    The logits of K classes, in the order of ``classes_`` (two classes: (0, z)), are turned into
    probabilities by softmax, and into their logs by log-sum-exp, finite where a probability
    rounds to 0. ``_logits`` must check that the estimator is fitted before ``classes_`` is read.
    """

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row of X (N, D): shape (N,), labels from classes_."""
        index = np.argmax(self._logits(X), axis=1)             # checks that we are fitted, before classes_
        return self.classes_[index]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, K), columns in the order of classes_."""
        return softmax(self._logits(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """log predict_proba(X), by log-sum-exp."""
        return log_softmax(self._logits(X))
