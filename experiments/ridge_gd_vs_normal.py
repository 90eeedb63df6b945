"""Ridge regression: gradient descent against the closed-form (normal-equation) solution.

On ridge regression f(w) = 1/(2n) ‖y − Xw‖² + λ/2 ‖w‖², gradient descent from w₀ = 0 reaches the
closed-form solution w* = (XᵀX + nλI)⁻¹Xᵀy to ‖wₖ − w*‖ ≤ 1e-8·‖w*‖ in every run, its error never
exceeds the bound ρᵏ‖w*‖ its step promises, and a larger λ needs fewer iterations.

f is quadratic with the constant Hessian H = XᵀX/n + λI, whose eigenvalues hᵢ lie in [μ, L].
Since ∇f(w*) = 0, one step gives wₖ₊₁ − w* = (I − ηH)(wₖ − w*), and I − ηH has the eigenvalues
1 − ηhᵢ, so ‖wₖ − w*‖ ≤ ρᵏ‖w₀ − w*‖ with ρ = max |1 − ηhᵢ|: ρ = 1 − μ/L for η = 1/L, and
ρ = (κ − 1)/(κ + 1) with κ = L/μ for η = 2/(L + μ), the smallest any fixed step achieves. That is
about κ·ln(1/ε) steps, or half as many, to gain a factor ε. A penalty λ moves the whole spectrum
up by λ, so κ = (h_max + λ)/(h_min + λ) falls as λ grows, and so do the iterations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from experiments._report import Check, Report, num, paragraphs
from handnet.data import Dataset, diabetes, linear_regression
from handnet.losses import Ridge
from handnet.optim import gradient_descent

NAME = "ridge_gd_vs_normal"
TARGET = 1e-8      # GD has reached w* when ‖w_k − w*‖ ≤ TARGET·‖w_0 − w*‖ (relative; w_0 = 0)
SLACK = 1e-10      # rounding allowance on the bound, in units of ‖w_0 − w*‖ (100× below TARGET)
NOISE = 0.1        # standard deviation of the noise in the synthetic targets
# (a) synthetic: n training rows, d features, κ of XᵀX/n (its eigenvalues spread from 1 to κ), the penalties
SYNTHETIC = dict(n=1000, d=50, kappa=1000.0, lams=(0.0, 1.0, 10.0, 100.0))
SYNTHETIC_QUICK = dict(n=200, d=10, kappa=100.0, lams=(0.0, 1.0, 10.0))
# (b) diabetes, standardised, with an unpenalised intercept: the penalties (its XᵀX/n has κ ≈ 440)
DIABETES_LAMS = (0.0, 0.01, 0.1, 1.0)
DIABETES_LAMS_QUICK = (0.01, 0.1, 1.0)
# Each step rule: (L, μ) -> (η, ρ), the step and the contraction factor its bound promises.
STEPS: dict[str, Callable[[float, float], tuple[float, float]]] = {
    "1/L": lambda L, mu: (1 / L, 1 - mu / L),
    "2/(L+μ)": lambda L, mu: (2 / (L + mu), (L - mu) / (L + mu)),
}


def synthetic(n: int, d: int, kappa: float, seed: int) -> Dataset:
    """``linear_regression`` with exactly n training rows (test_size = ½ of 2n; the test rows go unused)."""
    return linear_regression(2 * n, d, condition_number=kappa, noise=NOISE, test_size=0.5, seed=seed)


def gd_distances(ridge: Ridge, w_star: np.ndarray, lr: float, n_iter: int) -> np.ndarray:
    """‖w_k − w*‖ for k = 0, …, n_iter: GD from w_0 = 0 with step lr, recorded by its callback."""
    distances = []
    gradient_descent(ridge, np.zeros(ridge.n_features), lr=lr, max_iter=n_iter, tol=0.0,
                     callback=lambda w: distances.append(np.linalg.norm(w - w_star)))
    return np.array(distances)


def run(data: str, ridge: Ridge, step: str) -> dict:
    """GD with one step rule against the closed form: its relative error per iteration, its bound, and
    the first iteration at the target. GD runs for as many steps as the bound needs to reach TARGET:
    if the bound holds, the error has reached the target by then."""
    L, mu = ridge.lipschitz, ridge.strong_convexity
    lr, rho = STEPS[step](L, mu)
    w_star = ridge.solve()                             # Cholesky on the normal equations
    start = float(np.linalg.norm(w_star))              # ‖w_0 − w*‖ with w_0 = 0
    bound_iterations = math.ceil(math.log(TARGET) / math.log(rho))
    error = gd_distances(ridge, w_star, lr, bound_iterations) / start   # (K + 1,), relative
    bound = rho ** np.arange(len(error))
    hits = np.flatnonzero(error <= TARGET)
    return dict(data=data, lam=ridge.lam, step=step, L=L, mu=mu, kappa=L / mu, rho=rho, w_star_norm=start,
                bound_iterations=bound_iterations, iterations=int(hits[0]) if hits.size else None,
                final_distance=float(error[-1]), closest_to_bound=float(np.max(error[1:] / bound[1:])),
                bound_held=bool(np.all(error <= bound + SLACK)), error=error, bound=bound)


def fewer_iterations_with_larger_lam(runs: list[dict]) -> dict[str, list]:
    """For each (data, step), the iterations to the target in order of growing λ."""
    groups = {}
    for r in sorted(runs, key=lambda r: r["lam"]):
        groups.setdefault(f"{r['data']}, {r['step']}", []).append(r["iterations"])
    return groups


def plot_convergence(runs: list[dict]) -> plt.Figure:
    datasets = list(dict.fromkeys(r["data"] for r in runs))
    fig, axes = plt.subplots(len(datasets), len(STEPS), figsize=(12, 4.2 * len(datasets)), squeeze=False)
    for row, data in zip(axes, datasets):
        for ax, step in zip(row, STEPS):
            mine = [r for r in runs if (r["data"], r["step"]) == (data, step)]
            for i, r in enumerate(mine):
                colour = plt.cm.viridis(0.85 * i / max(1, len(mine) - 1))   # stop short of pale yellow
                k = np.arange(len(r["error"]))
                ax.plot(k, r["error"], color=colour, lw=1.8, label=f"λ = {r['lam']:g} (κ = {r['kappa']:.4g})")
                ax.plot(k, r["bound"], color=colour, lw=1, ls="--")
            ax.axhline(TARGET, color="k", ls=":", lw=1, label=f"target {num(TARGET)}")
            ax.plot([], [], color="grey", ls="--", lw=1, label="theoretical bound")
            ax.set_yscale("log")
            ax.set_ylim(TARGET / 20, 2)
            ax.set_xlabel("iteration k")
            ax.set_ylabel("‖wₖ − w*‖ / ‖w₀ − w*‖")
            ax.set_title(f"{data}, step η = {step}")
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    syn = SYNTHETIC_QUICK if quick else SYNTHETIC
    synth, diab = synthetic(syn["n"], syn["d"], syn["kappa"], seed), diabetes(seed=seed)
    problems = ([(f"synthetic κ={syn['kappa']:g}", Ridge(synth.X_train, synth.y_train, lam)) for lam in syn["lams"]]
                + [("diabetes", Ridge(diab.X_train, diab.y_train, lam, fit_intercept=True))
                   for lam in (DIABETES_LAMS_QUICK if quick else DIABETES_LAMS)])
    jobs = [(data, ridge, step) for data, ridge in problems for step in STEPS]
    runs = [run(*job) for job in tqdm(jobs, desc=NAME, unit="run", leave=False)]

    reached = [r for r in runs if r["iterations"] is not None]
    worst_final = max(r["final_distance"] for r in runs)
    closest = max(r["closest_to_bound"] for r in runs)
    groups = fewer_iterations_with_larger_lam(runs)
    falls = all(None not in counts and all(a > b for a, b in zip(counts, counts[1:])) for counts in groups.values())
    checks = [
        Check(f"GD reaches ‖wₖ − w*‖ ≤ {num(TARGET)}·‖w*‖ in every run", len(reached) == len(runs),
              f"{len(reached)} of {len(runs)} runs; largest distance at the bound's iterations {num(worst_final, 2)}"),
        Check(f"the error never exceeds its bound ρᵏ‖w*‖ (+ {num(SLACK)}·‖w*‖ for rounding)",
              all(r["bound_held"] for r in runs), f"largest error/bound {closest:.3f}"),
        Check("a larger λ needs fewer iterations, for each data set and step", falls,
              "; ".join(f"{group}: {' → '.join(map(str, counts))}" for group, counts in groups.items())),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Ridge regression: gradient descent against the closed-form solution", claim=claim,
                    checks=checks, why=why,
                    setup=f"Synthetic: n = {syn['n']} rows, d = {syn['d']} features, XᵀX/n with eigenvalues from 1 "
                    f"to κ = {syn['kappa']:g}, noise {NOISE}. Diabetes: n = {diab.X_train.shape[0]}, "
                    f"d = {diab.n_features}, standardised, with an unpenalised intercept (the objective sees "
                    "centred data). Training splits only. w* by Cholesky on the normal equations "
                    "(`Ridge.solve`). GD starts at w₀ = 0, so ‖w₀ − w*‖ = ‖w*‖, and runs for the bound's "
                    "iterations; “iterations” is the first k at the target.")
    report.table(["data", "λ", "κ = L/μ", "step", "ρ", "bound iterations", "iterations", "max error/bound"],
                 [[r["data"], r["lam"], r["kappa"], r["step"], r["rho"], r["bound_iterations"],
                   "never" if r["iterations"] is None else r["iterations"], r["closest_to_bound"]] for r in runs])
    report.figure(plot_convergence(runs), "convergence.png",
                  "Relative error of GD (solid) and its theoretical bound (dashed), per λ; a larger λ lowers κ")

    keep = ("data", "lam", "step", "L", "mu", "kappa", "rho", "w_star_norm", "bound_iterations", "iterations",
            "final_distance", "closest_to_bound", "bound_held")
    metrics = dict(target=TARGET, slack=SLACK, synthetic=dict(syn, lams=list(syn["lams"])),
                   diabetes_n=diab.X_train.shape[0], runs=[{k: r[k] for k in keep} for r in runs],
                   iterations_by_lam=groups, max_final_distance=worst_final, closest_to_bound=closest)
    return report.write(out_dir, metrics)
