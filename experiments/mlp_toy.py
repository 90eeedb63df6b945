"""Small MLPs on moons, circles and digits: with and without BatchNorm, plain SGD against Adam.

Every one of twelve configurations (moons, circles and digits; with and without BatchNorm; plain
SGD and Adam) ends training at a test accuracy of at least 97% on moons and 95% on circles and
digits, in every repeat; BatchNorm never needs more epochs to first reach that accuracy than the
same network without it; and without BatchNorm, Adam reaches it in fewer epochs than plain SGD.

BatchNorm divides each pre-activation by its batch standard deviation, so the scale of the weights
before it cancels, in the forward pass and in the gradient: every layer sees inputs of unit spread
from the first step, and a fixed learning rate means the same thing in every layer and throughout
training (``backprop_layers`` shows the gradients this keeps alive). Adam rescales each
coordinate's step by the running root mean square of its gradient, a per-parameter version of the
same cure, so without BatchNorm it is the faster optimizer; with BatchNorm both are rescaled, and
which is first varies from seed to seed, which is why that is not claimed. The test set is only
measured: it draws the curves and counts the epochs to the target, and chooses nothing (no early
stopping, the final model is judged).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from tqdm import tqdm

import handnet as hn
from experiments._report import Check, Report, paragraphs
from handnet import data
from handnet.layers import BatchNorm1d, Linear, ReLU, SoftmaxCrossEntropy
from handnet.optim import SGD, Adam

NAME = "mlp_toy"
DATASETS = ["moons", "circles", "digits"]
TARGET = {"moons": 0.97, "circles": 0.95, "digits": 0.95}   # test accuracy every run must end with
N_SAMPLES = 1000                                             # moons and circles (digits has its 1797)
HIDDEN = {"moons": [32, 32], "circles": [32, 32], "digits": [64]}
EPOCHS = {"moons": 40, "circles": 40, "digits": 20}
EPOCHS_QUICK = {"moons": 25, "circles": 25, "digits": 10}
REPEATS, REPEATS_QUICK = 3, 1                                # seeds seed, seed + 1, …
BATCH_SIZE = 32
# Plain SGD (no momentum). On digits 0.05, not 0.1: at 0.1 the BatchNorm net's test accuracy
# swings by several points from one epoch to the next, so where it ends is luck.
SGD_LR = {"moons": 0.1, "circles": 0.1, "digits": 0.05}
ADAM_LR = 0.005                                              # Adam's other settings are torch's defaults
OPTIMIZERS = ["SGD", "Adam"]
GRID = 200                                                   # decision-boundary grid: GRID × GRID points

COLOURS = {(False, "SGD"): "tab:blue", (False, "Adam"): "tab:orange",
           (True, "SGD"): "tab:green", (True, "Adam"): "tab:red"}


def load(name: str, seed: int) -> data.Dataset:
    """The data set ``name`` drawn and split with ``seed``, standardised on its training split."""
    if name == "digits":
        return data.digits(seed=seed)
    return getattr(data, name)(N_SAMPLES, seed=seed)


def make_mlp(sizes: list[int], batchnorm: bool, rng: np.random.Generator) -> hn.Sequential:
    """Linear → [BatchNorm1d] → ReLU for each hidden size, then a Linear to the logits.

    A Linear followed by BatchNorm1d has no bias: BatchNorm subtracts the batch mean, which
    cancels any bias (its gradient is zero), and β plays its part.
    """
    layers = []
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        hidden = i < len(sizes) - 2
        layers.append(Linear(d, m, bias=not (batchnorm and hidden), rng=rng))
        if hidden:
            layers += [BatchNorm1d(m), ReLU()] if batchnorm else [ReLU()]
    return hn.Sequential(*layers)


def make_optimizer(name: str, params: list[hn.Parameter], dataset: str) -> SGD | Adam:
    return SGD(params, lr=SGD_LR[dataset]) if name == "SGD" else Adam(params, lr=ADAM_LR)


def epochs_to_reach(accuracies: list[float], target: float) -> int | None:
    """The first epoch (1-based) after which the accuracy is ≥ target, or None if it never is."""
    hits = [epoch for epoch, acc in enumerate(accuracies, start=1) if acc >= target]
    return hits[0] if hits else None


def no_later(a: int | None, b: int | None) -> bool:
    """Epoch count a is ≤ b, where None (never reached) is later than any epoch."""
    return b is None or (a is not None and a <= b)


def decision_grid(model: hn.Module, ds: data.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, predicted class) on a GRID × GRID grid covering the data with a margin."""
    X = np.concatenate([ds.X_train, ds.X_test])
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
    points = np.column_stack([xx.ravel(), yy.ravel()])                      # (GRID², 2)
    classes = hn.predict(model, points, batch_size=4096).argmax(axis=1)
    return xx, yy, classes.reshape(xx.shape)


def train(name: str, bn: bool, opt: str, seed: int, epochs: int) -> tuple[hn.Sequential, data.Dataset, dict]:
    """One configuration, one seed: the trained model, its data, and its per-epoch curves."""
    ds = load(name, seed)
    model = make_mlp([ds.n_features, *HIDDEN[name], ds.n_classes], bn, np.random.default_rng(seed))
    history = hn.fit(model, SoftmaxCrossEntropy(), make_optimizer(opt, model.parameters(), name), ds.X_train,
                     ds.y_train, epochs=epochs, batch_size=BATCH_SIZE, rng=seed, validation=(ds.X_test, ds.y_test),
                     progress=False)
    return model, ds, dict(train_loss=history.loss, train_accuracy=history.accuracy, test_loss=history.val_loss,
                           test_accuracy=history.val_accuracy)


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    epochs = EPOCHS_QUICK if quick else EPOCHS
    seeds = [seed + r for r in range(REPEATS_QUICK if quick else REPEATS)]
    configs = [(name, bn, opt) for name in DATASETS for bn in (False, True) for opt in OPTIMIZERS]
    by, boundaries = {}, {}
    with tqdm(total=len(configs) * len(seeds), desc=NAME, unit="run", leave=False) as bar:
        for name, bn, opt in configs:
            run = dict(dataset=name, batchnorm=bn, optimizer=opt, lr=SGD_LR[name] if opt == "SGD" else ADAM_LR,
                       epochs=epochs[name], final_test_accuracy=[], epochs_to_target=[], histories=[])
            for s in seeds:
                model, ds, history = train(name, bn, opt, s, epochs[name])
                run["final_test_accuracy"].append(history["test_accuracy"][-1])   # the model after the last epoch
                run["epochs_to_target"].append(epochs_to_reach(history["test_accuracy"], TARGET[name]))
                run["histories"].append(history)
                if s == seeds[0] and ds.n_features == 2:
                    boundaries[name, bn, opt] = (decision_grid(model, ds), ds, history["test_accuracy"][-1])
                bar.update()
            by[name, bn, opt] = run

    lowest = {n: min(min(by[n, bn, opt]["final_test_accuracy"]) for bn in (False, True) for opt in OPTIMIZERS)
              for n in DATASETS}
    bn_pairs = [(n, opt) for n in DATASETS for opt in OPTIMIZERS
                if all(no_later(b, a) for a, b in zip(by[n, False, opt]["epochs_to_target"],
                                                      by[n, True, opt]["epochs_to_target"]))]
    adam_first = [n for n in DATASETS if all(a is not None and not no_later(s_, a) for s_, a in
                                             zip(by[n, False, "SGD"]["epochs_to_target"],
                                                 by[n, False, "Adam"]["epochs_to_target"]))]
    checks = [
        Check("every configuration ends at or above its target test accuracy, in every repeat",
              all(lowest[n] >= TARGET[n] for n in DATASETS),
              "lowest: " + ", ".join(f"{n} {lowest[n]:.3f} (target {TARGET[n]:.2f})" for n in DATASETS)),
        Check("BatchNorm never needs more epochs to the target than the same net without it",
              len(bn_pairs) == len(DATASETS) * len(OPTIMIZERS),
              f"in {len(bn_pairs)} of {len(DATASETS) * len(OPTIMIZERS)} (data set, optimizer) pairs, every seed"),
        Check("without BatchNorm, Adam reaches the target in fewer epochs than plain SGD",
              len(adam_first) == len(DATASETS), f"on {len(adam_first)} of {len(DATASETS)} data sets, every seed"),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Small MLPs on moons, circles and digits: BatchNorm, SGD and Adam", claim=claim,
                    checks=checks, why=why,
                    setup=f"moons and circles: {N_SAMPLES} points, MLP 2 → {' → '.join(map(str, HIDDEN['moons']))} "
                    "→ 2; "
                    f"digits: 1797 8×8 images, MLP 64 → {HIDDEN['digits'][0]} → 10; 75% for training, "
                    "standardised. Hidden layers are Linear → ReLU, or Linear (no bias) → BatchNorm1d → ReLU; "
                    f"softmax cross-entropy; batches of {BATCH_SIZE}; epochs "
                    f"{', '.join(f'{epochs[n]} ({n})' for n in DATASETS)}. Plain SGD (no momentum), lr "
                    f"{', '.join(f'{SGD_LR[n]:g} ({n})' for n in DATASETS)}; Adam, lr {ADAM_LR:g}. "
                    f"Seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}, each drawing the data, "
                    "the split, the weights and the batch order. *Epochs to target*: the first epoch after which "
                    "the test accuracy reached the target; one number per seed.")

    def per_seed(values: list, spec: str) -> str:
        return " / ".join("never" if v is None else format(v, spec) for v in values)

    report.table(["data set", "BatchNorm", "optimizer", "lr", "final test accuracy", "epochs to target"],
                 [[r["dataset"], r["batchnorm"], r["optimizer"], r["lr"], per_seed(r["final_test_accuracy"], ".3f"),
                   per_seed(r["epochs_to_target"], "d")] for r in by.values()])
    report.figure(curves_figure(by), "curves.png",
                  f"Loss and accuracy per epoch, training (solid: `hn.fit`'s running figures, in train mode) and "
                  f"test (dashed: after the epoch, in eval mode), seed {seeds[0]}")
    report.figure(boundaries_figure(boundaries), "boundaries.png",
                  f"Predicted class over the plane after training (seed {seeds[0]}), training points as dots and "
                  "test points as crosses")
    metrics = dict(quick=quick, seeds=seeds, targets=TARGET, epochs=epochs, batch_size=BATCH_SIZE, sgd_lr=SGD_LR,
                   adam_lr=ADAM_LR, runs=list(by.values()), min_final_test_accuracy=lowest)
    return report.write(out_dir, metrics)


# ---- plots ----------------------------------------------------------------------------------------
def label(bn: bool, opt: str) -> str:
    return f"{'BatchNorm' if bn else 'plain'}, {opt}"


def curves_figure(by: dict) -> plt.Figure:
    """One row per data set: loss (log scale) and accuracy per epoch, a colour per configuration,
    solid training, dashed test (the first seed)."""
    fig, axes = plt.subplots(len(DATASETS), 2, figsize=(11, 3.6 * len(DATASETS)), squeeze=False)
    for (ax_loss, ax_acc), name in zip(axes, DATASETS):
        histories = [by[name, bn, opt]["histories"][0] for bn in (False, True) for opt in OPTIMIZERS]
        for h, key in zip(histories, COLOURS):
            epochs = np.arange(1, len(h["train_loss"]) + 1)
            for ax, what in ((ax_loss, "loss"), (ax_acc, "accuracy")):
                ax.plot(epochs, h[f"train_{what}"], color=COLOURS[key])
                ax.plot(epochs, h[f"test_{what}"], color=COLOURS[key], ls="--")
        ax_loss.set(yscale="log", xlabel="epoch", ylabel="cross-entropy (log scale)", title=f"{name}: loss")
        ax_acc.axhline(TARGET[name], color="k", lw=0.8, ls=":")
        lowest = min(min(h["train_accuracy"] + h["test_accuracy"]) for h in histories)
        ax_acc.set_ylim(max(0.0, min(lowest, TARGET[name]) - 0.02), 1.005)
        ax_acc.set(xlabel="epoch", ylabel="accuracy", title=f"{name}: accuracy (dotted: target {TARGET[name]:.0%})")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [Line2D([], [], color=COLOURS[key], label=label(*key)) for key in COLOURS]
    handles += [Line2D([], [], color="grey", label="training"), Line2D([], [], color="grey", ls="--", label="test")]
    axes[0, 1].legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def boundaries_figure(boundaries: dict) -> plt.Figure:
    """One panel per (2-D data set, configuration): the predicted class as a background, the points on top."""
    names = list(dict.fromkeys(name for name, _, _ in boundaries))
    keys = [(bn, opt) for bn in (False, True) for opt in OPTIMIZERS]
    fig, axes = plt.subplots(len(names), len(keys), figsize=(3.2 * len(keys), 3.2 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        for j, (bn, opt) in enumerate(keys):
            (xx, yy, classes), ds, accuracy = boundaries[name, bn, opt]
            ax = axes[i, j]
            ax.contourf(xx, yy, classes, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
            ax.contour(xx, yy, classes, levels=[0.5], colors="k", linewidths=0.8)
            for X, y, marker in ((ds.X_train, ds.y_train, "."), (ds.X_test, ds.y_test, "x")):
                ax.scatter(X[:, 0], X[:, 1], c=np.where(y == 1, "tab:orange", "tab:blue"), marker=marker, s=6,
                           linewidths=0.6)
            ax.set_title(f"{name}: {label(bn, opt)}\ntest accuracy {accuracy:.3f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
