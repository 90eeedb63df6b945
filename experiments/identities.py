"""Matrix-calculus identities, checked numerically: hand formula against finite differences (and torch).

Every identity of the table below — and the gradients handnet's layers and losses are
built on — agrees with central finite differences to an error below 1e-8 (scaled by
max(1, largest entry): relative for large entries, absolute for small ones), and with torch
autograd to rounding when torch is installed. The one exception is a textbook formula that
holds only for symmetric A: ∂(xᵀA⁻¹x)/∂A = −A⁻¹xxᵀA⁻¹ is wrong for a general A, where the
gradient is −A⁻ᵀxxᵀA⁻ᵀ; the table shows both and the numbers say which is right.

Each row is a scalar function f of one argument T (a vector or a matrix) and a hand formula
for ∂f/∂T, an array of T's shape: ∂f/∂Tᵢⱼ at index (i, j) (the "denominator layout", the
layout of every gradient in handnet: a parameter and its .grad have the same shape).
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import handnet as hn
from experiments._report import Report
from handnet.layers import Linear, Softmax, SoftmaxCrossEntropy
from handnet.losses import Logistic, MSELoss, Ridge

NAME = "identities"
TOLERANCE = 1e-8   # largest relative error accepted between a formula and finite differences
EPS = 1e-6         # central-difference step
SIZE = 5           # d: vectors are (d,), matrices (d, d)
SIZE_QUICK = 3


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(1, max |b|): relative for large entries, absolute for small ones."""
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def numerical_gradient(f, T: np.ndarray) -> np.ndarray:
    """∂f/∂T by central differences, in T's shape."""
    return hn.numerical_jacobian(lambda t: np.array([f(t)]), T, eps=EPS).reshape(T.shape)


def identity_rows(d: int, rng: np.random.Generator) -> list[dict]:
    """Each row: name, f, the point ``at``, the hand formula's value there, and f written in torch.

    ``kind`` is "gradient" (f scalar, the default), "jacobian" (f vector-valued) or "hessian"
    (f is the gradient; torch differentiates the value twice).
    """
    a, b, x = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal(d)
    A = rng.standard_normal((d, d))                     # general, not symmetric
    B = rng.standard_normal((d, d))
    X = rng.standard_normal((d, d))
    W = 3 * np.eye(d) + rng.standard_normal((d, d))     # well conditioned, invertible, not symmetric
    W_inv = np.linalg.inv(W)   # the *formula* contains A⁻¹; here we evaluate it, not solve with it
    S = W + W.T                # symmetric: where the textbook form is right
    S_inv = np.linalg.inv(S)
    return [
        dict(name="∂(aᵀx)/∂x = a", f=lambda t: a @ t, at=x, hand=a,
             torch_f=lambda t, T: T.tensor(a) @ t),
        dict(name="∂(xᵀx)/∂x = 2x", f=lambda t: t @ t, at=x, hand=2 * x,
             torch_f=lambda t, T: t @ t),
        dict(name="∂(xᵀAx)/∂x = (A + Aᵀ)x", f=lambda t: t @ A @ t, at=x, hand=(A + A.T) @ x,
             torch_f=lambda t, T: t @ T.tensor(A) @ t),
        dict(name="∂(aᵀXb)/∂X = abᵀ", f=lambda t: a @ t @ b, at=X, hand=np.outer(a, b),
             torch_f=lambda t, T: T.tensor(a) @ t @ T.tensor(b)),
        dict(name="∂tr(AB)/∂A = Bᵀ", f=lambda t: np.trace(t @ B), at=A, hand=B.T,
             torch_f=lambda t, T: T.trace(t @ T.tensor(B))),
        dict(name="∂log|det A|/∂A = A⁻ᵀ", f=lambda t: np.linalg.slogdet(t)[1], at=W, hand=W_inv.T,
             torch_f=lambda t, T: T.linalg.slogdet(t)[1]),
        dict(name="∂(xᵀA⁻¹x)/∂A = −A⁻ᵀxxᵀA⁻ᵀ (general A)", f=lambda t: x @ np.linalg.solve(t, x), at=W,
             hand=-W_inv.T @ np.outer(x, x) @ W_inv.T,
             torch_f=lambda t, T: T.tensor(x) @ T.linalg.solve(t, T.tensor(x))),
        dict(name="∂(xᵀA⁻¹x)/∂A = −A⁻¹xxᵀA⁻¹ (textbook, symmetric A only)", f=lambda t: x @ np.linalg.solve(t, x),
             at=W, hand=-W_inv @ np.outer(x, x) @ W_inv, symmetric_only=True,
             torch_f=lambda t, T: T.tensor(x) @ T.linalg.solve(t, T.tensor(x))),
        dict(name="the same textbook form at a symmetric A", f=lambda t: x @ np.linalg.solve(t, x), at=S,
             hand=-S_inv @ np.outer(x, x) @ S_inv,
             torch_f=lambda t, T: T.tensor(x) @ T.linalg.solve(t, T.tensor(x))),
    ]


def handnet_rows(d: int, rng: np.random.Generator) -> list[dict]:
    """The gradients handnet is built on, from its own backward / grad methods."""
    n, c = 2 * d, 3
    z = rng.standard_normal(d)
    softmax_jac = hn.jacobian(Softmax(), z[None, :])
    s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()

    pred, target = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    mse = MSELoss()
    mse(pred, target)

    logits, labels = rng.standard_normal((n, c)), rng.integers(0, c, n)
    ce = SoftmaxCrossEntropy()
    ce(logits, labels)

    Xd, w = rng.standard_normal((n, d)), rng.standard_normal(d)
    logistic = Logistic(Xd, rng.integers(0, 2, n), lam=0.1)
    ridge = Ridge(Xd, rng.standard_normal(n), lam=0.1)

    lin, xin, dout = Linear(d, c, rng=rng), rng.standard_normal((n, d)), rng.standard_normal((n, c))
    lin(xin)
    lin.backward(dout)

    def linear_loss(W, x=xin, b=lin.bias.data):  # ⟨dout, x Wᵀ + b⟩: ∂/∂W = doutᵀx, ∂/∂x = dout W, ∂/∂b = Σₙ doutₙ
        return float(np.sum(dout * (x @ W.T + b)))

    W = lin.weight.data.copy()
    dx = lin.backward(dout)

    y_log, y_ridge, lam = logistic.y, ridge.y, 0.1

    def torch_logistic(t, T):  # mean BCE of σ(Xw) on the logits, + λ/2 ‖w‖²
        z = T.tensor(Xd) @ t
        return T.nn.functional.binary_cross_entropy_with_logits(z, T.tensor(y_log)) + lam / 2 * t @ t

    def torch_ridge(t, T):
        r = T.tensor(y_ridge) - T.tensor(Xd) @ t
        return r @ r / (2 * n) + lam / 2 * t @ t

    return [
        dict(name="softmax Jacobian = diag(σ) − σσᵀ", kind="jacobian", at=z, hand=np.diag(s) - np.outer(s, s),
             also=softmax_jac, f=lambda t: np.exp(t - t.max()) / np.exp(t - t.max()).sum(),
             torch_f=lambda t, T: T.softmax(t, dim=-1)),
        dict(name="MSE: ∂L/∂pred = 2(pred − t)/(NM)", f=lambda t: MSELoss()(t, target), at=pred,
             hand=mse.backward(), torch_f=lambda t, T: T.nn.functional.mse_loss(t, T.tensor(target))),
        dict(name="softmax-CE: ∂L/∂z = (softmax(z) − onehot)/N", f=lambda t: SoftmaxCrossEntropy()(t, labels),
             at=logits, hand=ce.backward(),
             torch_f=lambda t, T: T.nn.functional.cross_entropy(t, T.as_tensor(labels))),
        dict(name="logistic: ∇ = Xᵀ(σ(Xw) − y)/n + λw", f=logistic.value, at=w, hand=logistic.grad(w),
             torch_f=torch_logistic),
        dict(name="logistic: H = XᵀSX/n + λI", kind="hessian", f=logistic.grad, at=w, hand=logistic.hessian(w),
             torch_f=torch_logistic),
        dict(name="ridge: ∇ = −Xᵀ(y − Xw)/n + λw", f=ridge.value, at=w, hand=ridge.grad(w), torch_f=torch_ridge),
        dict(name="ridge: H = XᵀX/n + λI", kind="hessian", f=ridge.grad, at=w, hand=ridge.hessian(w),
             torch_f=torch_ridge),
        dict(name="linear layer: dW = doutᵀx", f=linear_loss, at=W, hand=lin.weight.grad,
             torch_f=lambda t, T: T.sum(T.tensor(dout) * (T.tensor(xin) @ t.T + T.tensor(lin.bias.data)))),
        dict(name="linear layer: dx = dout W", f=lambda x: linear_loss(W, x=x), at=xin.copy(), hand=dx,
             torch_f=lambda t, T: T.sum(T.tensor(dout) * (t @ T.tensor(W).T + T.tensor(lin.bias.data)))),
        dict(name="linear layer: db = Σₙ doutₙ", f=lambda b: linear_loss(W, b=b), at=lin.bias.data.copy(),
             hand=lin.bias.grad, torch_f=lambda t, T: T.sum(T.tensor(dout) * (T.tensor(xin) @ T.tensor(W).T + t))),
    ]


def torch_error(row: dict) -> float | None:
    """Hand formula against torch autograd of the same f, or None when torch is not installed."""
    if "torch_f" not in row:
        return None
    try:
        import torch
    except ImportError:
        return None
    T = _Float64Torch(torch)
    at = torch.tensor(row["at"], dtype=torch.float64)
    kind = row.get("kind", "gradient")
    if kind == "jacobian":
        derivative = torch.autograd.functional.jacobian(lambda t: row["torch_f"](t, T), at)
    elif kind == "hessian":
        derivative = torch.autograd.functional.hessian(lambda t: row["torch_f"](t, T), at)
    else:
        t = at.clone().requires_grad_(True)
        row["torch_f"](t, T).backward()
        derivative = t.grad
    return relative_error(row["hand"], derivative.numpy())


class _Float64Torch:
    """torch, but ``tensor`` makes float64: the rows' torch versions stay one line each."""

    def __init__(self, torch):
        self._torch = torch

    def tensor(self, value):
        return self._torch.tensor(value, dtype=self._torch.float64)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    d = SIZE_QUICK if quick else SIZE
    rows, results = identity_rows(d, rng) + handnet_rows(d, rng), []
    start = time.perf_counter()
    for row in rows:
        if row.get("kind") in ("jacobian", "hessian"):  # f is vector-valued: compare whole Jacobians
            numeric = hn.numerical_jacobian(row["f"], row["at"], eps=EPS)
        else:
            numeric = numerical_gradient(row["f"], row["at"])
        fd = relative_error(row["hand"], numeric)
        if "also" in row:  # the same Jacobian by handnet's reverse mode
            fd = max(fd, relative_error(row["also"], numeric))
        results.append(dict(name=row["name"], fd_error=fd, torch_error=torch_error(row),
                            symmetric_only=row.get("symmetric_only", False), holds=fd < TOLERANCE))
    seconds = time.perf_counter() - start

    general = [r for r in results if not r["symmetric_only"]]
    textbook = [r for r in results if r["symmetric_only"]]
    holds = all(r["holds"] for r in general) and not any(r["holds"] for r in textbook)

    report = Report(NAME, "Matrix-calculus identities, checked numerically", claim=__doc__.split("\n\n")[1])
    report.text("Layout: each hand formula gives ∂f/∂T in T's own shape, ∂f/∂Tᵢⱼ at index (i, j) — the "
                "“denominator layout”, in which a parameter and its gradient have the same shape.")
    report.text(f"Size d = {d}; central differences with ε = {EPS}; tolerance {TOLERANCE:g} on "
                "max |hand − numeric| / max(1, max |numeric|). A is a general (non-symmetric) matrix; "
                "for the inverse and determinant rows A = 3I + noise, which is safely invertible, "
                "and “a symmetric A” is "
                "that A plus its transpose.")
    report.table(["identity", "error vs finite differences", "error vs torch", "supported by the numbers"],
                 [[r["name"], r["fd_error"], "—" if r["torch_error"] is None else r["torch_error"], r["holds"]]
                  for r in results])
    for r in textbook:
        report.text(f"The row *{r['name']}* is off by {r['fd_error']:.2g}: for a non-symmetric A, −A⁻¹xxᵀA⁻¹ "
                    "is not ∂f/∂A in this layout. It is its transpose — the same derivative written in the "
                    "other (“numerator”) layout, ∂f/∂Aⱼᵢ at (i, j) — which is why books that use that layout, "
                    "or assume A = Aᵀ (where A⁻ᵀ = A⁻¹), state it. Read in the layout of a gradient, it is "
                    "right only for symmetric A.")

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(results) + 1))
    errors = [max(r["fd_error"], 1e-18) for r in results]
    colours = ["tab:red" if r["symmetric_only"] else "tab:blue" for r in results]
    ax.barh(range(len(results)), errors, color=colours)
    ax.axvline(TOLERANCE, color="k", ls="--", label=f"tolerance {TOLERANCE:g}")
    ax.set_xscale("log")
    ax.set_yticks(range(len(results)), [r["name"] for r in results], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("relative error, hand formula vs central differences")
    ax.legend()
    report.figure(fig, "errors.png", "Error of each formula against finite differences (red: the symmetric-only form)")

    worst = max(r["fd_error"] for r in general)
    report.verdict(holds, f"Largest error among the general identities: {worst:.2e} (tolerance {TOLERANCE:g}); "
                   "the symmetric-only formula is "
                   f"{'rejected' if not any(r['holds'] for r in textbook) else 'NOT rejected'}"
                   " by the numbers for a non-symmetric A.")
    metrics = dict(d=d, eps=EPS, tolerance=TOLERANCE, seconds=seconds, rows=results,
                   max_error_general=worst, symmetric_only_rejected=not any(r["holds"] for r in textbook))
    return report.write(out_dir, metrics)
