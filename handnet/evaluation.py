"""Running a network: ``predict`` and ``evaluate`` in eval mode, in batches, and when accuracy applies.

Classification. ``evaluate`` (and ``fit``) report an accuracy when the loss and targets say the
task is classification, by this rule and no other (``accuracy_rule``):
  * ``SoftmaxCrossEntropy`` with integer labels of shape (N,): the predicted class is argmax of
    the logits, and accuracy is the fraction of samples predicted right;
  * ``BCEWithLogitsLoss`` with targets that are all exactly 0 or 1: the prediction is 1 where the
    logit is > 0, and accuracy is the fraction of target entries predicted right.

Modes. ``predict`` and ``evaluate`` run in eval mode (BatchNorm1d uses its running statistics)
and leave every module in the mode it found it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from handnet._checks import check_finite, check_int
from handnet.layers.softmax_cross_entropy import SoftmaxCrossEntropy
from handnet.loss import Loss
from handnet.losses.bce_with_logits import BCEWithLogitsLoss
from handnet.module import Module


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
    accuracy = accuracy_rule(loss, y)
    if accuracy is not None:
        figures["accuracy"] = accuracy(out, y)
    return figures


# ---- shared with fit -------------------------------------------------------------------------
def predict_batches(model: Module, X: np.ndarray, batch_size: int) -> np.ndarray:
    """``predict`` without the argument checks: outputs of row batches in eval mode, concatenated."""
    with modes(model, training=False):
        return np.concatenate([model(X[start:start + batch_size]) for start in range(0, len(X), batch_size)])


def accuracy_rule(loss: Loss, y: np.ndarray) -> Callable[[np.ndarray, np.ndarray], float] | None:
    """The accuracy function for (loss, targets) by the rule in the module docstring, or None."""
    if isinstance(loss, SoftmaxCrossEntropy) and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return lambda logits, labels: float(np.mean(np.argmax(logits, axis=1) == labels))
    if isinstance(loss, BCEWithLogitsLoss) and np.all((y == 0) | (y == 1)):
        return lambda logits, targets: float(np.mean((logits > 0) == (targets == 1)))
    return None


@contextmanager
def modes(model: Module, training: bool) -> Iterator[None]:
    """Put every module in train or eval mode; afterwards give each back the mode it had."""
    before = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for m, mode in before:
            m.training = mode


def check_samples(X, y, who: str, x_name: str, y_name: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """X (and y, unless ``y_name`` is None) as arrays: at least one row, real and finite, one y per row."""
    X = np.asarray(X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"{who}: {x_name} must have shape (N, D) with one row per sample and N ≥ 1, got shape "
                         f"{X.shape} (reshape a single feature to (N, 1))")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{who}: {x_name} must be an array of real numbers, got dtype {X.dtype}")
    check_finite(X, who, x_name)
    if y_name is None:
        return X, None
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{who}: {y_name} must have one entry per row of {x_name} ({len(X)}), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        check_finite(y, who, y_name)
    return X, y
