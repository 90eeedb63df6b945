"""Small MLPs on moons, circles and digits: with and without BatchNorm, plain SGD against Adam.

Every one of twelve configurations (three data sets, with and without BatchNorm, plain SGD and
Adam) ends training with a test accuracy of at least 97% on moons, 95% on circles and 95% on
digits, in every repeat. In every repeat, BatchNorm never needs more epochs to first reach that
accuracy than the same network without it, whichever the optimizer; and without BatchNorm, Adam
reaches it in fewer epochs than plain SGD on every data set. (With BatchNorm the two optimizers
are close and which one is first varies; that is reported, not claimed.)

A repeat is one seed: it draws the data set and its split, the initial weights and the order of
the batches. The test set is evaluated after every epoch, to draw the curves and count the epochs
to the target; nothing is chosen by it during training (no early stopping: the final model is
the one judged).
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from tqdm import tqdm

import handnet as hn
from experiments._report import Report
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


def median_epochs(run: dict) -> float:
    """The median of a run's epochs to target over its seeds (inf if it never reached it in most)."""
    return float(np.median([np.inf if e is None else e for e in run["epochs_to_target"]]))


def ratio(a: float, b: float) -> float:
    """a / b for epoch counts, nan when either is inf (never reached): no speed-up can be read off."""
    return a / b if np.isfinite(a) and np.isfinite(b) else float("nan")


def batchnorm_effect(by: dict, name: str) -> dict:
    """On one data set, from the median epochs to target: BatchNorm's speed-up for each optimizer
    (median without / median with), and the gap between the optimizers (SGD's median / Adam's)
    without and with BatchNorm. The gap with BatchNorm is the gap without, times Adam's speed-up
    over SGD's: it narrows exactly when BatchNorm speeds SGD up more than Adam."""
    median = {(bn, opt): median_epochs(by[name, bn, opt]) for bn in (False, True) for opt in OPTIMIZERS}
    speedup = {opt: ratio(median[False, opt], median[True, opt]) for opt in OPTIMIZERS}
    gap = {bn: ratio(median[bn, "SGD"], median[bn, "Adam"]) for bn in (False, True)}
    return dict(dataset=name, median_epochs={f"{'BatchNorm' if bn else 'plain'} {opt}": m
                                             for (bn, opt), m in median.items()},
                batchnorm_speedup_sgd=speedup["SGD"], batchnorm_speedup_adam=speedup["Adam"],
                gap_without_batchnorm=gap[False], gap_with_batchnorm=gap[True],
                gap_narrows=bool(gap[True] < gap[False]), gap_widens=bool(gap[True] > gap[False]))


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


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    epochs = EPOCHS_QUICK if quick else EPOCHS
    seeds = [seed + r for r in range(REPEATS_QUICK if quick else REPEATS)]
    configs = [(name, bn, opt) for name in DATASETS for bn in (False, True) for opt in OPTIMIZERS]
    ce = SoftmaxCrossEntropy()

    # ---- train every configuration once per seed -------------------------------------------------
    runs, boundaries = [], {}
    start = time.perf_counter()
    with tqdm(total=len(configs) * len(seeds), desc=NAME, unit="run", leave=False) as bar:
        for name, bn, opt in configs:
            run = dict(dataset=name, batchnorm=bn, optimizer=opt, lr=SGD_LR[name] if opt == "SGD" else ADAM_LR,
                       epochs=epochs[name], seeds=seeds, target=TARGET[name],
                       final_test_accuracy=[], epochs_to_target=[], histories=[])
            for s in seeds:
                ds = load(name, s)
                model = make_mlp([ds.n_features, *HIDDEN[name], ds.n_classes], bn, np.random.default_rng(s))
                history = hn.fit(model, ce, make_optimizer(opt, model.parameters(), name), ds.X_train, ds.y_train,
                                 epochs=epochs[name], batch_size=BATCH_SIZE, rng=s,
                                 validation=(ds.X_test, ds.y_test), progress=False)
                run["final_test_accuracy"].append(hn.evaluate(model, ce, ds.X_test, ds.y_test)["accuracy"])
                run["epochs_to_target"].append(epochs_to_reach(history.val_accuracy, TARGET[name]))
                run["histories"].append(dict(train_loss=history.loss, train_accuracy=history.accuracy,
                                             test_loss=history.val_loss, test_accuracy=history.val_accuracy))
                if s == seeds[0] and ds.n_features == 2:
                    boundaries[name, bn, opt] = (decision_grid(model, ds), ds, run["final_test_accuracy"][-1])
                bar.update()
            run["reaches_target"] = min(run["final_test_accuracy"]) >= TARGET[name]
            runs.append(run)
    seconds = time.perf_counter() - start
    by = {(r["dataset"], r["batchnorm"], r["optimizer"]): r for r in runs}

    # ---- the comparisons, seed by seed -----------------------------------------------------------
    comparisons = []
    for name in DATASETS:
        for opt in OPTIMIZERS:   # does BatchNorm ever make reaching the target slower?
            without, with_bn = by[name, False, opt]["epochs_to_target"], by[name, True, opt]["epochs_to_target"]
            comparisons.append(dict(dataset=name, question=f"{opt}: BatchNorm no slower than without",
                                    claimed=True, first=with_bn, second=without,
                                    holds=all(no_later(b, a) for a, b in zip(without, with_bn))))
        for bn in (False, True):  # is Adam faster than SGD?
            sgd, adam = by[name, bn, "SGD"]["epochs_to_target"], by[name, bn, "Adam"]["epochs_to_target"]
            comparisons.append(dict(dataset=name, question=f"{'with' if bn else 'without'} BatchNorm: Adam faster "
                                    "than SGD", claimed=not bn, first=adam, second=sgd,
                                    holds=all(a is not None and not no_later(s_, a) for s_, a in zip(sgd, adam))))
    all_reach = all(r["reaches_target"] for r in runs)
    bn_no_slower = all(c["holds"] for c in comparisons if c["claimed"] and "BatchNorm no slower" in c["question"])
    adam_faster = all(c["holds"] for c in comparisons if c["claimed"] and "Adam faster" in c["question"])
    holds = all_reach and bn_no_slower and adam_faster

    # ---- the report ------------------------------------------------------------------------------
    report = Report(NAME, "Small MLPs on moons, circles and digits: BatchNorm, SGD and Adam",
                    claim=__doc__.split("\n\n")[1])
    report.text(
        f"**What was run{' (quick mode)' if quick else ''}.** moons and circles: {N_SAMPLES} points (noise 0.1), "
        f"75% for training; MLP 2 → {' → '.join(map(str, HIDDEN['moons']))} → 2. digits: 1797 8×8 images, 75% "
        f"for training; MLP 64 → {HIDDEN['digits'][0]} → 10. Hidden layers are Linear → ReLU, or Linear (no "
        "bias) → BatchNorm1d → ReLU. Loss: softmax cross-entropy. Batches of "
        f"{BATCH_SIZE}; epochs: {', '.join(f'{n} {epochs[n]}' for n in DATASETS)}. Plain SGD (no momentum) with "
        f"lr {', '.join(f'{SGD_LR[n]:g} ({n})' for n in DATASETS)}; Adam with lr {ADAM_LR:g}, β = (0.9, 0.999). "
        f"Seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}: each draws the data and split, the "
        "weights and the batch order. "
        f"Targets: {', '.join(f'{n} ≥ {TARGET[n]:.0%}' for n in DATASETS)} test accuracy. "
        f"Training time, all {len(runs) * len(seeds)} runs: {seconds:.1f} s.")

    def per_seed(values: list, spec: str = ".3f") -> str:
        return " / ".join("never" if v is None else format(v, spec) if isinstance(v, float) else str(v) for v in values)

    report.text("### Final test accuracies\n\nOne number per seed; *epochs to target* is the first epoch after "
                "which the test accuracy reached the target.")
    report.table(["data set", "BatchNorm", "optimizer", "lr", "final test accuracy", "≥ target", "epochs to target",
                  "final training loss"],
                 [[r["dataset"], r["batchnorm"], r["optimizer"], r["lr"], per_seed(r["final_test_accuracy"]),
                   r["reaches_target"], per_seed(r["epochs_to_target"]),
                   per_seed([h["train_loss"][-1] for h in r["histories"]], ".2g")] for r in runs])

    report.text("### Which reaches the target first\n\nEpochs to target, seed by seed (*first* against *second* "
                "as the question names them). Only the rows marked *claimed* are part of the claim.")
    report.table(["data set", "question", "epochs (first)", "epochs (second)", "claimed", "holds in every seed"],
                 [[c["dataset"], c["question"], per_seed(c["first"]), per_seed(c["second"]), c["claimed"], c["holds"]]
                  for c in comparisons])
    with_bn = [c for c in comparisons if not c["claimed"]]
    effects = [batchnorm_effect(by, n) for n in DATASETS]
    narrows = [e["dataset"] for e in effects if e["gap_narrows"]]
    widens = [e["dataset"] for e in effects if e["gap_widens"]]
    report.text(f"With BatchNorm, Adam was first in every seed on {sum(c['holds'] for c in with_bn)} of "
                f"{len(with_bn)} data sets ({', '.join(c['dataset'] for c in with_bn if c['holds']) or 'none'}); "
                "elsewhere SGD tied with it or was first in at least one seed.")
    report.text("### What BatchNorm does to each optimizer\n\nFrom the median over seeds of the epochs to "
                "target (inf: not reached in most seeds). *BatchNorm's speed-up* is the median without "
                "BatchNorm over the median with it (above 1: faster with). The *gap* is SGD's median over "
                "Adam's (1: none; above 1: Adam first). The gap with BatchNorm is the gap without times Adam's "
                "speed-up over SGD's, so it narrows exactly where BatchNorm speeds up plain SGD more than Adam. "
                "Epoch counts are whole numbers, and small ones: a ratio of 2 to 1 is one epoch's difference.")
    report.table(["data set", "median epochs: plain SGD", "plain Adam", "BatchNorm SGD", "BatchNorm Adam",
                  "BatchNorm's speed-up, SGD", "BatchNorm's speed-up, Adam", "gap SGD/Adam, plain",
                  "gap, with BatchNorm"],
                 [[e["dataset"], *e["median_epochs"].values(), e["batchnorm_speedup_sgd"],
                   e["batchnorm_speedup_adam"], e["gap_without_batchnorm"], e["gap_with_batchnorm"]]
                  for e in effects])
    same = [e["dataset"] for e in effects if e["dataset"] not in narrows + widens]   # equal, or a ratio is nan
    report.text("BatchNorm narrowed the gap on every data set: it sped up plain SGD more than Adam. "
                "(This is observed, not claimed.)" if len(narrows) == len(effects) else
                f"BatchNorm narrowed the gap on {len(narrows)} of {len(effects)} data sets "
                f"({', '.join(narrows) or 'none'}) and widened it on {len(widens)} ({', '.join(widens) or 'none'})"
                + (f"; on {', '.join(same)} it was unchanged or could not be measured" if same else "")
                + ". So these runs do not show BatchNorm helping plain SGD more than Adam throughout; "
                "that is not claimed.")
    report.text("The training curves are `hn.fit`'s running figures: each batch's loss and accuracy measured "
                "just before its update, in train mode, so with BatchNorm they use the batch's own statistics "
                "and include the noise that brings. The test curves are the model after the epoch, in eval mode "
                "(BatchNorm with its running statistics).")

    for name in DATASETS:
        report.figure(curves_figure(by, name, seeds[0]), f"curves_{name}.png",
                      f"{name}: loss and accuracy per epoch, training (solid) and test (dashed), seed {seeds[0]}")
    report.figure(boundaries_figure(boundaries), "boundaries.png",
                  f"Predicted class over the plane after training (seed {seeds[0]}), training points as dots and "
                  "test points as crosses; the title gives the final test accuracy")

    worst = {n: min(min(by[n, bn, opt]["final_test_accuracy"]) for bn in (False, True) for opt in OPTIMIZERS)
             for n in DATASETS}
    report.verdict(holds, "Lowest final test accuracy over configurations and seeds: "
                   + ", ".join(f"{n} {worst[n]:.3f} (target {TARGET[n]:.2f})" for n in DATASETS)
                   + f". BatchNorm no slower in every seed: {'yes' if bn_no_slower else 'NO'}; Adam faster than SGD "
                   f"without BatchNorm in every seed: {'yes' if adam_faster else 'NO'}.")
    metrics = dict(quick=quick, seeds=seeds, seconds=seconds, targets=TARGET, n_samples=N_SAMPLES, hidden=HIDDEN,
                   epochs=epochs, batch_size=BATCH_SIZE, sgd_lr=SGD_LR, adam_lr=ADAM_LR, runs=runs,
                   comparisons=comparisons, batchnorm_effect=effects, min_final_test_accuracy=worst,
                   all_reach_target=all_reach,
                   batchnorm_never_slower=bn_no_slower, adam_faster_without_batchnorm=adam_faster,
                   boundary_test_accuracy={f"{n} {'BatchNorm' if bn else 'plain'} {opt}":
                                           by[n, bn, opt]["final_test_accuracy"][0] for n, bn, opt in boundaries})
    return report.write(out_dir, metrics)


# ---- plots ----------------------------------------------------------------------------------------
def label(bn: bool, opt: str) -> str:
    return f"{'BatchNorm' if bn else 'plain'}, {opt}"


def curves_figure(by: dict, name: str, seed: int) -> plt.Figure:
    """Loss (log scale) and accuracy per epoch: one colour per configuration, solid train, dashed test."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for bn in (False, True):
        for opt in OPTIMIZERS:
            h = by[name, bn, opt]["histories"][0]
            epochs = np.arange(1, len(h["train_loss"]) + 1)
            c = COLOURS[bn, opt]
            ax_loss.plot(epochs, h["train_loss"], color=c)
            ax_loss.plot(epochs, h["test_loss"], color=c, ls="--")
            ax_acc.plot(epochs, h["train_accuracy"], color=c)
            ax_acc.plot(epochs, h["test_accuracy"], color=c, ls="--")
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title=f"{name}: loss")
    ax_acc.axhline(TARGET[name], color="k", lw=0.8, ls=":")
    lowest = min(min(h["train_accuracy"] + h["test_accuracy"])
                 for h in (by[name, bn, opt]["histories"][0] for bn in (False, True) for opt in OPTIMIZERS))
    ax_acc.set_ylim(max(0.0, min(lowest, TARGET[name]) - 0.02), 1.005)
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title=f"{name}: accuracy (dotted: target {TARGET[name]:.0%})")
    handles = [Line2D([], [], color=COLOURS[key], label=label(*key)) for key in COLOURS]
    handles += [Line2D([], [], color="grey", label="training"), Line2D([], [], color="grey", ls="--", label="test")]
    ax_acc.legend(handles=handles, loc="lower right", fontsize=8)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"{name}, seed {seed}: one colour per configuration; solid training, dashed test")
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
