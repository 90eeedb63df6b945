"""Backpropagation layer by layer: our gradients against torch's, and vanishing gradients in deep nets.

For one batch of digits through an MLP with every kind of layer, every layer's input and parameter
gradients equal torch autograd's to a relative error of 1e-10 and central differences on sampled
entries to 1e-6. Trained on digits with plain SGD, a net of six sigmoid hidden layers passes its
first layer under 1/1000 of its last layer's weight gradient in every epoch; with BatchNorm before
each ReLU, no layer gets under 1/2 of it.

Read the first table from the bottom up: each row's ∂L/∂x is what the row above receives. A
Linear multiplies it by W (∂L/∂x = dout W) and forms ∂L/∂W = doutᵀx; ReLU zeroes it where its input
was negative; Tanh and Sigmoid scale it by 1 − y² ≤ 1 and y(1 − y) ≤ 1/4; BatchNorm removes its
components along the batch mean and along x̂. torch computes the same products and differs by
rounding; a central difference adds truncation and rounding errors of about ε² + ε_mach·|L|/ε, still
far below the order-1 error of a wrong formula. In the sigmoid net each hidden layer multiplies the
gradient by σ' ≤ 1/4 and by Wᵀ, whose entries, uniform in ±1/√D, scale its norm by about √(1/3):
some 0.14 per layer. BatchNorm divides each pre-activation by its batch standard deviation σ, which
grows with the scale of W; on the way back the gradient meets Wᵀ and γ/σ, so the scale of W
cancels and nothing shrinks from layer to layer.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

import handnet as hn
from experiments._report import Check, Report, num, paragraphs
from handnet import data
from handnet.layers import BatchNorm1d, Linear, ReLU, Sigmoid, SoftmaxCrossEntropy, Tanh
from handnet.optim import SGD

NAME = "backprop_layers"
# Part 1: one batch through a small MLP, layer by layer.
BATCH = 64
TORCH_TOL = 1e-10     # largest relative error accepted against torch (float64 both sides)
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
    BatchNorm subtracts the batch mean, so that bias's gradient is zero by mathematics."""
    return hn.Sequential(Linear(64, 32, bias=False, rng=rng), BatchNorm1d(32), ReLU(),
                         Linear(32, 32, rng=rng), Tanh(),
                         Linear(32, 16, rng=rng), Sigmoid(),
                         Linear(16, 10, rng=rng))


def forward_backward(model: hn.Sequential, loss: SoftmaxCrossEntropy, X: np.ndarray, y: np.ndarray) -> tuple:
    """The chain rule spelled out: forward left to right keeping every layer's input, then backward
    right to left keeping every layer's input gradient and parameter gradients.

    Returns (loss value, inputs, grads) with grads[k] = {"input": ∂L/∂x_k, "weight": …, …}; the loss
    is the last entry of both lists: its input is the logits.
    """
    inputs, x = [], X
    for layer in model:
        inputs.append(x)
        x = layer(x)
    value = loss(x, y)
    inputs.append(x)
    g = loss.backward()                                   # ∂L/∂logits = (softmax − onehot)/N
    grads = [None] * len(model) + [{"input": g}]
    for k in reversed(range(len(model))):
        g = model[k].backward(g)                          # ∂L/∂x_k, and writes ∂L/∂θ_k
        grads[k] = {"input": g, **{name: p.grad.copy() for name, p in model[k].named_parameters()}}
    return value, inputs, grads


def torch_gradients(torch, model: hn.Sequential, state: dict, X: np.ndarray, y: np.ndarray) -> list[dict]:
    """torch's per-layer gradients for the same net (our ``state``, float64), laid out as ``grads``."""
    twin = hn.to_torch(model, dtype=torch.float64)       # the same architecture, through the bridge
    twin.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()}, strict=True)  # our keys are torch's
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    inputs = []
    for layer in twin.train():
        x.retain_grad()                                   # keep ∂L/∂x_k of an intermediate tensor too
        inputs.append(x)
        x = layer(x)
    x.retain_grad()                                       # the logits
    torch.nn.functional.cross_entropy(x, torch.as_tensor(y)).backward()   # mean over the batch, as ours
    return [{"input": inp.grad.numpy(), **{n: p.grad.numpy() for n, p in layer.named_parameters()}}
            for inp, layer in zip(inputs, twin)] + [{"input": x.grad.numpy()}]


def finite_difference_errors(model: hn.Sequential, loss: SoftmaxCrossEntropy, y: np.ndarray, inputs: list,
                             grads: list, rng: np.random.Generator) -> list[float]:
    """Per layer k (and the loss): the largest relative error, over its tensors T (input x_k and
    parameters), of our gradient against ``hn.numerical_gradient`` of L as a function of FD_ENTRIES
    random entries of T and its largest one."""
    state = model.state_dict()   # the probes' forwards move BatchNorm's running statistics: put them back after

    def loss_from(k: int, x: np.ndarray) -> float:        # L as a function of layer k's input
        for layer in list(model)[k:]:
            x = layer(x)
        return loss(x, y)

    errors = []
    for k in range(len(grads)):
        worst = 0.0
        for name, analytic in grads[k].items():
            tensor = inputs[k].copy() if name == "input" else getattr(model[k], name).data
            idx = np.unique(np.append(rng.choice(analytic.size, min(FD_ENTRIES, analytic.size), replace=False),
                                      np.argmax(np.abs(analytic))))
            saved = tensor.flat[idx].copy()

            def f(entries: np.ndarray) -> float:
                tensor.flat[idx] = entries
                return loss_from(k, tensor if name == "input" else inputs[k])

            numeric = hn.numerical_gradient(f, saved, eps=FD_EPS)              # (len(idx),)
            tensor.flat[idx] = saved
            worst = max(worst, hn.relative_error(analytic.flat[idx], numeric))   # includes the largest entry
        errors.append(worst)
    model.load_state_dict(state)
    return errors


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


def train_recording_gradients(kind: str, ds: data.Dataset, epochs: int, seed: int) -> dict:
    """``hn.fit`` with plain SGD, its callback recording ‖∂L/∂W‖ of every Linear after every step.
    Returns the per-epoch mean norms (epochs, layers), each layer's over the last one's, and the test accuracy."""
    model, ce = deep_net(kind, np.random.default_rng(seed)), SoftmaxCrossEntropy()
    linears = [m for m in model if isinstance(m, Linear)]
    n = len(ds.X_train) // BATCH_SIZE * BATCH_SIZE   # whole batches only: BatchNorm on a batch of 3 is noise
    steps: dict[int, list] = {}
    hn.fit(model, ce, SGD(model.parameters(), lr=LR), ds.X_train[:n], ds.y_train[:n], epochs=epochs,
           batch_size=BATCH_SIZE, rng=seed, progress=False,
           callback=lambda epoch, step, loss: steps.setdefault(epoch, []).append(
               [np.linalg.norm(layer.weight.grad) for layer in linears]))
    norms = np.array([np.mean(steps[e], axis=0) for e in sorted(steps)])   # (epochs, layers)
    ratios = norms / norms[:, -1:]                                         # each layer against the last
    # The factor one hidden layer applies on the way down: the geometric mean of layer l over layer l + 1,
    # l = 2, …, last − 1 (layer 1 is apart: its input is the pixels, not a hidden layer's output).
    factor = (norms[:, 1] / norms[:, -1]) ** (1 / (norms.shape[1] - 2))
    return dict(grad_norms=norms, first_over_last=ratios[:, 0], min_ratio=ratios.min(axis=1), per_layer_factor=factor,
                test_accuracy=hn.evaluate(model, ce, ds.X_test, ds.y_test)["accuracy"])


# ---- the experiment -----------------------------------------------------------------------------------
def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(seed)
    ds = data.digits(seed=seed)
    epochs = EPOCHS_QUICK if quick else EPOCHS
    model, ce = probe_mlp(rng), SoftmaxCrossEntropy()
    batch = rng.choice(len(ds.X_train), BATCH, replace=False)
    X, y = ds.X_train[batch], ds.y_train[batch]
    state = model.state_dict()                            # before our forward moves the running statistics
    value, inputs, grads = forward_backward(model, ce, X, y)
    reference = None if torch is None else torch_gradients(torch, model, state, X, y)
    fd = finite_difference_errors(model, ce, y, inputs, grads, rng)
    layers = [dict(layer=type(layer).__name__, output_shape=inputs[k + 1].shape if k < len(model) else (),
                   grad_norm=float(np.linalg.norm(grads[k]["input"])), fd_error=fd[k],
                   torch_error=None if reference is None else
                   max(hn.relative_error(g, reference[k][name]) for name, g in grads[k].items()))
              for k, layer in enumerate([*model, ce])]
    nets = {kind: train_recording_gradients(kind, ds, epochs, seed)
            for kind in tqdm(NETS, desc=NAME, unit="net", leave=False)}

    worst_torch = None if torch is None else max(r["torch_error"] for r in layers)
    worst_fd = max(r["fd_error"] for r in layers)
    sigmoid_worst = float(nets["sigmoid"]["first_over_last"].max())
    bn_worst = float(nets["ReLU + BatchNorm"]["min_ratio"].min())
    checks = [
        Check(f"every layer's gradients equal torch autograd's to {num(TORCH_TOL)}",
              worst_torch is not None and worst_torch <= TORCH_TOL,
              "torch is not installed: not checked" if torch is None
              else f"largest relative error {num(worst_torch, 2)}"),
        Check(f"every layer's gradients equal central differences on sampled entries to {num(FD_TOL)}",
              worst_fd <= FD_TOL, f"largest relative error {num(worst_fd, 2)}"),
        Check(f"the sigmoid net's first layer gets below {num(SIGMOID_BOUND)} of the last layer's weight gradient, "
              "every epoch", sigmoid_worst < SIGMOID_BOUND, f"at most {num(sigmoid_worst, 2)}"),
        Check(f"with BatchNorm no layer gets below {num(BN_BOUND)} of the last layer's, in any epoch",
              bn_worst >= BN_BOUND, f"smallest {bn_worst:.2f}"),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Backpropagation layer by layer, against torch; vanishing gradients in deep nets",
                    claim=claim, checks=checks, why=why,
                    setup=f"Part 1: a batch of {BATCH} digits through the MLP of the first table, train mode, "
                    "mean softmax cross-entropy; each row's errors are the worst over its gradients. torch in "
                    f"float64 with our weights; finite differences with step {num(FD_EPS)} on {FD_ENTRIES} random "
                    f"entries of each tensor and its largest. Part 2: three nets of {DEPTH} hidden layers of "
                    f"{WIDTH} units and a Linear to the logits, trained by `hn.fit` (plain SGD, lr {num(LR)}, "
                    f"{epochs} epochs, batches of {BATCH_SIZE}, the training set cut to whole batches), whose "
                    "callback records each Linear's ‖∂L/∂W‖ after every step, averaged per epoch. First/last: "
                    "layer 1's over the last's; the factor per layer: the mean ratio of layer l to l + 1, l ≥ 2.")
    report.table(["#", "layer", "output shape", "‖∂L/∂x‖", "error vs torch", "error vs finite differences"],
                 [[k, r["layer"], "×".join(map(str, r["output_shape"])) or "scalar (L)", r["grad_norm"],
                   "not run" if r["torch_error"] is None else r["torch_error"], r["fd_error"]]
                  for k, r in enumerate(layers)])
    report.table(["net", "test accuracy", "first/last, epoch 1", "first/last, last epoch", "smallest layer/last",
                  "factor per layer, last epoch"],
                 [[kind, r["test_accuracy"], r["first_over_last"][0], r["first_over_last"][-1], r["min_ratio"].min(),
                   r["per_layer_factor"][-1]] for kind, r in nets.items()])
    report.figure(norms_figure(nets), "grad_norms.png",
                  "‖∂L/∂W‖ per layer per epoch (log scale): one panel per net, one line per Linear layer")
    metrics = dict(quick=quick, seed=seed, batch=BATCH, loss=value, torch_tolerance=TORCH_TOL, fd_tolerance=FD_TOL,
                   fd_eps=FD_EPS, layers=layers, max_torch_error=worst_torch, max_fd_error=worst_fd, depth=DEPTH,
                   width=WIDTH, lr=LR, batch_size=BATCH_SIZE, epochs=epochs, nets=nets,
                   sigmoid_max_first_over_last=sigmoid_worst, batchnorm_min_ratio=bn_worst)
    return report.write(out_dir, metrics)


# ---- plots ----------------------------------------------------------------------------------------------
def norms_figure(nets: dict) -> plt.Figure:
    fig, axes = plt.subplots(1, len(nets), figsize=(4.2 * len(nets), 4), sharey=True)
    for ax, (kind, r) in zip(axes, nets.items()):
        norms = r["grad_norms"]
        epochs = np.arange(1, len(norms) + 1)
        colours = plt.cm.viridis(np.linspace(0, 0.9, norms.shape[1]))
        for i in range(norms.shape[1]):
            tag = " (first)" if i == 0 else " (last)" if i == norms.shape[1] - 1 else ""
            ax.plot(epochs, norms[:, i], color=colours[i], marker="o", ms=2.5, label=f"layer {i + 1}{tag}")
        ax.set(yscale="log", title=f"{kind} (test accuracy {r['test_accuracy']:.0%})", xlabel="epoch")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("mean ‖∂L/∂W‖ over the epoch (log scale)")
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
