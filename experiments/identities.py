"""Matrix-calculus identities, checked numerically: hand formula against finite differences and torch.

Every identity of the table, and every gradient handnet's layers and losses are built on, agrees
with central finite differences to a relative error below 1e-8 and with torch autograd to 1e-12;
the textbook ∂(xᵀA⁻¹x)/∂A = −A⁻¹xxᵀA⁻¹ does not, for a non-symmetric A.

Each formula gives ∂f/∂T in T's own shape, ∂f/∂Tᵢⱼ at index (i, j): the "denominator layout",
in which a parameter and its .grad have the same shape. For f = xᵀA⁻¹x, df = −xᵀA⁻¹(dA)A⁻¹x =
Σᵢⱼ (−A⁻ᵀxxᵀA⁻ᵀ)ᵢⱼ dAᵢⱼ, so the gradient is −A⁻ᵀxxᵀA⁻ᵀ. The textbook −A⁻¹xxᵀA⁻¹ is its
transpose, the same derivative in the other ("numerator") layout, which is why books that use that
layout or assume A = Aᵀ state it; as a gradient it is right only for symmetric A. A central
difference errs by about ε² (truncation) plus ε_mach/ε (rounding), some 1e-10 here; torch computes
the same formulas and differs by rounding alone; a wrong formula errs at order 1.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import handnet as hn
from experiments._report import Check, Report, num, paragraphs
from handnet.layers import Linear, Softmax, SoftmaxCrossEntropy
from handnet.losses import Logistic, MSELoss, Ridge

NAME = "identities"
TOLERANCE = 1e-8         # largest relative error accepted between a formula and finite differences
TORCH_TOLERANCE = 1e-12  # ... and between a formula and torch autograd (float64)
EPS = 1e-6               # central-difference step
SIZE = 5                 # d: vectors are (d,), matrices (d, d)
SIZE_QUICK = 3


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


def torch_derivative(row: dict, torch) -> np.ndarray:
    """torch autograd's derivative of the row's f (written in torch) at the row's point, in float64."""
    T = _Float64Torch(torch)
    at = torch.tensor(row["at"], dtype=torch.float64)
    kind = row.get("kind", "gradient")
    if kind == "jacobian":
        return torch.autograd.functional.jacobian(lambda t: row["torch_f"](t, T), at).numpy()
    if kind == "hessian":
        return torch.autograd.functional.hessian(lambda t: row["torch_f"](t, T), at).numpy()
    t = at.clone().requires_grad_(True)
    row["torch_f"](t, T).backward()
    return t.grad.numpy()


class _Float64Torch:
    """torch, but ``tensor`` makes float64: the rows' torch versions stay one line each."""

    def __init__(self, torch):
        self._torch = torch

    def tensor(self, value):
        return self._torch.tensor(value, dtype=self._torch.float64)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(seed)
    d = SIZE_QUICK if quick else SIZE
    results = []
    for row in identity_rows(d, rng) + handnet_rows(d, rng):
        if row.get("kind") in ("jacobian", "hessian"):  # f is vector-valued: compare whole Jacobians
            numeric = hn.numerical_jacobian(row["f"], row["at"], eps=EPS)
        else:
            numeric = hn.numerical_gradient(row["f"], row["at"], eps=EPS)
        fd = hn.relative_error(row["hand"], numeric)
        if "also" in row:  # the same Jacobian by handnet's reverse mode
            fd = max(fd, hn.relative_error(row["also"], numeric))
        torch_error = None if torch is None else hn.relative_error(row["hand"], torch_derivative(row, torch))
        results.append(dict(name=row["name"], fd_error=fd, torch_error=torch_error,
                            symmetric_only=row.get("symmetric_only", False)))

    general = [r for r in results if not r["symmetric_only"]]
    textbook = [r for r in results if r["symmetric_only"]]
    worst_fd = max(r["fd_error"] for r in general)
    worst_torch = None if torch is None else max(r["torch_error"] for r in general)
    textbook_error = min(r["fd_error"] for r in textbook)
    checks = [
        Check(f"every general identity agrees with central differences to {num(TOLERANCE)}", worst_fd < TOLERANCE,
              f"largest relative error {num(worst_fd, 2)} over {len(general)} rows"),
        Check(f"every general identity agrees with torch autograd to {num(TORCH_TOLERANCE)}",
              worst_torch is not None and worst_torch < TORCH_TOLERANCE,
              "torch is not installed: not checked" if torch is None
              else f"largest relative error {num(worst_torch, 2)}"),
        Check("the textbook −A⁻¹xxᵀA⁻¹ disagrees with central differences at a non-symmetric A",
              textbook_error >= TOLERANCE, f"relative error {textbook_error:.2g}"),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Matrix-calculus identities, checked numerically", claim=claim, checks=checks, why=why,
                    setup=f"d = {d}: vectors are (d,), matrices (d, d). Central differences with ε = {num(EPS)}; the "
                    "error is `hn.relative_error`, max |hand − reference| / max |reference|. A, B and X are "
                    "general matrices; for the inverse and the determinant A = 3I + noise (invertible, not "
                    "symmetric), and “a symmetric A” is that A plus its transpose. torch in float64.")
    report.table(["identity", "error vs finite differences", "error vs torch"],
                 [[r["name"], r["fd_error"], "not run" if r["torch_error"] is None else r["torch_error"]]
                  for r in results])

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(results) + 1))
    errors = [max(r["fd_error"], 1e-18) for r in results]
    colours = ["tab:red" if r["symmetric_only"] else "tab:blue" for r in results]
    ax.barh(range(len(results)), errors, color=colours)
    ax.axvline(TOLERANCE, color="k", ls="--", label=f"tolerance {num(TOLERANCE)}")
    ax.set_xscale("log")
    ax.set_yticks(range(len(results)), [r["name"] for r in results], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("relative error, hand formula vs central differences")
    ax.legend()
    report.figure(fig, "errors.png", "Error of each formula against finite differences (red: the symmetric-only form)")
    metrics = dict(d=d, eps=EPS, tolerance=TOLERANCE, torch_tolerance=TORCH_TOLERANCE, rows=results,
                   max_error_general=worst_fd, max_torch_error_general=worst_torch, textbook_error=textbook_error)
    return report.write(out_dir, metrics)
