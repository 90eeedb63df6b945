"""Backpropagation layer by layer: our gradients against torch's, and vanishing gradients in deep nets.

For one batch of digits through an MLP with every kind of layer (Linear, BatchNorm1d, ReLU,
Tanh, Sigmoid, softmax cross-entropy), each layer's input gradient and each parameter gradient
equals torch autograd's to a relative difference of at most 1e-10, and central finite
differences on sampled entries to at most 1e-6 (without torch installed, only the second is
checked). Trained on digits with plain SGD, a net of six sigmoid hidden layers passes its first
layer a weight gradient below 1/1000 of its last layer's in every epoch: the gradient vanishes.
With BatchNorm before each ReLU, no layer's weight gradient falls below 1/2 of the last layer's
in any epoch.

"Relative difference" of a gradient tensor is max |ours − reference| / max |reference|: the
worst entry, on the scale of the tensor's largest entry. A layer's weight gradient norm in an
epoch is the mean over that epoch's steps of the Frobenius norm ‖∂L/∂W‖.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

import handnet as hn
from experiments._report import Report
from handnet import data
from handnet.layers import BatchNorm1d, Linear, ReLU, Sigmoid, SoftmaxCrossEntropy, Tanh
from handnet.optim import SGD

NAME = "backprop_layers"
# Part 1: one batch through a small MLP, layer by layer.
BATCH = 64
TORCH_TOL = 1e-10     # largest relative difference accepted against torch (float64 both sides)
FD_TOL = 1e-6         # ... and against central differences
FD_EPS = 1e-5         # central-difference step: rounding error ~ 1e-16·L/ε, truncation ~ ε²
FD_ENTRIES = 8        # entries sampled per tensor for finite differences (plus its largest one)
# Part 2: deep nets over training.
NETS = ["sigmoid", "ReLU", "ReLU + BatchNorm"]
DEPTH, WIDTH = 6, 32  # hidden layers, units per hidden layer
LR = 0.1              # plain SGD, the same for the three nets
BATCH_SIZE = 32
EPOCHS, EPOCHS_QUICK = 30, 3
SIGMOID_BOUND = 1e-3  # sigmoid net: first/last weight-gradient norm below this in every epoch
BN_BOUND = 0.5        # BatchNorm net: every layer's norm at least this fraction of the last layer's


# ---- part 1: one batch, layer by layer ----------------------------------------------------------------
def probe_mlp(rng: np.random.Generator) -> hn.Sequential:
    """64 → 32 → 32 → 16 → 10 with every kind of layer. The Linear before BatchNorm1d has no bias:
    BatchNorm subtracts the batch mean, so a bias there would have a gradient that is zero by
    mathematics, and a relative difference of two rounding noises means nothing."""
    return hn.Sequential(Linear(64, 32, bias=False, rng=rng), BatchNorm1d(32), ReLU(),
                         Linear(32, 32, rng=rng), Tanh(),
                         Linear(32, 16, rng=rng), Sigmoid(),
                         Linear(16, 10, rng=rng))


def forward_backward(model: hn.Sequential, loss: SoftmaxCrossEntropy, X: np.ndarray,
                     y: np.ndarray) -> tuple[float, list, list, list]:
    """The chain rule spelled out: forward left to right keeping every layer's input and output,
    then backward right to left keeping every layer's input gradient and parameter gradients.

    Returns (loss value, inputs, outputs, grads) with grads[k] = {"input": ∂L/∂x_k, "weight": …, …}.
    The loss is the last entry of each list: its input is the logits, its output L.
    """
    inputs, outputs, x = [], [], X
    for layer in model:
        inputs.append(x)
        x = layer(x)
        outputs.append(x)
    value = loss(x, y)
    inputs.append(x)
    outputs.append(np.array(value))
    g = loss.backward()                                   # ∂L/∂logits = (softmax − onehot)/N
    grads = [None] * len(model) + [{"input": g}]
    for k in reversed(range(len(model))):
        g = model[k].backward(g)                          # ∂L/∂x_k, and writes ∂L/∂θ_k
        grads[k] = {"input": g, **{name: p.grad.copy() for name, p in model[k].named_parameters()}}
    return value, inputs, outputs, grads


def relative_difference(ours: np.ndarray, reference: np.ndarray, scale: float | None = None) -> float:
    """max |ours − reference| / scale, with scale = max |reference| unless given (and 1 if that is 0)."""
    scale = float(np.max(np.abs(reference))) if scale is None else scale
    return float(np.max(np.abs(ours - reference)) / (scale if scale > 0 else 1.0))


def torch_gradients(model: hn.Sequential, state: dict, X: np.ndarray, y: np.ndarray) -> tuple | None:
    """torch's loss and per-layer gradients for the same net (our ``state``, float64), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    twins = {Linear: lambda m: torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
             BatchNorm1d: lambda m: torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum),
             ReLU: lambda m: torch.nn.ReLU(), Tanh: lambda m: torch.nn.Tanh(), Sigmoid: lambda m: torch.nn.Sigmoid()}
    twin = torch.nn.Sequential(*[twins[type(m)](m) for m in model]).double()
    twin.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=True)  # our keys are torch's
    twin.train()
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    inputs = []
    for layer in twin:
        x.retain_grad()                                   # keep ∂L/∂x_k of an intermediate tensor too
        inputs.append(x)
        x = layer(x)
    x.retain_grad()                                       # the logits
    value = torch.nn.functional.cross_entropy(x, torch.as_tensor(y))   # mean over the batch, as ours
    value.backward()
    grads = [{"input": inp.grad.numpy(), **{n: p.grad.numpy() for n, p in layer.named_parameters()}}
             for inp, layer in zip(inputs, twin)]
    return value.item(), grads + [{"input": x.grad.numpy()}]


def finite_difference_errors(model: hn.Sequential, loss: SoftmaxCrossEntropy, y: np.ndarray, inputs: list,
                             grads: list, rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """For every layer k (and the loss) and tensor T (its input x_k, its parameters): the loss as a function of a
    few entries of T, differentiated by central differences (``hn.numerical_jacobian``), against
    our gradient at those entries. The entries are FD_ENTRIES random ones and the largest one.

    Returns (relative, absolute): per layer, per tensor, max |ours − numeric| over the entries,
    divided by the tensor's largest entry max |ours| (relative) or not (absolute)."""
    state = model.state_dict()   # the probes' forwards move BatchNorm's running statistics: put them back after

    def loss_from(k: int, x: np.ndarray) -> float:        # L as a function of layer k's input
        for layer in list(model)[k:]:
            x = layer(x)
        return loss(x, y)

    errors, absolute = [], []
    for k in range(len(grads)):
        row, row_abs = {}, {}
        for name, analytic in grads[k].items():
            tensor = inputs[k].copy() if name == "input" else getattr(model[k], name).data
            idx = np.unique(np.append(rng.choice(analytic.size, min(FD_ENTRIES, analytic.size), replace=False),
                                      np.argmax(np.abs(analytic))))
            saved = tensor.flat[idx].copy()

            def f(entries: np.ndarray) -> np.ndarray:
                tensor.flat[idx] = entries
                return np.array([loss_from(k, tensor if name == "input" else inputs[k])])

            numeric = hn.numerical_jacobian(f, saved, eps=FD_EPS)[0]      # (len(idx),)
            tensor.flat[idx] = saved
            row[name] = relative_difference(analytic.flat[idx], numeric, scale=float(np.max(np.abs(analytic))))
            row_abs[name] = relative_difference(analytic.flat[idx], numeric, scale=1.0)
        errors.append(row)
        absolute.append(row_abs)
    model.load_state_dict(state)
    return errors, absolute


# ---- part 2: gradient norms per layer over training ----------------------------------------------------
def deep_net(kind: str, rng: np.random.Generator) -> hn.Sequential:
    """DEPTH hidden layers of WIDTH units — Linear → Sigmoid, Linear → ReLU, or Linear (no bias) →
    BatchNorm1d → ReLU — then a Linear to the 10 logits."""
    layers, d = [], 64
    for _ in range(DEPTH):
        if kind == "ReLU + BatchNorm":
            layers += [Linear(d, WIDTH, bias=False, rng=rng), BatchNorm1d(WIDTH), ReLU()]
        else:
            layers += [Linear(d, WIDTH, rng=rng), Sigmoid() if kind == "sigmoid" else ReLU()]
        d = WIDTH
    return hn.Sequential(*layers, Linear(d, 10, rng=rng))


def forward_signal(model: hn.Sequential, X: np.ndarray) -> tuple[list[float], list[float]]:
    """How much of the input reaches each layer, in one forward pass of all of X.

    Returns (spread, input_size): spread[l] is the spread across samples of hidden layer l + 1's output
    (after its Sigmoid or ReLU) — each unit's standard deviation over the rows of X, averaged over
    the units; 0 would mean every sample gives the same output. input_size[l] is the root mean
    square over the rows of ‖x‖ for the input x of Linear layer l + 1. The pass is in train mode
    (BatchNorm uses the statistics of X); the state is put back after, so no running statistic moves.
    """
    state = model.state_dict()
    spread, input_size, x = [], [], X
    for layer in model:
        if isinstance(layer, Linear):
            input_size.append(float(np.sqrt(np.mean(np.sum(x ** 2, axis=1)))))
        x = layer(x)
        if isinstance(layer, (Sigmoid, ReLU)):
            spread.append(float(np.mean(np.std(x, axis=0))))
    model.load_state_dict(state)
    return spread, input_size


def train_recording_gradients(model: hn.Sequential, ds: data.Dataset, epochs: int, rng: np.random.Generator) -> dict:
    """Plain SGD on full batches of BATCH_SIZE (the last, incomplete one is dropped), recording
    ‖∂L/∂W‖ of every Linear at every step. Returns per-epoch means, the training loss, test accuracy,
    and the forward signal (``forward_signal`` on the training set) before and after training."""
    linears = [m for m in model if isinstance(m, Linear)]
    optimizer, ce = SGD(model.parameters(), lr=LR), SoftmaxCrossEntropy()
    spread_init, input_size_init = forward_signal(model, ds.X_train)
    n = len(ds.X_train)
    norms, losses = [], []
    for _ in range(epochs):
        order = rng.permutation(n)
        step_norms, step_losses = [], []
        for start in range(0, n - BATCH_SIZE + 1, BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            step_losses.append(ce(model(ds.X_train[idx]), ds.y_train[idx]))   # forward
            model.backward(ce.backward())                                        # backward: writes .grad
            step_norms.append([np.linalg.norm(layer.weight.grad) for layer in linears])
            optimizer.step()                                                     # update
        norms.append(np.mean(step_norms, axis=0))
        losses.append(float(np.mean(step_losses)))
    spread_final, _ = forward_signal(model, ds.X_train)
    norms = np.array(norms)                                  # (epochs, layers)
    ratios = norms / norms[:, -1:]                           # each layer against the last (output) layer
    # Layer l against layer l + 1, averaged (geometric mean) over l = 2, …, last − 1: the factor one hidden
    # layer applies on the way down. Layer 1 is apart: its input is the pixels, not a hidden layer's output.
    factor = (norms[:, 1] / norms[:, -1]) ** (1 / (norms.shape[1] - 2))
    predicted = hn.predict(model, ds.X_test).argmax(axis=1)
    return dict(grad_norms=norms, ratios=ratios, first_over_last=ratios[:, 0], min_ratio=ratios.min(axis=1),
                max_ratio=ratios.max(axis=1), per_layer_factor=factor, first_over_second=norms[:, 0] / norms[:, 1],
                spread_init=spread_init, spread_final=spread_final, input_size_init=input_size_init,
                spread_factor_init=(spread_init[-1] / spread_init[0]) ** (1 / (len(spread_init) - 1)),   # per layer
                input_size_first_over_second=input_size_init[0] / input_size_init[1],
                factor_times_input_ratio=factor[-1] * input_size_init[0] / input_size_init[1],   # last epoch
                train_loss=losses, test_accuracy=hn.evaluate(model, ce, ds.X_test, ds.y_test)["accuracy"],
                most_common_prediction_share=float(np.bincount(predicted).max() / len(predicted)))


# ---- the experiment -----------------------------------------------------------------------------------
def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    ds = data.digits(seed=seed)
    epochs = EPOCHS_QUICK if quick else EPOCHS
    start = time.perf_counter()
    with tqdm(total=1 + len(NETS), desc=NAME, unit="run", leave=False) as bar:   # the probe, then each net
        # Part 1.
        model, ce = probe_mlp(rng), SoftmaxCrossEntropy()
        batch = rng.choice(len(ds.X_train), BATCH, replace=False)
        X, y = ds.X_train[batch], ds.y_train[batch]
        state = model.state_dict()                   # before our forward moves the running statistics
        value, inputs, outputs, grads = forward_backward(model, ce, X, y)
        torch_result = torch_gradients(model, state, X, y)
        fd, fd_absolute = finite_difference_errors(model, ce, y, inputs, grads, rng)
        bar.update()
        # Part 2.
        nets = {}
        for kind in NETS:
            nets[kind] = train_recording_gradients(deep_net(kind, np.random.default_rng(seed)), ds, epochs,
                                                   np.random.default_rng(seed))
            bar.update()
    seconds = time.perf_counter() - start

    layers = []
    for k, layer in enumerate([*model, ce]):
        row = dict(index=k, layer=type(layer).__name__, output_shape=outputs[k].shape,
                   output_mean=float(outputs[k].mean()),
                   output_std=float(outputs[k].std()) if k < len(model) else None,   # the loss is one number
                   grad_norm={name: float(np.linalg.norm(g)) for name, g in grads[k].items()},
                   grad_max={name: float(np.max(np.abs(g))) for name, g in grads[k].items()},
                   fd_difference=fd[k], fd_absolute=fd_absolute[k], torch_difference=None)
        if torch_result is not None:
            row["torch_difference"] = {name: relative_difference(g, torch_result[1][k][name])
                                       for name, g in grads[k].items()}
        layers.append(row)
    worst_fd = max(d for row in layers for d in row["fd_difference"].values())
    fd_worst = max(({"layer": row["index"], "tensor": name, "relative": d, "absolute": row["fd_absolute"][name],
                     "largest_entry": row["grad_max"][name]}
                    for row in layers for name, d in row["fd_difference"].items()), key=lambda t: t["relative"])
    fd_summary = dict(worst=fd_worst, max_absolute=max(d for row in layers for d in row["fd_absolute"].values()),
                      rounding_estimate=float(np.finfo(np.float64).eps * abs(value) / FD_EPS),   # ε_mach·|L|/ε
                      smallest_largest_entry=min(m for row in layers for m in row["grad_max"].values()),
                      largest_largest_entry=max(m for row in layers for m in row["grad_max"].values()))
    worst_torch = None
    if torch_result is not None:
        worst_torch = max(d for row in layers for d in row["torch_difference"].values())
    torch_ok = worst_torch is None or worst_torch <= TORCH_TOL
    sigmoid_worst = float(nets["sigmoid"]["first_over_last"].max())
    bn_worst = float(nets["ReLU + BatchNorm"]["min_ratio"].min())
    checks = dict(torch=torch_ok, finite_differences=worst_fd <= FD_TOL,
                  sigmoid_vanishes=sigmoid_worst < SIGMOID_BOUND, batchnorm_keeps=bn_worst >= BN_BOUND)
    holds = all(checks.values())

    report = Report(NAME, "Backpropagation layer by layer, against torch; vanishing gradients in deep nets",
                    claim=__doc__.split("\n\n")[1])
    write_part_one(report, layers, value, torch_result, worst_torch, worst_fd, fd_summary)
    input_spread = float(np.mean(np.std(ds.X_train, axis=0)))   # the pixels': each feature's std, averaged
    write_part_two(report, nets, epochs, quick, input_spread)
    report.verdict(holds, (f"Largest relative difference from torch: {worst_torch:.2e} (bound {TORCH_TOL:g}); "
                           if worst_torch is not None else "torch is not installed: checked against finite "
                           "differences only; ")
                   + f"from finite differences: {worst_fd:.2e} (bound {FD_TOL:g}). Sigmoid net, first/last "
                   f"gradient norm at most {sigmoid_worst:.2e} over the epochs (bound {SIGMOID_BOUND:g}); "
                   f"BatchNorm net, smallest layer/last ratio {bn_worst:.3f} (bound {BN_BOUND:g}).")
    metrics = dict(quick=quick, seed=seed, seconds=seconds, batch=BATCH, loss=value,
                   torch_loss=None if torch_result is None else torch_result[0],
                   reference="torch" if torch_result is not None else "finite differences",
                   torch_tolerance=TORCH_TOL, fd_tolerance=FD_TOL, fd_eps=FD_EPS, layers=layers,
                   max_torch_difference=worst_torch, max_fd_difference=worst_fd, finite_differences=fd_summary,
                   depth=DEPTH, width=WIDTH, lr=LR, batch_size=BATCH_SIZE, epochs=epochs, nets=nets,
                   input_spread=input_spread,
                   sigmoid_bound=SIGMOID_BOUND, batchnorm_bound=BN_BOUND,
                   sigmoid_max_first_over_last=sigmoid_worst, batchnorm_min_ratio=bn_worst,
                   relu_first_over_last=nets["ReLU"]["first_over_last"], checks=checks)
    return report.write(out_dir, metrics)


# ---- report sections and plots --------------------------------------------------------------------
def write_part_one(report: Report, layers: list[dict], value: float, torch_result, worst_torch, worst_fd,
                   fd: dict) -> None:
    reference = "torch autograd (float64, the same weights loaded from our state dict)" if torch_result else \
        "finite differences only (torch is not installed)"
    report.text(f"## 1. One batch, layer by layer\n\nA batch of {BATCH} digits (64 features, standardised) "
                "through an MLP (the rows of the table), in train mode, with softmax cross-entropy (mean over the "
                f"batch) on its logits: loss {value:.6f}" + (f", torch's {torch_result[0]:.6f}" if torch_result else "")
                + ". Row *k* describes layer *k*: its output, and the gradients its backward produces — ∂L/∂x of "
                "its input and ∂L/∂ of each parameter (for BatchNorm1d, weight is γ and bias β); the last row is "
                "the loss, whose input is the logits and whose ∂L/∂x, (softmax − onehot)/N, is where "
                f"backpropagation starts. Reference: {reference}. "
                f"Finite differences: step {FD_EPS:g}, on {FD_ENTRIES} random entries of each tensor and its "
                "largest one. Differences are relative to each tensor's largest entry.")

    def cell(row: dict, key: str, name: str):
        d = row[key]
        return "—" if d is None or name not in d else d[name]

    report.table(["#", "layer", "output shape", "output mean", "output std", "‖∂L/∂x‖", "‖∂L/∂weight‖",
                  "‖∂L/∂bias‖", "vs torch: ∂L/∂x", "weight", "bias", "vs finite differences (worst)"],
                 [[r["index"], r["layer"], "×".join(map(str, r["output_shape"])) or "scalar (L)", r["output_mean"],
                   "—" if r["output_std"] is None else r["output_std"],
                   r["grad_norm"]["input"], cell(r, "grad_norm", "weight"), cell(r, "grad_norm", "bias"),
                   cell(r, "torch_difference", "input"), cell(r, "torch_difference", "weight"),
                   cell(r, "torch_difference", "bias"), max(r["fd_difference"].values())] for r in layers])
    report.text("Reading the table from the bottom up is reading backpropagation: each row's ∂L/∂x is the "
                "gradient the row above it receives. A Linear multiplies it by W (∂L/∂x = dout W) and forms "
                "∂L/∂W = doutᵀx; ReLU zeroes it where the input was negative; Tanh and Sigmoid scale it by "
                "1 − y² ≤ 1 and y(1 − y) ≤ 1/4; BatchNorm removes its components along the batch mean and "
                "along x̂. " + (f"The largest difference from torch, {worst_torch:.1e}, is rounding in float64. "
                               if worst_torch is not None else "")
                + "A central difference of step ε errs, in absolute terms, by a truncation of order ε² (times "
                "a third derivative of L) and a rounding of order ε_mach·|L|/ε — here "
                f"{np.finfo(np.float64).eps:.1e} × {value:.2f} / {FD_EPS:g} ≈ {fd['rounding_estimate']:.0e}. The "
                f"largest absolute difference measured is {fd['max_absolute']:.1e}. The table's differences are "
                "relative: divided by each tensor's largest entry, and those entries range from "
                f"{fd['smallest_largest_entry']:.1e} to {fd['largest_largest_entry']:.1e}. So the same small "
                "absolute error becomes a large relative one on a tensor of small entries: the largest relative "
                f"difference, {worst_fd:.1e}, is layer {fd['worst']['layer']}'s "
                f"∂L/∂{'x' if fd['worst']['tensor'] == 'input' else fd['worst']['tensor']}, an absolute "
                f"{fd['worst']['absolute']:.1e} on a largest entry of {fd['worst']['largest_entry']:.1e}. "
                "(A smaller ε trades truncation for rounding.) These differences are far above torch's but far "
                "below what a wrong formula gives, a relative difference of order 1.")
    report.figure(differences_figure(layers), "differences.png",
                  "Relative difference of every gradient tensor from torch and from finite differences (log scale)")


def write_part_two(report: Report, nets: dict, epochs: int, quick: bool, input_spread: float) -> None:
    n_layers = DEPTH + 1
    report.text(f"## 2. Gradient norms per layer over training\n\nThree nets on digits, each with {DEPTH} hidden "
                f"layers of {WIDTH} units and a Linear to the 10 logits ({n_layers} Linear layers, numbered 1 to "
                f"{n_layers} from the input): Linear → Sigmoid, Linear → ReLU, and Linear (no bias) → "
                "BatchNorm1d → ReLU. Initial weights are torch's default (uniform in ±1/√D). Plain SGD, "
                f"lr {LR:g}, batches of {BATCH_SIZE} (the last, incomplete batch of each epoch dropped), "
                f"{epochs} epochs{' (quick mode)' if quick else ''}, the same seed for all three. Each point is "
                "the mean over the epoch's steps of ‖∂L/∂W‖ (Frobenius) of one Linear layer.")
    report.table(["net", "final test accuracy", "first/last, epoch 1", "first/last, last epoch",
                  "first/last, largest", "smallest layer/last", "factor per layer (2 to last), last epoch",
                  "layer 1/layer 2, last epoch"],
                 [[kind, r["test_accuracy"], r["first_over_last"][0], r["first_over_last"][-1],
                   r["first_over_last"].max(), r["min_ratio"].min(), r["per_layer_factor"][-1],
                   r["first_over_second"][-1]] for kind, r in nets.items()])
    report.text("*first/last* is layer 1's gradient norm over layer "
                f"{n_layers}'s; *smallest layer/last* is the smallest of all layers' over the last layer's, over "
                "all epochs; the *factor per layer* is the geometric mean over l = 2, …, "
                f"{n_layers - 1} of layer l's norm over layer l + 1's — what one hidden layer does to the gradient "
                f"on the way down (below 1: it shrinks) — so that first/last = (layer 1/layer 2) × "
                f"factor^{n_layers - 2}. Layer 1 is kept apart because its input is the pixels, not a hidden "
                "layer's output.")
    report.table(["layer"] + [f"{kind}, epoch {e}" for kind in nets for e in (1, epochs)],
                 [[i + 1] + [nets[kind]["grad_norms"][e][i] for kind in nets for e in (0, -1)]
                  for i in range(n_layers)])
    sig, relu, bn = nets["sigmoid"], nets["ReLU"], nets["ReLU + BatchNorm"]
    f, r12, ratio = sig["per_layer_factor"][-1], sig["first_over_second"][-1], sig["input_size_first_over_second"]
    sizes = sig["input_size_init"][1:]
    report.text(f"In the sigmoid net, from layer {n_layers} down to layer 2, each layer's weight gradient is on "
                f"average {f:.3f} times the one above it (last epoch). That is what the backward formulas "
                "predict: Sigmoid multiplies the gradient by σ'(z) = y(1 − y) ≤ 1/4, and multiplying by W, whose "
                "entries are uniform in ±1/√D (variance 1/(3D)), scales a gradient's norm by about √(1/3), so "
                "each layer shrinks it by about (1/4)·√(1/3) ≈ 0.144; and ∂L/∂W = doutᵀx follows dout, "
                "because "
                "each of these layers' input x is a sigmoid output of about the same size (per-sample norm "
                f"{min(sizes):.2f} to {max(sizes):.2f} at initialisation: {WIDTH} entries near 0.5). Layer 1 "
                "differs: its input is the standardised pixels, per-sample norm "
                f"{sig['input_size_init'][0]:.2f}, {ratio:.2f} times layer 2's, and ∂L/∂W grows with the input, "
                f"so its gradient is {r12:.2f} of layer 2's rather than {f:.3f} ({f:.3f} × {ratio:.2f} = "
                f"{sig['factor_times_input_ratio']:.2f}). Together, first/last = {r12:.2f} × {f:.3f}^{n_layers - 2} = "
                f"{sig['first_over_last'][-1]:.1e}.")
    spreads = [[i + 1] + [nets[kind][key][i] for kind in nets for key in ("spread_init", "spread_final")]
               for i in range(DEPTH)]
    report.text("**The forward signal.** Spread across samples of each hidden layer's output (after its Sigmoid "
                "or ReLU): each unit's standard deviation over the training images, averaged over the units, "
                "from one forward pass of the whole training set (BatchNorm with that set's statistics). 0 would "
                f"mean every image gives the same output; the standardised pixels' spread is {input_spread:.3f}.")
    report.table(["hidden layer"] + [f"{kind}, {when}" for kind in nets for when in ("initialisation",
                                                                                      f"after epoch {epochs}")],
                 spreads)
    s_init, s_final = sig["spread_init"], sig["spread_final"]
    one_class = sig["most_common_prediction_share"]
    report.text(f"The sigmoid net's forward signal collapses by the same factor: at initialisation the spread "
                f"falls from {s_init[0]:.2g} at layer 1 to {s_init[-1]:.1e} at layer {DEPTH}, "
                f"{sig['spread_factor_init']:.3f} "
                "per layer — a Linear with entries of variance 1/(3D) scales the spread of its D inputs by about "
                "√(1/3), and a sigmoid's slope is at most 1/4. So every image reaches the output layer as nearly "
                "the same vector, and the logits barely depend on the image: after training the net gives "
                f"{one_class:.0%} of the test images the same class, and its test accuracy is "
                f"{sig['test_accuracy']:.0%}. That is why it does not learn: what reaches the output layer no "
                "longer tells the digits apart. And it cannot train its way out, because the layers that would "
                f"have to amplify the signal are those whose gradients vanished: after {epochs} epochs the spread "
                f"at layer {DEPTH} is "
                f"{s_final[-1]:.1e}. The plain ReLU net's signal shrinks at initialisation too "
                f"({relu['spread_init'][-1]:.1e} at layer {DEPTH}, {relu['spread_factor_init']:.2f} per layer), but "
                f"less, and its gradients reach the first layers: its first layer gets "
                f"{relu['first_over_last'][0]:.2f} of the last layer's gradient in epoch 1 and "
                f"{relu['first_over_last'][-1]:.2f} in epoch {epochs}; after training its spread at layer {DEPTH} "
                f"is {relu['spread_final'][-1]:.2g} and its test accuracy {relu['test_accuracy']:.0%}"
                + (f" (quick mode: {epochs} epochs show only the start of training)" if quick else "")
                + ". BatchNorm rescales "
                "every pre-activation to unit spread; with γ = 1 the ReLU then leaves √(1/2 − 1/(2π)) ≈ 0.58, "
                f"and the spread measured at initialisation is {min(bn['spread_init']):.2f} to "
                f"{max(bn['spread_init']):.2f} at every layer. The same division by the batch standard "
                "deviation σ keeps the gradient up: σ grows with the scale of W, and on the way back the gradient "
                "is multiplied by Wᵀ and by γ/σ, so the scale of W cancels and nothing shrinks layer after layer: "
                f"no layer falls below {bn['min_ratio'].min():.2f} of the last one (test accuracy "
                f"{bn['test_accuracy']:.0%}). It does not make the layers equal, though: the early layers receive "
                f"up to {bn['max_ratio'].max():.1f}× the last layer's gradient in an epoch.")
    report.figure(norms_figure(nets), "grad_norms.png",
                  "‖∂L/∂W‖ per layer per epoch (log scale): one panel per net, one line per Linear layer")
    report.figure(profile_figure(nets, epochs), "grad_profile.png",
                  "‖∂L/∂W‖ against depth in the first and the last epoch (log scale): vanishing is a downward "
                  "slope from the output (right) to the input (left)")


def differences_figure(layers: list[dict]) -> plt.Figure:
    names = [f"{r['index']} {r['layer']}: ∂L/∂{'x' if t == 'input' else t}"
             for r in layers for t in r["fd_difference"]]
    fd = [max(r["fd_difference"][t], 1e-18) for r in layers for t in r["fd_difference"]]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(names) + 1.2))
    pos = np.arange(len(names))
    ax.barh(pos + 0.2, fd, height=0.4, color="tab:orange", label="vs finite differences")
    if layers[0]["torch_difference"] is not None:
        torch_d = [max(r["torch_difference"][t], 1e-18) for r in layers for t in r["fd_difference"]]
        ax.barh(pos - 0.2, torch_d, height=0.4, color="tab:blue", label="vs torch")
        ax.axvline(TORCH_TOL, color="tab:blue", ls="--", label=f"torch bound {TORCH_TOL:g}")
    ax.axvline(FD_TOL, color="tab:orange", ls="--", label=f"finite-difference bound {FD_TOL:g}")
    ax.set_xscale("log")
    ax.set_yticks(pos, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("relative difference (max |ours − reference| / max |reference|)")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    fig.tight_layout()
    return fig


def norms_figure(nets: dict) -> plt.Figure:
    fig, axes = plt.subplots(1, len(nets), figsize=(4.2 * len(nets), 4), sharey=True)
    for ax, (kind, r) in zip(axes, nets.items()):
        norms = r["grad_norms"]
        epochs = np.arange(1, len(norms) + 1)
        colours = plt.cm.viridis(np.linspace(0, 0.9, norms.shape[1]))
        for i in range(norms.shape[1]):
            tag = " (first)" if i == 0 else " (last)" if i == norms.shape[1] - 1 else ""
            ax.plot(epochs, norms[:, i], color=colours[i], marker="o", ms=2.5, label=f"layer {i + 1}{tag}")
        ax.set_yscale("log")
        ax.set(title=f"{kind} (test accuracy {r['test_accuracy']:.0%})", xlabel="epoch")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("mean ‖∂L/∂W‖ over the epoch (log scale)")
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def profile_figure(nets: dict, epochs: int) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = dict(zip(nets, ["tab:purple", "tab:orange", "tab:green"]))
    for kind, r in nets.items():
        depth = np.arange(1, r["grad_norms"].shape[1] + 1)
        ax.plot(depth, r["grad_norms"][0], color=colours[kind], ls="--", marker="o", label=f"{kind}, epoch 1")
        ax.plot(depth, r["grad_norms"][-1], color=colours[kind], marker="o", label=f"{kind}, epoch {epochs}")
    ax.set_yscale("log")
    ax.set(xlabel="Linear layer (1 = next to the input, last = the logits)", ylabel="mean ‖∂L/∂W‖ (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
