"""Training a network: ``fit`` runs mini-batch gradient descent with a progress bar.

One training step on a batch (X_b, y_b) is the whole protocol of handnet in four lines:
    out = model(X_b)                              forward, caching what backward needs
    L   = loss(out, y_b)                          a float
    model.backward_parameters(loss.backward())    writes every parameter's .grad (backward() would
                                                  also compute dL/dX_b, which no one needs here)
    optimizer.step()                              θ ← update(θ, .grad)
``fit`` repeats it over shuffled batches, checks every number it produces for NaN and inf, and
records the loss (and accuracy, for classification: ``loss.accuracy``) of each epoch.
It trains in train mode, evaluates the validation set in eval mode, and leaves every module in
the mode it found it.

Everything that can be checked is checked before the first step, so that a bad sample is never
found half way through training, with the weights and BatchNorm's statistics already moved:
X and the parameters must be finite, and the targets of the training and validation sets must
suit the loss (``loss.check_target``, which names the bad row). The targets' check needs the
shape of the model's output, and ``fit`` finds it without a training step and without touching
the model: it runs one row of X through a deep copy of the model in eval mode (a copy that shares,
rather than copies, the caches of the model's last forward, which may hold far more than the model).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from handnet._checks import all_finite, check_finite, check_int, check_samples
from handnet.evaluation import predict_batches
from handnet.losses.loss import Loss
from handnet.memory import cached_arrays
from handnet.module import Module
from handnet.state import modes
from handnet.optim.optimizer import Optimizer


class TrainingDiverged(FloatingPointError):
    """Training produced NaN or ±inf.

    Attributes: ``epoch`` and ``step`` (1-based) say where (``step`` is None when it was the
    evaluation of the validation set after the epoch); ``history`` holds the epochs completed before.
    """

    def __init__(self, message: str, *, epoch: int, step: int | None, history: History) -> None:
        super().__init__(message)
        self.epoch, self.step, self.history = epoch, step, history


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch.

    Attributes:
        loss: the mean training loss of the epoch: each batch's loss, computed in train mode just
            before that batch's update, averaged with weights = batch sizes (for a loss that is a
            mean over the batch, this is the mean over all N training samples).
        accuracy: the training accuracy measured the same way (classification only, else empty:
            it is recorded when ``loss.accuracy`` gives a number for every batch).
        val_loss: the loss on the whole validation set in eval mode after the epoch (when
            ``validation`` is given, else empty).
        val_accuracy: the validation accuracy, likewise (classification with validation only).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)


def fit(model: Module, loss: Loss, optimizer: Optimizer, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int,
        rng: np.random.Generator | int | None = None, validation: tuple[np.ndarray, np.ndarray] | None = None,
        progress: bool = True, callback: Callable[[int, int, float], None] | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over (X, y) in shuffled mini-batches; return a ``History``.

    Each epoch draws a new permutation of the N samples from ``rng`` (a Generator, or an int seed;
    None draws a fresh unseeded one) and cuts it into batches of ``batch_size``. The last, smaller
    batch is kept, except that a last batch of a single sample is merged into the one before it
    (so that, unless ``batch_size=1``, a batch of one never reaches BatchNorm1d in train mode,
    where it has no variance). The validation set is run in batches of ``batch_size`` too.

    A tqdm bar over the epochs shows the epoch's loss and accuracy (and validation figures);
    ``progress=False`` silences it.

    ``callback(epoch, step, loss)`` (both 1-based; ``loss`` the batch's loss) is called after every
    optimizer step, while each parameter's ``.grad`` still holds that step's gradient: the place
    to record gradient norms or anything else a step produces.

    Raises:
        TrainingDiverged: the model's output, the loss, a gradient or an updated parameter holds
            NaN or ±inf. The message says at which epoch and step; the usual cure is a smaller
            learning rate. (The output is checked before the loss is called, so a non-finite
            output is reported as divergence, not as the loss's refusal of its input.)
        ValueError: a bad argument (named in the message); non-finite X, y or parameters; or a
            target the loss refuses, in the training or the validation set (the message names the
            row). All are raised before the first step, with the model untouched.
    """
    X, y = check_samples(X, y, "fit", "X", "y")
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a Module, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"fit: loss must be a Loss (e.g. SoftmaxCrossEntropy()), got {type(loss).__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"fit: optimizer must have a step() method (e.g. SGD, Adam), got {type(optimizer).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"fit: callback must be callable as callback(epoch, step, loss), got {type(callback).__name__}")
    owned = {id(p) for p in model.parameters()}
    if hasattr(optimizer, "params") and not any(id(p) in owned for p in optimizer.params):
        raise ValueError("fit: the optimizer holds none of the model's parameters; build it from model.parameters()")
    epochs = check_int(epochs, "fit", "epochs")
    batch_size = check_int(batch_size, "fit", "batch_size")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError("fit: validation must be a pair (X_val, y_val)")
        X_val, y_val = check_samples(*validation, "fit", "validation X", "validation y")
    named_parameters = list(model.named_parameters())     # walked once: training changes values, not the list
    for name, p in named_parameters:
        check_finite(p.data, "fit", f"parameter {name!r} (before training)")
    _check_targets(loss, _output_shape(model, X, "X"), y, "y")
    if validation is not None:
        _check_targets(loss, _output_shape(model, X_val, "validation X"), y_val, "validation y")
    rng = np.random.default_rng(rng)
    history = History()
    n = len(X)
    n_steps = len(_batch_bounds(n, batch_size))
    lr = getattr(optimizer, "lr", None)

    def check(values, epoch: int, step: int | None, what: str) -> None:
        """Raise TrainingDiverged, saying where, unless every number in ``values`` is finite."""
        if all_finite(values):
            return
        where = f"epoch {epoch} of {epochs}, " + (f"step {step} of {n_steps}" if step else "validation")
        cure = f"try a smaller learning rate (lr={lr:g} now)" if lr is not None else "try a smaller learning rate"
        raise TrainingDiverged(f"training diverged at {where}: {what}; {cure}", epoch=epoch, step=step,
                               history=history)

    with modes(model, training=True), tqdm(range(1, epochs + 1), desc="epoch", unit="epoch", disable=not progress,
                                            dynamic_ncols=True) as bar:
        for epoch in bar:
            order = rng.permutation(n)
            sum_loss, accuracies = 0.0, []
            for step, (start, stop) in enumerate(_batch_bounds(n, batch_size), start=1):
                idx = order[start:stop]
                X_b, y_b = X[idx], y[idx]
                # numpy would warn at the first overflow; each result is checked right after instead,
                # to stop with an error that says where training diverged.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    out = model(X_b)
                    check(out, epoch, step, "the model's output holds NaN or inf")
                    value = loss(out, y_b)
                    check(value, epoch, step, f"the loss is {value}")
                    model.backward_parameters(loss.backward())
                    for name, p in named_parameters:
                        if p.grad is not None:
                            check(p.grad, epoch, step, f"the gradient of {name!r} holds NaN or inf")
                    optimizer.step()
                    for name, p in named_parameters:
                        check(p.data, epoch, step, f"the update made parameter {name!r} NaN or inf")
                if callback is not None:
                    callback(epoch, step, value)
                sum_loss += value * len(idx)
                accuracies.append((loss.accuracy(out, y_b), len(idx)))
            history.loss.append(sum_loss / n)
            if all(a is not None for a, _ in accuracies):
                history.accuracy.append(sum(a * size for a, size in accuracies) / n)
            if validation is not None:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    out = predict_batches(model, X_val, batch_size)
                check(out, epoch, None, "the model's output on the validation set holds NaN or inf")
                val_loss = loss(out, y_val)
                check(val_loss, epoch, None, f"the loss on the validation set is {val_loss}")
                history.val_loss.append(val_loss)
                val_accuracy = loss.accuracy(out, y_val)
                if val_accuracy is not None:
                    history.val_accuracy.append(val_accuracy)
            bar.set_postfix(_last_figures(history))
    return history


# ---- helpers ----------------------------------------------------------------------------------
def _output_shape(model: Module, X: np.ndarray, name: str) -> tuple[int, ...]:
    """The shape of the model's output on all of X, from its output on X's first row, computed by
    a deep copy in eval mode: no training step, and the model itself (caches, buffers, modes) is
    not touched. Rows do not interact in eval mode, so the other rows give the same shape.

    The copy shares each cache (``cached_arrays``) with the model instead of copying it: after a
    forward on a large batch the caches hold its activations, often more memory than the
    parameters, and the probe's forward binds its layers' cache attributes to new arrays rather
    than writing into the old ones (the layers' rule, see ``handnet.module``). A plain array
    attribute that is not a cache (a constant a module keeps) is shared the same way, and so is
    every parameter's gradient, which a forward never reads. (``deepcopy`` looks every object up
    in its memo, object id -> its copy, before copying it; entering an array as its own copy
    shares it.)"""
    memo = {id(array): array for m in model.modules() for array in cached_arrays(m).values()}
    memo |= {id(p.grad): p.grad for p in model.parameters() if p.grad is not None}
    probe = copy.deepcopy(model, memo).eval()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # only the shape is wanted
        try:
            out = probe(X[:1])
        except ValueError as e:
            raise ValueError(f"fit: the model cannot run on a row of {name}: {e}") from e
    return (len(X),) + np.shape(out)[1:]


def _check_targets(loss: Loss, pred_shape: tuple[int, ...], y: np.ndarray, name: str) -> None:
    """Check all of a set's targets against the loss, for predictions of shape ``pred_shape``."""
    try:
        loss.check_target(pred_shape, y)
    except ValueError as e:
        raise ValueError(f"fit: {name} does not suit the loss: {e}") from e


def _batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """[start, stop) of each batch; a last batch of one sample is merged into the one before
    (unless batches of one were asked for)."""
    starts = list(range(0, n, batch_size))
    if batch_size > 1 and len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return list(zip(starts, starts[1:] + [n]))


def _last_figures(history: History) -> dict[str, str]:
    figures = {"loss": history.loss, "acc": history.accuracy, "val_loss": history.val_loss,
               "val_acc": history.val_accuracy}
    return {name: f"{values[-1]:.4f}" for name, values in figures.items() if values}
