"""Logistic regression: gradient descent's rate is set by the curvature it meets, not the worst case.

Near the solution, gradient descent with step 1/L divides ‖∇f‖ by 10 every ln 10 / −ln(1 − h/L)
steps, within 15%, where h is the smallest eigenvalue of the Hessian ∇²f(w*) on the row space of X;
the worst-case factor 1 − μ/L (μ = λ) bounds GD's, and on make_classification, whose X has
dependent columns, it overstates GD's steps more than tenfold although λ_min(∇²f(w*)) = λ there.

From w₀ = 0 every gradient Xᵀ(σ − y)/n + λw lies in the row space of X when w does, so GD never
leaves it; on the other directions the Hessian is exactly λI, and X has such directions when its
columns are dependent. Near w*, GD multiplies its error by I − H/L per step, H = ∇²f(w*), so the
slowest component, along h, shrinks by 1 − h/L, and once the faster ones have died out, so does
‖∇f‖. μ = λ is the curvature that holds at every w (the data term's σ(1 − σ) tends to 0 for large
margins), so 1 − μ/L bounds the factor everywhere but predicts it only where the data curve no
more than the penalty, h ≈ λ, as on breast_cancer. The local condition number λ_max/λ_min of H
misleads on make_classification: its λ_min = λ comes from directions GD never moves in.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from experiments._report import Check, Report, num, paragraphs
from experiments.logistic_newton_vs_gd import CLASSIFICATION, CLASSIFICATION_QUICK, GD_MAX_ITER, LAM, TOL, datasets
from handnet.losses import Logistic
from handnet.optim import gradient_descent, newton

NAME = "logistic_gd_rate"
AGREEMENT = 0.15   # GD's measured steps per tenfold drop must be within this fraction of 1 − h/L's
OVERSTATED = 10    # on make_classification the worst case must allow at least this many times GD's steps


def per_decade(factor: float) -> float:
    """Steps a constant factor per step needs to divide ‖∇f‖ by 10: ln 10 / (−ln factor)."""
    return float(np.log(10) / -np.log(factor))


def curvature(data: str, X: np.ndarray, y: np.ndarray) -> dict:
    """GD's measured factor per step over the last quarter of its run, against 1 − h/L and 1 − μ/L."""
    objective = Logistic(X, y, LAM)
    w0 = np.zeros(objective.n_features)
    w_star = newton(objective, w0, tol=TOL).x
    gd = gradient_descent(objective, w0, tol=TOL, max_iter=GD_MAX_ITER)              # step 1/L
    g, K = np.array(gd.history["grad_norm"]), gd.n_iter
    H = objective.hessian(w_star)                                                     # (d, d)
    _, s, Vt = np.linalg.svd(X, full_matrices=False)                                  # s (d,), Vt (d, d): n ≥ d
    rank = int(np.sum(s > s[0] * max(X.shape) * np.finfo(np.float64).eps))
    Q = Vt[:rank].T                                        # (d, r): an orthonormal basis of the row space
    h = float(np.linalg.eigvalsh(Q.T @ H @ Q)[0])          # (r, d) @ (d, d) @ (d, r) -> (r, r)
    L, mu = objective.lipschitz, objective.strong_convexity
    measured = float((g[K] / g[3 * K // 4]) ** (1 / (K - 3 * K // 4)))               # per step, last quarter
    return dict(data=data, n=X.shape[0], d=X.shape[1], rank=rank, L=L, mu=mu,
                hessian_min=float(np.linalg.eigvalsh(H)[0]), h=h, gd_iterations=K, gd_converged=gd.converged,
                worst_case_factor=1 - mu / L, local_factor=1 - h / L,
                measured_factor=measured, steps_worst_case=per_decade(1 - mu / L), steps_local=per_decade(1 - h / L),
                steps_measured=per_decade(measured), grad_norms=g)


def plot_rates(results: list[dict]) -> plt.Figure:
    """GD's ‖∇f‖ on a linear iteration axis, where a constant factor per step is a straight line,
    with the lines the factors 1 − h/L and 1 − μ/L would draw through its last point."""
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for ax, r in zip(axes[0], results):
        g = r["grad_norms"]
        k = np.arange(len(g))
        ax.plot(k, g, color="tab:orange", lw=2, label=f"GD ({r['gd_iterations']} iterations)")
        for factor, style, colour, name in ((r["local_factor"], "--", "tab:blue", "1 − h/L"),
                                            (r["worst_case_factor"], ":", "tab:red", "1 − μ/L (worst case)")):
            ax.plot(k, g[-1] * factor ** (k - k[-1]), style, color=colour, lw=1.5, label=f"{name} = {factor:.7f}")
        ax.axhline(TOL, color="grey", lw=0.8, label=f"tolerance {num(TOL)}")
        ax.set(yscale="log", ylim=(TOL / 10, 10 * g.max()), xlabel="iteration k", ylabel="‖∇f(wₖ)‖",
               title=f"{r['data']}: gradient descent, step 1/L")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    results = [curvature(*dataset) for dataset in tqdm(datasets(quick, seed), desc=NAME, unit="data set", leave=False)]
    off = [abs(r["steps_measured"] / r["steps_local"] - 1) for r in results]
    mc = next(r for r in results if r["data"] == "make_classification")
    overstated = mc["steps_worst_case"] / mc["steps_measured"]
    checks = [
        Check("GD converges (‖∇f‖ ≤ 1e-8) on every data set", all(r["gd_converged"] for r in results),
              ", ".join(f"{r['gd_iterations']} iterations ({r['data']})" for r in results)),
        Check(f"GD's steps per tenfold drop near w* are 1 − h/L's, within {AGREEMENT:.0%}", max(off) <= AGREEMENT,
              ", ".join(f"{r['steps_measured']:.4g} against {r['steps_local']:.4g} ({r['data']})" for r in results)),
        Check("the worst-case factor 1 − μ/L bounds GD's", all(r["measured_factor"] <= r["worst_case_factor"]
                                                            for r in results),
              ", ".join(f"{r['measured_factor']:.6f} ≤ {r['worst_case_factor']:.6f}" for r in results)),
        Check(f"on make_classification X has dependent columns and λ_min(H) = λ, yet the worst case allows "
              f"≥ {OVERSTATED}× GD's steps", mc["rank"] < mc["d"] and abs(mc["hessian_min"] / LAM - 1) < 1e-6
              and overstated >= OVERSTATED,
              f"rank {mc['rank']} of {mc['d']}; λ_min(H)/λ = {mc['hessian_min'] / LAM:.6f}; {overstated:.0f}×"),
    ]
    classification = CLASSIFICATION_QUICK if quick else CLASSIFICATION
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Logistic regression: GD's rate is set by the curvature it meets", claim=claim,
                    checks=checks, why=why,
                    setup=f"The objective and data of `logistic_newton_vs_gd`: λ = {num(LAM)}, breast_cancer's "
                    "training split and make_classification "
                    f"({', '.join(f'{k}={v}' for k, v in classification.items())}), standardised, a bias column "
                    "counted in d. GD from w₀ = 0 with step 1/L to ‖∇f‖ ≤ 1e-8; w* is Newton's solution. "
                    "h is the smallest eigenvalue of ∇²f(w*) on the row space of X (from the SVD of X); GD's "
                    "measured factor per step is its mean over the last quarter of the run.")
    report.table(["data", "rank of X / d", "L", "μ = λ", "λ_min(H)", "h", "steps per tenfold drop: worst case",
                  "near w*", "measured", "GD iterations"],
                 [[r["data"], f"{r['rank']} / {r['d']}", r["L"], r["mu"], r["hessian_min"], r["h"],
                   r["steps_worst_case"], r["steps_local"], r["steps_measured"], r["gd_iterations"]] for r in results])
    report.figure(plot_rates(results), "gd_rate.png",
                  "GD's gradient norm on a linear iteration axis, with the lines a constant factor 1 − h/L (dashed) "
                  "or 1 − μ/L (dotted) per step would draw through its last point")
    metrics = dict(lam=LAM, tol=TOL, agreement=AGREEMENT, overstated=OVERSTATED, worst_case_over_measured=overstated,
                   datasets=[{k: v for k, v in r.items() if k != "grad_norms"} for r in results])
    return report.write(out_dir, metrics)
