"""Logistic regression: Newton's method against gradient descent, and against scikit-learn.

On L2-penalised logistic regression (λ = 1e-3, so f is strongly convex and has exactly one
minimiser), both gradient descent (step 1/L) and Newton's method reach ‖∇f‖ ≤ 1e-8 — GD within
100 000 iterations — on breast_cancer and on a make_classification set; Newton takes at least 10
times fewer iterations than GD; its last steps converge quadratically: the order estimate
p = log(g_K/g_{K−1}) / log(g_{K−1}/g_{K−2}) over its last three gradient norms g_k = ‖∇f(w_k)‖ is at
least 1.5 (p = 2 for ‖∇_{k+1}‖ = C‖∇_k‖², p = 1 for linear convergence); and the coefficients of
both agree with scikit-learn's LogisticRegression(C = 1/(nλ), fit_intercept=False) to a relative
difference max|w − w_sk| / max|w_sk| ≤ 1e-5.

Why: GD's error shrinks by a factor of about 1 − μ/L per step, and here L/μ is in the thousands
(μ = λ is all the curvature guaranteed far from the data). Newton's step solves the local
quadratic model exactly, so near w* the error squares at every step whatever the conditioning:
‖∇f(w_{k+1})‖ ≤ C‖∇f(w_k)‖² once t = 1 is accepted. The tolerance on the coefficients comes from
strong convexity: ‖w − w*‖ ≤ ‖∇f(w)‖/μ = 1e-8/1e-3 = 1e-5 for either minimiser.

Model: f(w) = (1/n) Σ BCE(xᵢᵀw, yᵢ) + λ/2 ‖w‖² (``handnet.losses.Logistic``) with a column of ones
appended to the standardised features for the intercept, penalised like the other weights —
scikit-learn is given the same columns with fit_intercept=False, so both minimise the same f.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from experiments._report import Report, fmt
from handnet.data import breast_cancer
from handnet.losses import Logistic
from handnet.optim import gradient_descent, newton

NAME = "logistic_newton_vs_gd"
LAM = 1e-3             # the L2 penalty λ > 0: a unique minimiser exists even for separable classes
TOL = 1e-8             # both minimisers stop at ‖∇f‖ ≤ TOL
GD_MAX_ITER = 100_000
NEWTON_MAX_ITER = 50
SPEEDUP = 10           # Newton must take at least this many times fewer iterations than GD
ORDER_MIN = 1.5        # the least order estimate over Newton's last three gradient norms
SKLEARN_TOL = 1e-5     # the largest max|w − w_sk| / max|w_sk| accepted
SKLEARN = dict(solver="newton-cg", tol=1e-12, max_iter=1000)   # solved far below TOL
CLASSIFICATION = dict(n_samples=5000, n_features=50, n_informative=10, flip_y=0.05)
CLASSIFICATION_QUICK = dict(n_samples=500, n_features=10, n_informative=5, flip_y=0.05)


def with_bias(X: np.ndarray) -> np.ndarray:
    """X (n, D) with a column of ones appended: (n, D + 1)."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


def datasets(quick: bool, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, X with the bias column, y in {0, 1}): breast_cancer's training split, make_classification."""
    from sklearn.datasets import make_classification
    bc = breast_cancer(seed=seed)   # standardised with the training split's statistics
    X, y = make_classification(**(CLASSIFICATION_QUICK if quick else CLASSIFICATION), random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return [("breast_cancer", with_bias(bc.X_train), bc.y_train), ("make_classification", with_bias(X), y)]


def order_estimates(g: np.ndarray) -> np.ndarray:
    """p_k = log(g_{k+1}/g_k) / log(g_k/g_{k−1}) for k = 1, …, K−1, from gradient norms g_0, …, g_K.

    If g_{k+1} = C g_k^q exactly, p_k = q: 1 for linear convergence, 2 for quadratic.
    """
    with np.errstate(divide="ignore", invalid="ignore"):   # a step that changed nothing has no order: nan
        return np.log(g[2:] / g[1:-1]) / np.log(g[1:-1] / g[:-2])


def minimise(method: str, objective: Logistic) -> dict:
    """Run one minimiser from w_0 = 0 and time it."""
    w0 = np.zeros(objective.n_features)
    start = time.perf_counter()
    if method == "Newton":
        result = newton(objective, w0, tol=TOL, max_iter=NEWTON_MAX_ITER)
    else:
        result = gradient_descent(objective, w0, tol=TOL, max_iter=GD_MAX_ITER)   # step 1/L
    seconds = time.perf_counter() - start
    g = np.array(result.history["grad_norm"])
    p = order_estimates(g)
    return dict(method=method, iterations=result.n_iter, seconds=seconds, converged=result.converged,
                message=result.message, final_grad_norm=float(g[-1]),
                last_order=float(p[-1]) if p.size else None,
                grad_norms=g, orders=p, step_sizes=result.history["step_size"], w=result.x)


def sklearn_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int, float]:
    """scikit-learn's minimiser of the same f, C Σ ℓᵢ + ½‖w‖² with C = 1/(nλ): (w, iterations, seconds)."""
    from sklearn.linear_model import LogisticRegression
    start = time.perf_counter()
    model = LogisticRegression(C=1 / (len(y) * LAM), fit_intercept=False, **SKLEARN).fit(X, y)
    return model.coef_.ravel(), int(model.n_iter_[0]), time.perf_counter() - start


def compare(data: str, X: np.ndarray, y: np.ndarray) -> dict:
    """Newton, GD and scikit-learn on one data set; each run's max|w − w_sk| / max|w_sk|."""
    objective = Logistic(X, y, LAM)
    runs = [minimise(method, objective) for method in ("Newton", "GD")]
    w_sk, sk_iterations, sk_seconds = sklearn_fit(X, y)
    for run in runs:
        run["sklearn_difference"] = float(np.max(np.abs(run["w"] - w_sk)) / np.max(np.abs(w_sk)))
    return dict(data=data, n=X.shape[0], d=X.shape[1], runs=runs,
                iteration_ratio=runs[1]["iterations"] / runs[0]["iterations"],   # GD over Newton
                sklearn_iterations=sk_iterations, sklearn_seconds=sk_seconds,
                sklearn_grad_norm=float(np.linalg.norm(objective.grad(w_sk))))   # handnet's ∇f at sklearn's w


def run_metrics(run: dict) -> dict:
    """What metrics.json keeps of a run: Newton's whole (short) history, GD's last five gradient norms."""
    keep = slice(None) if run["method"] == "Newton" else slice(-5, None)
    return dict({k: run[k] for k in ("iterations", "seconds", "converged", "message", "final_grad_norm",
                                      "last_order", "sklearn_difference")},
                grad_norms=run["grad_norms"][keep], orders=run["orders"][keep], step_sizes=run["step_sizes"][keep])


def plot_grad_norms(results: list[dict]) -> plt.Figure:
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for ax, res in zip(axes[0], results):
        for run, style in zip(res["runs"], ("o-", "-")):
            g = run["grad_norms"]
            ax.plot(np.arange(len(g)), g, style, ms=4, label=f"{run['method']} ({run['iterations']} iterations)")
        ax.axhline(TOL, color="k", ls=":", lw=1, label=f"tolerance {TOL:g}")
        ax.set_xscale("symlog", linthresh=10)   # linear up to 10 (Newton), logarithmic beyond (GD)
        last = max(run["iterations"] for run in res["runs"])
        ax.set_xlim(0, last * 1.2)
        ticks = [0, 2, 4, 6, 8] + [10 ** p for p in range(1, len(str(last)))]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xticks([], minor=True)
        ax.set_yscale("log")
        ax.set_xlabel("iteration k (linear up to 10, logarithmic beyond)")
        ax.set_ylabel("‖∇f(wₖ)‖")
        ax.set_title(f"{res['data']} (n = {res['n']}, d = {res['d']}, λ = {LAM:g})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_successive(results: list[dict]) -> plt.Figure:
    """‖∇_{k+1}‖ against ‖∇_k‖, log-log: slope 1 is linear convergence, slope 2 quadratic."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for res, colour in zip(results, ("tab:blue", "tab:orange")):
        for run in res["runs"]:
            g = run["grad_norms"]
            if run["method"] == "Newton":
                ax.plot(g[:-1], g[1:], "o-", color=colour, label=f"Newton, {res['data']}")
            else:
                ax.plot(g[:-1], g[1:], "-", color=colour, lw=3, alpha=0.4, label=f"GD, {res['data']}")
    span = np.geomspace(1e-9, 10, 50)
    ax.plot(span, span, "k--", lw=1, label="‖∇ₖ₊₁‖ = ‖∇ₖ‖ (slope 1: no progress)")
    ax.plot(span, span ** 2, "k:", lw=1, label="‖∇ₖ₊₁‖ = ‖∇ₖ‖² (slope 2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-17, 10)
    ax.set_xlabel("‖∇f(wₖ)‖")
    ax.set_ylabel("‖∇f(wₖ₊₁)‖")
    ax.set_title("Successive gradient norms: Newton's last steps follow slope 2")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    results = [compare(*dataset) for dataset in tqdm(datasets(quick, seed), desc=f"{NAME}: data sets", leave=False)]

    every = [run for res in results for run in res["runs"]]
    newtons = [res["runs"][0] for res in results]
    all_converged = all(run["converged"] for run in every)
    fewer = all(res["iteration_ratio"] >= SPEEDUP for res in results)
    quadratic = all(run["last_order"] is not None and run["last_order"] >= ORDER_MIN for run in newtons)
    agree = all(run["sklearn_difference"] <= SKLEARN_TOL for run in every)

    report = Report(NAME, "Logistic regression: Newton's method against gradient descent",
                    claim=__doc__.split("\n\n")[1])
    classification = CLASSIFICATION_QUICK if quick else CLASSIFICATION
    report.text(
        f"λ = {LAM:g}; both minimisers start at w_0 = 0 and stop at ‖∇f‖ ≤ {TOL:g} (GD after at most "
        f"{GD_MAX_ITER} updates with step 1/L, L = λ_max(XᵀX)/(4n) + λ; Newton with a Cholesky solve and "
        f"backtracking from t = 1). breast_cancer: the training split, standardised. make_classification: "
        f"{', '.join(f'{k}={v}' for k, v in classification.items())}, standardised. d counts the bias column. "
        f"scikit-learn: LogisticRegression(C = 1/(nλ), fit_intercept=False, solver={SKLEARN['solver']}, "
        f"tol={SKLEARN['tol']:g}). “order p” is the estimate over the last three gradient norms; "
        "“vs sklearn” is max|w − w_sk| / max|w_sk|. Times are single runs.")
    report.table(["data", "n", "d", "method", "iterations", "time (s)", "reached the tolerance", "final ‖∇f‖",
                  "order p", "vs sklearn"],
                 [[res["data"], res["n"], res["d"], run["method"], run["iterations"], run["seconds"],
                   run["converged"], run["final_grad_norm"], run["last_order"], run["sklearn_difference"]]
                  for res in results for run in res["runs"]]
                 + [[res["data"], res["n"], res["d"], f"scikit-learn ({SKLEARN['solver']})",
                     res["sklearn_iterations"], res["sklearn_seconds"], "—", res["sklearn_grad_norm"], "—", "—"]
                    for res in results])
    report.text("GD iterations / Newton iterations: "
                + "; ".join(f"{res['data']}: {res['iteration_ratio']:.1f}" for res in results)
                + f" (claimed: at least {SPEEDUP}). For scikit-learn, “final ‖∇f‖” is handnet's gradient at "
                "scikit-learn's coefficients — small only if both minimise the same f.")
    report.figure(plot_grad_norms(results), "grad_norm.png",
                  "Gradient norm per iteration: GD's straight line is linear convergence, Newton's plunge quadratic")
    for res in results:
        run = res["runs"][0]
        g, p = run["grad_norms"], run["orders"]
        report.text(f"**Newton's steps on {res['data']}.** Quadratic convergence shows as C_k levelling off "
                    "and p_k approaching 2 once full steps (t = 1) are taken near w*.")
        report.table(["k", "step t_k", "‖∇f(w_k)‖", "‖∇f(w_{k+1})‖", "C_k = ‖∇_{k+1}‖/‖∇_k‖²",
                      "order p_k"],
                     [[k, run["step_sizes"][k], g[k], g[k + 1], g[k + 1] / g[k] ** 2,
                       "—" if k == 0 else p[k - 1]] for k in range(run["iterations"])])
    report.figure(plot_successive(results), "successive.png",
                  "Successive gradient norms, log-log: GD on slope 1, Newton's final steps on slope 2")
    missed = [f"{run['method']} on {res['data']}: {run['message']}" for res in results for run in res["runs"]
              if not run["converged"]]
    report.verdict(all_converged and fewer and quadratic and agree,
                   (f"Every run reached ‖∇f‖ ≤ {TOL:g}" if not missed else
                    f"NOT every run reached ‖∇f‖ ≤ {TOL:g} ({'; '.join(missed)})")
                   + "; GD/Newton iteration ratios " + ", ".join(f"{res['iteration_ratio']:.0f}" for res in results)
                   + f" (need ≥ {SPEEDUP}); Newton's last order estimates "
                   + ", ".join(fmt(run["last_order"]) for run in newtons) + f" (need ≥ {ORDER_MIN}); "
                   f"largest difference from scikit-learn {max(run['sklearn_difference'] for run in every):.1e} "
                   f"(need ≤ {SKLEARN_TOL:g}).")

    metrics = dict(lam=LAM, tol=TOL, gd_max_iter=GD_MAX_ITER, speedup_claimed=SPEEDUP, order_min=ORDER_MIN,
                   sklearn_tol=SKLEARN_TOL, sklearn=SKLEARN, classification=classification,
                   datasets=[dict({k: res[k] for k in ("data", "n", "d", "iteration_ratio", "sklearn_iterations",
                                                       "sklearn_seconds", "sklearn_grad_norm")},
                                  runs={run["method"]: run_metrics(run) for run in res["runs"]}) for res in results],
                   all_converged=all_converged, newton_fewer_iterations=fewer, newton_quadratic=quadratic,
                   sklearn_agrees=agree)
    return report.write(out_dir, metrics)
