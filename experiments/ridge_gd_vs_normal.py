"""Ridge regression: gradient descent against the closed-form (normal-equation) solution.

On ridge regression f(w) = 1/(2n) ‖y − Xw‖² + λ/2 ‖w‖², gradient descent from w_0 = 0 reaches the
closed-form solution w* = (XᵀX + nλI)⁻¹Xᵀy (solved by Cholesky) to a relative distance
‖w_k − w*‖ ≤ 1e-8·‖w_0 − w*‖ in every run; its error never exceeds the theoretical bound for its
step — (1 − μ/L)^k ‖w_0 − w*‖ for η = 1/L, ((κ − 1)/(κ + 1))^k ‖w_0 − w*‖ for η = 2/(L + μ),
with κ = L/μ — by more than a rounding slack of 1e-10·‖w_0 − w*‖; and a larger λ, which raises μ
and so lowers κ, needs fewer iterations.

Why the bounds hold: f is quadratic with the constant Hessian H = XᵀX/n + λI, whose eigenvalues hᵢ
lie in [μ, L]. Since ∇f(w*) = 0, one step gives w_{k+1} − w* = (I − ηH)(w_k − w*), and I − ηH has
the eigenvalues 1 − ηhᵢ. For η = 1/L they lie in [0, 1 − μ/L]; for η = 2/(L + μ) in
[−(L − μ)/(L + μ), (L − μ)/(L + μ)], the smallest spread any fixed step achieves. So
‖w_k − w*‖ ≤ ρ^k ‖w_0 − w*‖ with ρ = max |1 − ηhᵢ|: about κ·ln(1/ε) steps (η = 1/L) or
(κ/2)·ln(1/ε) steps (η = 2/(L + μ)) to gain a factor ε. A penalty λ moves both ends of the
spectrum up by λ, so κ = (h_max + λ)/(h_min + λ) falls as λ grows.

Data: (a) ``handnet.data.linear_regression``, whose XᵀX/n has eigenvalues spread from 1 to κ
exactly; (b) scikit-learn's diabetes data, standardised, with an unpenalised intercept (the
objective then sees centred data; see ``Ridge``). Only the training split is used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from experiments._report import Report
from handnet.data import Dataset, diabetes, linear_regression
from handnet.linalg import back_substitution, forward_substitution, gram_eigenvalue_range
from handnet.losses import Ridge
from handnet.optim import gradient_descent

NAME = "ridge_gd_vs_normal"
TARGET = 1e-8      # GD has reached w* when ‖w_k − w*‖ ≤ TARGET·‖w_0 − w*‖ (relative; w_0 = 0)
SLACK = 1e-10      # rounding allowance on the bound, in units of ‖w_0 − w*‖ (100× below TARGET)
REPEATS = 5        # the closed-form and eigenvalue timings are the best of this many runs
NOISE = 0.1        # standard deviation of the noise in the synthetic targets
# (a) synthetic: n training rows, d features, κ of XᵀX/n, the penalties tried
SYNTHETIC = dict(n=1000, d=50, kappa=1000.0, lams=(0.0, 1.0, 10.0, 100.0))
SYNTHETIC_QUICK = dict(n=200, d=10, kappa=100.0, lams=(0.0, 1.0, 10.0))
# (b) diabetes: the penalties tried (its XᵀX/n has κ ≈ 440)
DIABETES_LAMS = (0.0, 0.01, 0.1, 1.0)
DIABETES_LAMS_QUICK = (0.01, 0.1, 1.0)
# The sweep of n and d: least squares (λ = 0) at κ = 100, step 1/L; n varies at d = d_fixed, d at n = n_fixed
SWEEP = dict(kappa=100.0, ns=(500, 2000, 8000), ds=(25, 50, 100, 200, 400), n_fixed=2000, d_fixed=50)
SWEEP_QUICK = dict(kappa=100.0, ns=(200, 800), ds=(5, 10, 20), n_fixed=400, d_fixed=10)
STAGES = ("form", "factor", "solve")   # the closed form's stages, timed apart in the sweep
# Each step rule: (L, μ) -> (η, ρ), the step and the contraction factor its bound promises.
STEPS: dict[str, Callable[[float, float], tuple[float, float]]] = {
    "1/L": lambda L, mu: (1 / L, 1 - mu / L),
    "2/(L+μ)": lambda L, mu: (2 / (L + mu), (L - mu) / (L + mu)),
}


def synthetic(n: int, d: int, kappa: float, seed: int) -> Dataset:
    """``linear_regression`` with exactly n training rows (test_size = ½ of 2n; the test rows go unused)."""
    return linear_regression(2 * n, d, condition_number=kappa, noise=NOISE, test_size=0.5, seed=seed)


def best_time(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    """(the shortest wall time of ``repeats`` calls of fn, fn's result)."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return min(seconds), result


def closed_form_stages(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The least-squares closed form (λ = 0) in its three stages, timed apart, each the best of
    REPEATS runs (seconds): "form" XᵀX and Xᵀy, O(nd²) flops; "factor" XᵀX = LLᵀ by Cholesky,
    O(d³/3); "solve" the two triangular solves, O(d²) flops in a Python loop over the d rows."""
    form, (A, b) = best_time(lambda: (X.T @ X, X.T @ y))        # (d, n) @ (n, d) -> (d, d); (d,)
    factor, L = best_time(lambda: np.linalg.cholesky(A))
    solve, _ = best_time(lambda: back_substitution(L.T, forward_substitution(L, b)))
    return dict(form_seconds=form, factor_seconds=factor, solve_seconds=solve)


def gd_distances(ridge: Ridge, w_star: np.ndarray, lr: float, n_iter: int) -> np.ndarray:
    """‖w_k − w*‖ for k = 0, …, n_iter: GD from w_0 = 0 with step lr, recorded by its callback."""
    distances = []
    gradient_descent(ridge, np.zeros(ridge.n_features), lr=lr, max_iter=n_iter, tol=0.0,
                     callback=lambda w: distances.append(np.linalg.norm(w - w_star)))
    return np.array(distances)


def run(data: str, ridge: Ridge, step: str) -> dict:
    """GD with one step rule against the closed form: the error curve, its bound, iterations and times.

    Two passes: the first records ‖w_k − w*‖ for as many steps as the bound needs to reach TARGET
    (if the bound holds, the error has reached it by then); the second, timed and without a
    callback, takes exactly as many steps as the first needed.
    """
    L, mu = ridge.lipschitz, ridge.strong_convexity   # computed (and cached) before any timing
    lr, rho = STEPS[step](L, mu)
    closed_seconds, w_star = best_time(ridge.solve)
    start = float(np.linalg.norm(w_star))             # ‖w_0 − w*‖ with w_0 = 0
    bound_iterations = math.ceil(math.log(TARGET) / math.log(rho))
    error = gd_distances(ridge, w_star, lr, bound_iterations) / start   # (K + 1,), relative
    bound = rho ** np.arange(len(error))
    hits = np.flatnonzero(error <= TARGET)
    iterations = int(hits[0]) if hits.size else len(error) - 1
    t0 = time.perf_counter()
    result = gradient_descent(ridge, np.zeros(ridge.n_features), lr=lr, max_iter=iterations, tol=0.0)
    gd_seconds = time.perf_counter() - t0
    final = float(np.linalg.norm(result.x - w_star)) / start
    return dict(data=data, lam=ridge.lam, step=step, L=L, mu=mu, kappa=L / mu, rho=rho, w_star_norm=start,
                bound_iterations=bound_iterations, iterations=iterations, reached=final <= TARGET,
                final_distance=final, closest_to_bound=float(np.max(error[1:] / bound[1:])),
                bound_held=bool(np.all(error <= bound + SLACK)), gd_seconds=gd_seconds,
                closed_form_seconds=closed_seconds, gd_over_closed_form=gd_seconds / closed_seconds,
                error=error, bound=bound)


def fewer_iterations_with_larger_lam(runs: list[dict]) -> bool:
    """For each (data, step), iterations strictly decrease as λ grows."""
    ok = True
    for data, step in {(r["data"], r["step"]) for r in runs}:
        mine = sorted((r for r in runs if (r["data"], r["step"]) == (data, step)), key=lambda r: r["lam"])
        counts = [r["iterations"] for r in mine]
        ok &= all(a > b for a, b in zip(counts, counts[1:]))
    return ok


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
            ax.axhline(TARGET, color="k", ls=":", lw=1, label=f"target {TARGET:g}")
            ax.plot([], [], color="grey", ls="--", lw=1, label="theoretical bound")
            ax.set_yscale("log")
            ax.set_ylim(TARGET / 20, 2)
            ax.set_xlabel("iteration k")
            ax.set_ylabel("‖wₖ − w*‖ / ‖w₀ − w*‖")
            ax.set_title(f"{data}, step η = {step}")
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sweep_line(sweep: list[dict], axis: str, cfg: dict) -> list[dict]:
    """The sweep points along one axis ("n" or "d"), the other held at its fixed value, in order."""
    other = "d" if axis == "n" else "n"
    return sorted((r for r in sweep if r[other] == cfg[f"{other}_fixed"]), key=lambda r: r[axis])


def plot_scaling(sweep: list[dict], cfg: dict) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, axis in zip(axes, ("n", "d")):
        points = sweep_line(sweep, axis, cfg)
        x = [r[axis] for r in points]
        ax.plot(x, [r["gd_seconds"] for r in points], "o-", label="gradient descent to the target")
        ax.plot(x, [r["closed_form_seconds"] for r in points], "s-", label="closed form (Cholesky)")
        ax.plot(x, [r["eig_seconds"] for r in points], "^--", label="L and μ (eigenvalues of XᵀX/n)")
        for key, label in (("form", "form XᵀX, Xᵀy"), ("factor", "Cholesky"), ("solve", "triangular solves")):
            ax.plot(x, [r[f"{key}_seconds"] for r in points], ".:", lw=1, label=f"closed form's stage: {label}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xticks([], minor=True)
        ax.set_xlabel(axis)
        ax.set_ylabel("wall time (s)")
        other = "d" if axis == "n" else "n"
        ax.set_title(f"time against {axis}, at {other} = {cfg[f'{other}_fixed']}, κ = {cfg['kappa']:g}")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))   # room for the shared legend below the panels
    return fig


def slope(points: list[dict], axis: str, key: str) -> float:
    """The exponent p of time ∝ axis^p, fitted by least squares on log-log axes."""
    return float(np.polyfit(np.log([r[axis] for r in points]), np.log([r[key] for r in points]), 1)[0])


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    syn = SYNTHETIC_QUICK if quick else SYNTHETIC
    sweep_cfg = SWEEP_QUICK if quick else SWEEP
    synth = synthetic(syn["n"], syn["d"], syn["kappa"], seed)
    diab = diabetes(seed=seed)
    problems = ([(f"synthetic κ={syn['kappa']:g}", Ridge(synth.X_train, synth.y_train, lam)) for lam in syn["lams"]]
                + [("diabetes", Ridge(diab.X_train, diab.y_train, lam, fit_intercept=True))
                   for lam in (DIABETES_LAMS_QUICK if quick else DIABETES_LAMS)])
    jobs = [(data, ridge, step) for data, ridge in problems for step in STEPS]
    grid = list(dict.fromkeys([(n, sweep_cfg["d_fixed"]) for n in sweep_cfg["ns"]]
                              + [(sweep_cfg["n_fixed"], d) for d in sweep_cfg["ds"]]))   # (n, d), no repeats
    runs, sweep = [], []
    with tqdm(total=len(jobs) + len(grid), desc=NAME, unit="run", leave=False) as bar:
        for job in jobs:
            runs.append(run(*job))
            bar.update()
        for n, d in grid:
            data = synthetic(n, d, sweep_cfg["kappa"], seed)
            ridge = Ridge(data.X_train, data.y_train, 0.0)
            eig_seconds, _ = best_time(lambda: gram_eigenvalue_range(ridge.X))
            sweep.append(dict(run(f"sweep n={n} d={d}", ridge, "1/L"), **closed_form_stages(ridge.X, ridge.y),
                              n=n, d=d, eig_seconds=eig_seconds))
            bar.update()

    every = runs + sweep
    reached = all(r["reached"] for r in every)
    bound_held = all(r["bound_held"] for r in every)
    faster = fewer_iterations_with_larger_lam(runs)
    worst_final = max(r["final_distance"] for r in every)
    closest = max(r["closest_to_bound"] for r in every)
    exponents = {f"{key}_vs_{axis}": slope(sweep_line(sweep, axis, sweep_cfg), axis, f"{key}_seconds")
                 for axis in ("n", "d") for key in ("gd", "closed_form", "eig") + STAGES}
    sweep_iterations = [r["iterations"] for r in sweep]
    time_ratios = [r["gd_over_closed_form"] for r in every]
    by_n, by_d = sweep_line(sweep, "n", sweep_cfg), sweep_line(sweep, "d", sweep_cfg)
    solve_share = by_n[0]["solve_seconds"] / by_n[0]["closed_form_seconds"]    # at the smallest n
    form_per_flop = [r["form_seconds"] / (r["n"] * r["d"] ** 2) for r in (by_d[0], by_d[-1])]   # s per n·d²

    norms = [r["w_star_norm"] for r in runs]
    step_ratios = [a["iterations"] / b["iterations"] for a in runs for b in runs     # 1/L over 2/(L+μ)
                   if (a["data"], a["lam"], a["step"], b["step"]) == (b["data"], b["lam"], "1/L", "2/(L+μ)")]
    report = Report(NAME, "Ridge regression: gradient descent against the closed-form solution",
                    claim=__doc__.split("\n\n")[1])
    report.text(
        f"Synthetic data: n = {syn['n']} training rows, d = {syn['d']} features, XᵀX/n with eigenvalues "
        f"from 1 to κ = {syn['kappa']:g}, noise {NOISE}. Diabetes: n = {diab.X_train.shape[0]}, d = "
        f"{diab.n_features}. Every run starts at w_0 = 0 and stops at the first iterate with "
        f"‖w_k − w*‖ ≤ {TARGET:g}·‖w_0 − w*‖ — a *relative* target, as ‖w*‖ differs between runs "
        f"(from {min(norms):.3g} to {max(norms):.3g} here). The bound counts as held when ‖w_k − w*‖ ≤ "
        f"bound_k + {SLACK:g}·‖w_0 − w*‖ at every k; “max error/bound” shows how close the error comes to "
        "its bound (1 = on it). “bound iterations” is the k at which the bound reaches the target. GD time is "
        "one run of exactly “iterations to target” steps without a callback; the closed-form time (forming "
        f"XᵀX + nλI and Xᵀy, then the Cholesky solve) is the best of {REPEATS}. Neither includes computing "
        "L and μ, which GD needs for its step (see the sweep below).")
    report.table(["data", "λ", "κ = L/μ", "step", "bound iterations", "iterations to target", "GD time (s)",
                  "closed-form time (s)", "final ‖w − w*‖/‖w*‖", "max error/bound (k ≥ 1)", "bound held"],
                 [[r["data"], r["lam"], r["kappa"], r["step"], r["bound_iterations"], r["iterations"],
                   r["gd_seconds"], r["closed_form_seconds"], r["final_distance"], r["closest_to_bound"],
                   r["bound_held"]] for r in runs])
    report.text(f"With η = 2/(L + μ), GD needed {min(step_ratios):.2f} to {max(step_ratios):.2f} times fewer "
                "iterations than with η = 1/L (the bounds promise about 2 when κ is large).")
    report.figure(plot_convergence(runs), "convergence.png",
                  "Relative error of GD (solid) and its theoretical bound (dashed), per λ; a larger λ lowers κ")
    report.text(
        f"**How the cost grows with n and d.** Least squares (λ = 0) on synthetic data with κ = "
        f"{sweep_cfg['kappa']:g}, step 1/L. GD's bound depends on κ alone ({sweep[0]['bound_iterations']} "
        f"iterations at every size here); the iterations it took ranged from {min(sweep_iterations)} to "
        f"{max(sweep_iterations)}. So its time should grow like the cost of one step, O(nd): exponent 1 in n "
        "and in d. By flop count the closed form costs O(nd²) to form XᵀX, O(d³/3) to factorise it and O(d²) "
        "for the two triangular solves: exponent 1 in n and 2 in d while d ≪ n (3 once the factorisation "
        "dominates). Besides the whole closed form, the table times its three stages apart (best of "
        f"{REPEATS} each). The “L, μ” column times the eigenvalue decomposition of XᵀX/n that gives GD its "
        "step: compare it with the closed form.")
    report.table(["n", "d", "iterations to target", "GD time (s)", "closed-form time (s)", "form XᵀX, Xᵀy (s)",
                  "Cholesky (s)", "triangular solves (s)", "L, μ time (s)", "GD / closed form",
                  "final ‖w − w*‖/‖w*‖", "bound held"],
                 [[r["n"], r["d"], r["iterations"], r["gd_seconds"], r["closed_form_seconds"], r["form_seconds"],
                   r["factor_seconds"], r["solve_seconds"], r["eig_seconds"], r["gd_over_closed_form"],
                   r["final_distance"], r["bound_held"]] for r in sweep])
    report.table(["time of", "exponent in n", "exponent in d", "flop count predicts (n, d)"],
                 [[label, *(round(exponents[f"{key}_vs_{axis}"], 2) + 0.0 for axis in "nd"), theory]  # + 0.0: no -0
                  for key, label, theory in (("gd", "gradient descent", "1, 1"),
                                             ("closed_form", "closed form, all of it", "1, 2 to 3"),
                                             ("form", "closed form: XᵀX and Xᵀy", "1, 2"),
                                             ("factor", "closed form: Cholesky", "0, 3"),
                                             ("solve", "closed form: triangular solves", "0, 2"),
                                             ("eig", "L, μ (eigenvalues)", "1, 2 to 3"))])
    report.text(
        f"The fitted exponents p of time ∝ size^p (log-log least squares over the sweep) are not the flop "
        f"counts': the closed form's are {exponents['closed_form_vs_n']:.2f} in n and "
        f"{exponents['closed_form_vs_d']:.2f} in d. At these sizes wall time is not flops. handnet's "
        "triangular solves (`handnet/linalg.py`) loop over the d rows in Python, so they cost a fixed "
        "overhead per row, whatever n is and nearly whatever the row's length: exponents "
        f"{exponents['solve_vs_n']:.2f} in n and {exponents['solve_vs_d']:.2f} in d; at n = {by_n[0]['n']} they "
        f"are {solve_share:.0%} of the closed form's time, which is why its exponent in n stays below 1. Forming "
        f"XᵀX, the O(nd²) stage, grows with exponents {exponents['form_vs_n']:.2f} in n and "
        f"{exponents['form_vs_d']:.2f} in d, and its time per n·d² went from {form_per_flop[0]:.2e} s at d = "
        f"{by_d[0]['d']} to {form_per_flop[1]:.2e} s at d = {by_d[-1]['d']}"
        + (": BLAS does more work per second on larger matrices, and per-call overheads weigh less"
           if form_per_flop[1] < form_per_flop[0] else "")
        + f". The Cholesky factorisation (LAPACK) grows with exponent {exponents['factor_vs_d']:.2f} in d, "
        "against the 3 of its flop count. So over this sweep the "
        "closed form's time grows more slowly than its flop count, and the fitted exponents describe these "
        "sizes on this machine, not the asymptotic costs."
        + (" (In quick mode the sizes are so small that overheads are nearly all of every time.)" if quick else "")
        + " GD took "
        f"{min(time_ratios):.3g} to {max(time_ratios):.3g} times as long as the closed form over all "
        f"{len(every)} runs of this report.")
    report.figure(plot_scaling(sweep, sweep_cfg), "scaling.png",
                  "Wall time against n and against d (log-log); dotted, the closed form's three stages")
    report.verdict(reached and bound_held and faster,
                   f"GD reached the target in {sum(r['reached'] for r in every)} of {len(every)} runs (largest final "
                   f"relative distance {worst_final:.2e}); the bound held in {sum(r['bound_held'] for r in every)} of "
                   f"{len(every)} (largest ratio of error to bound {closest:.4f}; 1 = on the bound); iterations "
                   f"{'fell' if faster else 'did NOT always fall'} as λ grew, for every data set and step.")

    keep = ("data", "lam", "step", "L", "mu", "kappa", "rho", "bound_iterations", "iterations", "reached",
            "w_star_norm", "final_distance", "closest_to_bound", "bound_held", "gd_seconds", "closed_form_seconds",
            "gd_over_closed_form")
    metrics = dict(target=TARGET, target_kind="relative: ‖w_k − w*‖ / ‖w_0 − w*‖, w_0 = 0", slack=SLACK,
                   synthetic=dict(syn, lams=list(syn["lams"])), diabetes_n=diab.X_train.shape[0],
                   runs=[{k: r[k] for k in keep} for r in runs],
                   sweep=[{k: r[k] for k in keep + ("n", "d", "eig_seconds", "form_seconds", "factor_seconds",
                                                    "solve_seconds")} for r in sweep],
                   time_exponents=exponents, solve_share_at_smallest_n=solve_share,
                   form_seconds_per_n_d2={str(r["d"]): t for r, t in zip((by_d[0], by_d[-1]), form_per_flop)},
                   min_gd_over_closed_form=min(time_ratios), max_gd_over_closed_form=max(time_ratios),
                   all_reached=reached, all_bounds_held=bound_held,
                   fewer_iterations_with_larger_lam=faster, max_final_distance=worst_final,
                   closest_to_bound=closest, iteration_ratio_1_over_L_to_2_over_L_plus_mu=step_ratios)
    return report.write(out_dir, metrics)
