"""Logistic regression: Newton's method against gradient descent, and against scikit-learn.

On L2-penalised logistic regression (λ = 1e-3), gradient descent (step 1/L) and Newton's method both
reach ‖∇f‖ ≤ 1e-8 on breast_cancer and on a make_classification set; Newton takes at least 10 times
fewer iterations and its last steps converge quadratically; scikit-learn minimises the same f, and
both our solutions lie within the distance strong convexity allows of its coefficients.

Near w*, GD with step 1/L multiplies its error by about I − H/L per step, H = ∇²f(w*): a constant
factor, so ‖∇f‖ falls linearly, and slowly where H curves little (``logistic_gd_rate`` measures
that factor). Newton's step solves the local quadratic model exactly, so near w* the gradient
squares at every step, ‖∇f(wₖ₊₁)‖ ≤ C‖∇f(wₖ)‖², once the full step t = 1 is accepted, whatever the
conditioning. The order estimate p = log(g_K/g_{K−1}) / log(g_{K−1}/g_{K−2}) over the last three
gradient norms gₖ is 2 for that and 1 for linear convergence. The distance to scikit-learn follows
from strong convexity, μ‖w − w*‖ ≤ ‖∇f(w)‖ with μ = λ: ours stop at ‖∇f‖ ≤ 1e-8, so ‖w − w*‖ ≤
1e-8/λ; scikit-learn's, by our gradient at its coefficients, is within 1e-10/λ of w*; the
triangle inequality adds the two.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from experiments._report import Check, Report, num, paragraphs
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
SKLEARN_GRAD_TOL = 1e-10   # our ‖∇f‖ at scikit-learn's coefficients must be at most this
SKLEARN_DISTANCE = (TOL + SKLEARN_GRAD_TOL) / LAM   # ‖w − w_sk‖ allowed, as ‖∇f(w)‖ ≥ λ‖w − w*‖
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
                final_grad_norm=float(g[-1]), last_order=float(p[-1]) if p.size else None, grad_norms=g,
                step_sizes=result.history["step_size"], w=result.x)


def sklearn_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int, float]:
    """scikit-learn's minimiser of the same f, C Σ ℓᵢ + ½‖w‖² with C = 1/(nλ): (w, iterations, seconds)."""
    from sklearn.linear_model import LogisticRegression
    start = time.perf_counter()
    model = LogisticRegression(C=1 / (len(y) * LAM), fit_intercept=False, **SKLEARN).fit(X, y)
    return model.coef_.ravel(), int(model.n_iter_[0]), time.perf_counter() - start


def compare(data: str, X: np.ndarray, y: np.ndarray) -> dict:
    """Newton, GD and scikit-learn on one data set, and each of our runs' distance to scikit-learn's w."""
    objective = Logistic(X, y, LAM)
    runs = [minimise(method, objective) for method in ("Newton", "GD")]
    w_sk, sk_iterations, sk_seconds = sklearn_fit(X, y)
    for run in runs:
        run["sklearn_distance"] = float(np.linalg.norm(run["w"] - w_sk))
    return dict(data=data, n=X.shape[0], d=X.shape[1], runs=runs,
                iteration_ratio=runs[1]["iterations"] / runs[0]["iterations"],   # GD over Newton
                sklearn_iterations=sk_iterations, sklearn_seconds=sk_seconds,
                sklearn_grad_norm=float(np.linalg.norm(objective.grad(w_sk))))   # handnet's ∇f at sklearn's w


def plot_grad_norms(results: list[dict]) -> plt.Figure:
    """‖∇f‖ per iteration, the iteration axis logarithmic so that Newton's 10 and GD's 10 000 both show."""
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for ax, res in zip(axes[0], results):
        for run, style in zip(res["runs"], ("o-", "-")):
            g = run["grad_norms"]
            ax.plot(np.arange(1, len(g) + 1), g, style, ms=4, label=f"{run['method']} ({run['iterations']} iterations)")
        ax.axhline(TOL, color="grey", lw=0.8, label=f"tolerance {num(TOL)}")
        ax.set(xscale="log", yscale="log", xlabel="iteration k + 1", ylabel="‖∇f(wₖ)‖",
               title=f"{res['data']} (n = {res['n']}, d = {res['d']}, λ = {num(LAM)})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_successive(results: list[dict]) -> plt.Figure:
    """‖∇_{k+1}‖ against ‖∇_k‖, log-log: slope 1 is linear convergence, slope 2 quadratic."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for res, colour in zip(results, ("tab:blue", "tab:orange")):
        newton_run, gd = res["runs"]
        g = newton_run["grad_norms"]
        ax.plot(g[:-1], g[1:], "o-", color=colour, label=f"Newton, {res['data']}")
        g = gd["grad_norms"]
        ax.plot(g[:-1], g[1:], "-", color=colour, lw=3, alpha=0.4, label=f"GD, {res['data']}")
    span = np.geomspace(1e-9, 10, 50)
    ax.plot(span, span, "k--", lw=1, label="‖∇ₖ₊₁‖ = ‖∇ₖ‖ (slope 1: no progress)")
    ax.plot(span, span ** 2, "k:", lw=1, label="‖∇ₖ₊₁‖ = ‖∇ₖ‖² (slope 2)")
    ax.set(xscale="log", yscale="log", ylim=(1e-17, 10), xlabel="‖∇f(wₖ)‖", ylabel="‖∇f(wₖ₊₁)‖",
           title="Successive gradient norms: Newton's last steps follow slope 2")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    results = [compare(*dataset) for dataset in tqdm(datasets(quick, seed), desc=NAME, unit="data set", leave=False)]
    every = [run for res in results for run in res["runs"]]
    orders = [res["runs"][0]["last_order"] for res in results]
    farthest = max(every, key=lambda run: run["sklearn_distance"])
    sk_grad = max(res["sklearn_grad_norm"] for res in results)
    checks = [
        Check(f"Newton and GD both reach ‖∇f‖ ≤ {num(TOL)} (GD within {GD_MAX_ITER} iterations)",
              all(run["converged"] for run in every),
              f"{sum(run['converged'] for run in every)} of {len(every)} runs; largest final ‖∇f‖ "
              f"{num(max(run['final_grad_norm'] for run in every), 2)}"),
        Check(f"Newton takes at least {SPEEDUP} times fewer iterations than GD",
              all(res["iteration_ratio"] >= SPEEDUP for res in results),
              "GD/Newton: " + ", ".join(f"{res['iteration_ratio']:.0f} ({res['data']})" for res in results)),
        Check(f"Newton's last steps are quadratic: order estimate p ≥ {ORDER_MIN}",
              all(p is not None and p >= ORDER_MIN for p in orders),
              "p = " + ", ".join("none" if p is None else f"{p:.3f}" for p in orders)),
        Check(f"scikit-learn minimises the same f: our ‖∇f‖ at its coefficients ≤ {num(SKLEARN_GRAD_TOL)}",
              sk_grad <= SKLEARN_GRAD_TOL, f"at most {num(sk_grad, 2)}"),
        Check(f"both our solutions lie within ({num(TOL)} + {num(SKLEARN_GRAD_TOL)})/λ = {SKLEARN_DISTANCE:.3g} "
              "of scikit-learn's",
              farthest["sklearn_distance"] <= SKLEARN_DISTANCE,
              f"largest {num(farthest['sklearn_distance'], 3)} ({farthest['method']})"),
    ]
    classification = CLASSIFICATION_QUICK if quick else CLASSIFICATION
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Logistic regression: Newton's method against gradient descent", claim=claim,
                    checks=checks, why=why,
                    setup="f(w) = (1/n) Σ BCE(xᵢᵀw, yᵢ) + λ/2 ‖w‖² (`handnet.losses.Logistic`), with a column of "
                    "ones for the intercept, penalised like the other weights; d counts it. breast_cancer: the "
                    "training split, standardised. make_classification: "
                    f"{', '.join(f'{k}={v}' for k, v in classification.items())}, standardised. Both minimisers "
                    "start at w₀ = 0; GD's step is 1/L with L = λ_max(XᵀX)/(4n) + λ; Newton solves by Cholesky "
                    "and backtracks from t = 1. scikit-learn: LogisticRegression(C = 1/(nλ), fit_intercept=False, "
                    f"solver={SKLEARN['solver']}, tol={num(SKLEARN['tol'])}); its “final ‖∇f‖” is our gradient at "
                    "its coefficients. Times are single runs.")
    report.table(["data", "n", "d", "method", "iterations", "time (s)", "final ‖∇f‖", "order p", "‖w − w_sk‖"],
                 [[res["data"], res["n"], res["d"], run["method"], run["iterations"], run["seconds"],
                   run["final_grad_norm"], run["last_order"], run["sklearn_distance"]]
                  for res in results for run in res["runs"]]
                 + [[res["data"], res["n"], res["d"], "scikit-learn", res["sklearn_iterations"], res["sklearn_seconds"],
                     res["sklearn_grad_norm"], "—", "—"] for res in results])
    report.figure(plot_grad_norms(results), "grad_norm.png",
                  "Gradient norm per iteration (both axes logarithmic): Newton plunges, GD falls by a constant factor")
    report.figure(plot_successive(results), "successive.png",
                  "Successive gradient norms, log-log: GD on slope 1, Newton's final steps on slope 2")

    keep = ("iterations", "seconds", "converged", "final_grad_norm", "last_order", "sklearn_distance")
    metrics = dict(lam=LAM, tol=TOL, gd_max_iter=GD_MAX_ITER, sklearn_distance_bound=SKLEARN_DISTANCE,
                   sklearn=SKLEARN, classification=classification,
                   datasets=[dict({k: res[k] for k in ("data", "n", "d", "iteration_ratio", "sklearn_iterations",
                                                       "sklearn_seconds", "sklearn_grad_norm")},
                                  runs={run["method"]: dict({k: run[k] for k in keep},
                                                            grad_norms=run["grad_norms"][-5:],
                                                            step_sizes=run["step_sizes"][-5:])
                                        for run in res["runs"]})
                             for res in results])
    return report.write(out_dir, metrics)
