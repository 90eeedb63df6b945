"""Least squares in n and d: gradient descent's iterations depend on κ alone; the closed form's stages, timed.

On least squares with the conditioning held fixed (κ = L/μ = 100), gradient descent with step 1/L
needs the same number of iterations, within 30%, at every n and d of the sweep, and reaches the
closed-form solution to 1e-8·‖w*‖ at each: its cost is that count times one O(nd) step.

GD's bound ‖wₖ − w*‖ ≤ (1 − 1/κ)ᵏ‖w*‖ depends on κ alone, so the iterations it needs do not grow
with n or d; each iteration is two products with X (Xw and Xᵀr), about 4nd flops. The closed form has three
stages: forming XᵀX and Xᵀy (about nd² flops), factorising XᵀX = LLᵀ by Cholesky (d³/3) and two
triangular solves (d² each). At these sizes wall time is not flops, which is why times are reported
here and never claimed: handnet's triangular solves go a block of 64 rows at a time, so they cost a
fixed overhead per block whatever n is; BLAS does more flops per second on larger matrices; and per-call
overheads weigh most at the smallest sizes. The fitted exponents describe these sizes on this
machine, not the asymptotic costs.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from experiments._timing import best_time
from experiments._report import Check, Report, num, paragraphs
from experiments.ridge_gd_vs_normal import TARGET, run, synthetic
from handnet.linalg import back_substitution, forward_substitution, gram_eigenvalue_range
from handnet.losses import Ridge
from handnet.optim import gradient_descent

NAME = "ridge_scaling"
KAPPA = 100.0      # the condition number of XᵀX/n at every size
SPREAD = 0.3       # GD's iterations must lie within (1 − SPREAD)·bound and the bound at every size
REPEATS = 5        # the closed form's timings are the best of this many runs
# n varies at d = d_fixed, and d at n = n_fixed
SWEEP = dict(ns=(500, 2000, 8000), ds=(25, 50, 100, 200, 400), n_fixed=2000, d_fixed=50)
SWEEP_QUICK = dict(ns=(200, 800), ds=(5, 10, 20), n_fixed=400, d_fixed=10)
STAGES = {"form": "form XᵀX, Xᵀy", "factor": "Cholesky", "solve": "triangular solves"}
PREDICTED = {"gd": "1, 1", "closed_form": "1, 2 to 3", "form": "1, 2", "factor": "0, 3", "solve": "0, 2",
             "eig": "1, 2 to 3"}   # the exponents (in n, in d) of the flop counts


def timings(ridge: Ridge, iterations: int) -> dict[str, float]:
    """Wall times (s): GD for exactly ``iterations`` steps (one run, no callback); the closed form
    whole and in its stages; and the eigenvalues of XᵀX/n that give GD its step 1/L."""
    X, y = ridge.X, ridge.y
    A, b = X.T @ X, X.T @ y                                   # (d, n) @ (n, d) -> (d, d); (d,)
    L = np.linalg.cholesky(A)
    start = time.perf_counter()
    gradient_descent(ridge, np.zeros(ridge.n_features), lr=1 / ridge.lipschitz, max_iter=iterations, tol=0.0)
    return dict(gd=time.perf_counter() - start, closed_form=best_time(ridge.solve, REPEATS),
                form=best_time(lambda: (X.T @ X, X.T @ y), REPEATS),
                factor=best_time(lambda: np.linalg.cholesky(A), REPEATS),
                solve=best_time(lambda: back_substitution(L.T, forward_substitution(L, b)), REPEATS),
                eig=best_time(lambda: gram_eigenvalue_range(X), REPEATS))


def line(sweep: list[dict], axis: str, cfg: dict) -> list[dict]:
    """The sweep points along one axis ("n" or "d"), the other held at its fixed value, in order."""
    other = "d" if axis == "n" else "n"
    return sorted((r for r in sweep if r[other] == cfg[f"{other}_fixed"]), key=lambda r: r[axis])


def slope(points: list[dict], axis: str, key: str) -> float:
    """The exponent p of time ∝ axis^p, fitted by least squares on log-log axes."""
    return float(np.polyfit(np.log([r[axis] for r in points]), np.log([r["seconds"][key] for r in points]), 1)[0])


def plot_scaling(sweep: list[dict], cfg: dict) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, axis in zip(axes, ("n", "d")):
        points = line(sweep, axis, cfg)
        x = [r[axis] for r in points]
        for key, style, label in (("gd", "o-", "gradient descent to the target"),
                                  ("closed_form", "s-", "closed form (Cholesky)"),
                                  ("eig", "^--", "L and μ (eigenvalues of XᵀX/n)")):
            ax.plot(x, [r["seconds"][key] for r in points], style, label=label)
        for key, label in STAGES.items():
            ax.plot(x, [r["seconds"][key] for r in points], ".:", lw=1, label=f"closed form's stage: {label}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xticks([], minor=True)
        ax.set(xlabel=axis, ylabel="wall time (s)")
        other = "d" if axis == "n" else "n"
        ax.set_title(f"time against {axis}, at {other} = {cfg[f'{other}_fixed']}, κ = {KAPPA:g}")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))   # room for the shared legend below the panels
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    cfg = SWEEP_QUICK if quick else SWEEP
    grid = list(dict.fromkeys([(n, cfg["d_fixed"]) for n in cfg["ns"]] + [(cfg["n_fixed"], d) for d in cfg["ds"]]))
    sweep = []
    for n, d in tqdm(grid, desc=NAME, unit="size", leave=False):
        data = synthetic(n, d, KAPPA, seed)
        ridge = Ridge(data.X_train, data.y_train, 0.0)
        r = run(f"n={n} d={d}", ridge, "1/L")
        r.update(n=n, d=d, seconds=timings(ridge, r["iterations"] or r["bound_iterations"]))
        sweep.append(r)

    bounds = sorted({r["bound_iterations"] for r in sweep})
    counts = [r["iterations"] for r in sweep]
    reached = None not in counts
    within = reached and all((1 - SPREAD) * r["bound_iterations"] <= r["iterations"] <= r["bound_iterations"]
                             for r in sweep)
    exponents = {key: {axis: slope(line(sweep, axis, cfg), axis, key) for axis in "nd"} for key in PREDICTED}
    checks = [
        Check("the bound needs the same number of iterations at every (n, d)", len(bounds) == 1,
              f"{', '.join(map(str, bounds))} at all {len(sweep)} sizes"),
        Check(f"GD's iterations lie within {1 - SPREAD:.0%}–100% of the bound's at every size", within,
              "never reached" if not reached else f"{min(counts)} to {max(counts)} (bound {max(bounds)})"),
        Check(f"GD reaches ‖w − w*‖ ≤ {num(TARGET)}·‖w*‖ at every size", reached,
              f"{sum(c is not None for c in counts)} of {len(sweep)} sizes"),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Least squares in n and d: GD's iterations and the closed form's stages", claim=claim,
                    checks=checks, why=why,
                    setup=f"Synthetic least squares (λ = 0), XᵀX/n with eigenvalues from 1 to κ = {KAPPA:g}, at the "
                    f"sizes of the table: n at d = {cfg['d_fixed']}, d at n = {cfg['n_fixed']}. GD with step 1/L "
                    f"from w₀ = 0; its time is one run of exactly its iterations. The closed form (`Ridge.solve`) "
                    f"and each of its stages: the best of {REPEATS} runs. Times in seconds.")
    report.table(["n", "d", "iterations", "GD", "closed form", *STAGES.values(), "L, μ"],
                 [[r["n"], r["d"], r["iterations"], *(r["seconds"][k] for k in ("gd", "closed_form", *STAGES, "eig"))]
                  for r in sweep])
    labels = {"gd": "gradient descent", "closed_form": "closed form, all of it", "eig": "L, μ (eigenvalues)",
              **{k: f"closed form: {v}" for k, v in STAGES.items()}}
    report.table(["time of", "exponent in n", "exponent in d", "flop count predicts (n, d)"],
                 [[labels[k], round(e["n"], 2) + 0.0, round(e["d"], 2) + 0.0, PREDICTED[k]]   # + 0.0: no -0
                  for k, e in exponents.items()])
    report.figure(plot_scaling(sweep, cfg), "scaling.png",
                  "Wall time against n and against d (log-log); dotted, the closed form's three stages")
    keep = ("n", "d", "kappa", "bound_iterations", "iterations", "final_distance", "bound_held", "seconds")
    metrics = dict(kappa=KAPPA, target=TARGET, spread=SPREAD, repeats=REPEATS,
                   sweep=[{k: r[k] for k in keep} for r in sweep], time_exponents=exponents)
    return report.write(out_dir, metrics)
