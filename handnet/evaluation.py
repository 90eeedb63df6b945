"""Running a network: ``predict`` and ``evaluate`` in eval mode, in batches.

Classification. ``evaluate`` (and ``fit``) report an accuracy when the loss says the task is
classification: ``loss.accuracy(pred, target)`` returns a number (``SoftmaxCrossEntropy`` with
integer labels: argmax of the logits; ``BCEWithLogitsLoss`` with targets all 0 or 1: the sign of
the logit), and None otherwise.

Modes. ``predict`` and ``evaluate`` run in eval mode (BatchNorm1d uses its running statistics)
and leave every module in the mode it found it.
"""

from __future__ import annotations

import numpy as np

from handnet._checks import check_int, check_samples
from handnet.losses.loss import Loss
from handnet.module import Module
from handnet.state import modes


def predict(model: Module, X: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """The model's output on X, computed in eval mode in batches of ``batch_size`` rows: shape (N, ...)."""
    if not isinstance(model, Module):
        raise TypeError(f"predict: model must be a Module, got {type(model).__name__}")
    X = check_samples(X, None, "predict", "X", None)[0]
    return predict_batches(model, X, check_int(batch_size, "predict", "batch_size"))


def evaluate(model: Module, loss: Loss, X: np.ndarray, y: np.ndarray, *, batch_size: int = 256) -> dict[str, float]:
    """The loss on (X, y), and the accuracy for classification, in eval mode.

    Returns ``{"loss": L}`` or ``{"loss": L, "accuracy": a}``. The outputs are computed in batches
    of ``batch_size`` rows and the loss is then taken once on all N of them, so L is exactly
    ``loss(predict(model, X), y)`` whatever the loss's reduction.
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"evaluate: loss must be a Loss, got {type(loss).__name__}")
    X, y = check_samples(X, y, "evaluate", "X", "y")
    out = predict(model, X, batch_size=batch_size)
    figures = {"loss": loss(out, y)}
    accuracy = loss.accuracy(out, y)
    if accuracy is not None:
        figures["accuracy"] = accuracy
    return figures


# ---- shared with fit -------------------------------------------------------------------------
def predict_batches(model: Module, X: np.ndarray, batch_size: int) -> np.ndarray:
    """``predict`` without the argument checks: outputs of row batches in eval mode, concatenated."""
    with modes(model, training=False):
        return np.concatenate([model(X[start:start + batch_size]) for start in range(0, len(X), batch_size)])
