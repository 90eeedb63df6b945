"""Logistic regression: Newton's method against gradient descent, and against scikit-learn.

On L2-penalised logistic regression (λ = 1e-3, so f is strongly convex and has exactly one
minimiser), both gradient descent (step 1/L) and Newton's method reach ‖∇f‖ ≤ 1e-8 — GD within
100 000 iterations — on breast_cancer and on a make_classification set; Newton takes at least 10
times fewer iterations than GD; its last steps converge quadratically: the order estimate
p = log(g_K/g_{K−1}) / log(g_{K−1}/g_{K−2}) over its last three gradient norms g_k = ‖∇f(w_k)‖ is at
least 1.5 (p = 2 for ‖∇_{k+1}‖ = C‖∇_k‖², p = 1 for linear convergence); and scikit-learn's
LogisticRegression(C = 1/(nλ), fit_intercept=False) minimises the same f — our gradient at its
coefficients w_sk is at most 1e-10 — with both our solutions within the distance strong
convexity allows: ‖w − w_sk‖ ≤ (1e-8 + 1e-10)/λ ≈ 1.01e-5 (Euclidean, absolute).

Why: near w*, GD with step 1/L multiplies its error by I − H/L, H = ∇²f(w*), so its factor per
step tends to 1 − h/L, with h the smallest eigenvalue of H among the directions GD moves in.
Every Hessian is ⪰ μI with μ = λ, the strong-convexity constant that holds at every w (the data
term's curvature S = σ(1 − σ) → 0 for large margins), so 1 − μ/L is a worst-case bound on that
factor, not a prediction; the report computes H's eigenvalues at the solution and compares.
Newton's step solves the local quadratic model exactly, so near w* the error squares at every
step whatever the conditioning: ‖∇f(w_{k+1})‖ ≤ C‖∇f(w_k)‖² once t = 1 is accepted. The distance
to scikit-learn follows from strong convexity, μ‖w − w*‖ ≤ ‖∇f(w)‖ for every w: ours stop at
‖∇f‖ ≤ 1e-8, so ‖w − w*‖ ≤ 1e-8/λ; scikit-learn's has ‖w_sk − w*‖ ≤ 1e-10/λ; and the triangle
inequality adds the two.

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
                message=result.message, final_grad_norm=float(g[-1]),
                last_order=float(p[-1]) if p.size else None, grad_norms=g, orders=p,
                constants=g[1:] / g[:-1] ** 2,            # C_k = ‖∇_{k+1}‖/‖∇_k‖², k = 0, …, K−1
                step_sizes=result.history["step_size"], w=result.x)


def sklearn_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int, float]:
    """scikit-learn's minimiser of the same f, C Σ ℓᵢ + ½‖w‖² with C = 1/(nλ): (w, iterations, seconds)."""
    from sklearn.linear_model import LogisticRegression
    start = time.perf_counter()
    model = LogisticRegression(C=1 / (len(y) * LAM), fit_intercept=False, **SKLEARN).fit(X, y)
    return model.coef_.ravel(), int(model.n_iter_[0]), time.perf_counter() - start


def factor_per_step(g: np.ndarray, a: int, b: int) -> float:
    """The mean factor by which ‖∇f‖ shrank per step from iteration a to b: (g_b / g_a)^(1/(b − a))."""
    return float((g[b] / g[a]) ** (1 / (b - a)))


def per_decade(factor: float) -> float:
    """Steps a constant factor per step needs to divide ‖∇f‖ by 10: ln 10 / (−ln factor)."""
    return float(np.log(10) / -np.log(factor))


def conditioning(objective: Logistic, w_star: np.ndarray, gd: dict) -> dict:
    """The curvature GD meets, against the global constants L and μ = λ.

    The Hessian H = ∇²f(w*) at the solution (Newton's last iterate): its extreme eigenvalues and
    their ratio, the local condition number. And its smallest eigenvalue h on the row space of X:
    from w_0 = 0 every gradient Xᵀ(σ − y)/n + λw lies in that space when w does, so GD never moves
    in the other directions (on them H = λI, and X has some when its columns are dependent). Near
    w*, GD's error is multiplied by I − H/L per step, so its factor per step tends to 1 − h/L;
    1 − μ/L is the worst case. GD's measured factor is taken over each quarter of its run.
    """
    X = objective.X
    H = objective.hessian(w_star)                                      # (d, d)
    eigenvalues = np.linalg.eigvalsh(H)                                # ascending
    _, s, Vt = np.linalg.svd(X, full_matrices=False)                   # s (d,), Vt (d, d) as n ≥ d
    rank = int(np.sum(s > s[0] * max(X.shape) * np.finfo(np.float64).eps))
    Q = Vt[:rank].T                                                    # (d, r): orthonormal basis of the row space
    h = float(np.linalg.eigvalsh(Q.T @ H @ Q)[0])                      # (r, d) @ (d, d) @ (d, r) -> (r, r)
    L, mu = objective.lipschitz, objective.strong_convexity
    g, K = gd["grad_norms"], gd["iterations"]
    quarters = [K * q // 4 for q in range(5)]
    measured = [factor_per_step(g, a, b) for a, b in zip(quarters, quarters[1:]) if b > a]
    return dict(L=L, mu=mu, L_over_mu=L / mu, rank=rank, hessian_min=float(eigenvalues[0]),
                hessian_max=float(eigenvalues[-1]), local_condition_number=float(eigenvalues[-1] / eigenvalues[0]),
                row_space_min=h, h_over_lam=h / objective.lam, L_over_h=L / h,
                worst_case_factor=1 - mu / L, local_factor=1 - h / L,
                measured_factors=measured, measured_factor=measured[-1],
                per_decade=dict(worst_case=per_decade(1 - mu / L), local=per_decade(1 - h / L),
                                measured=per_decade(measured[-1])))


def compare(data: str, X: np.ndarray, y: np.ndarray, bar: tqdm) -> dict:
    """Newton, GD and scikit-learn on one data set; each run's ‖w − w_sk‖; the conditioning GD met."""
    objective = Logistic(X, y, LAM)
    runs = []
    for method in ("Newton", "GD"):
        runs.append(minimise(method, objective))
        bar.update()
    w_sk, sk_iterations, sk_seconds = sklearn_fit(X, y)
    bar.update()
    for run in runs:
        run["sklearn_distance"] = float(np.linalg.norm(run["w"] - w_sk))
        run["sklearn_distance_over_bound"] = run["sklearn_distance"] / SKLEARN_DISTANCE
    return dict(data=data, n=X.shape[0], d=X.shape[1], runs=runs,
                iteration_ratio=runs[1]["iterations"] / runs[0]["iterations"],   # GD over Newton
                sklearn_iterations=sk_iterations, sklearn_seconds=sk_seconds,
                sklearn_grad_norm=float(np.linalg.norm(objective.grad(w_sk))),   # handnet's ∇f at sklearn's w
                conditioning=conditioning(objective, runs[0]["w"], runs[1]))


def run_metrics(run: dict) -> dict:
    """What metrics.json keeps of a run: Newton's whole (short) history, GD's last five gradient norms."""
    newton_run = run["method"] == "Newton"
    keep = slice(None) if newton_run else slice(-5, None)
    return dict({k: run[k] for k in ("iterations", "seconds", "converged", "message", "final_grad_norm",
                                      "last_order", "sklearn_distance", "sklearn_distance_over_bound")},
                grad_norms=run["grad_norms"][keep], orders=run["orders"][keep], step_sizes=run["step_sizes"][keep],
                **(dict(constants=run["constants"]) if newton_run else {}))


def plot_grad_norms(results: list[dict]) -> plt.Figure:
    """Top row Newton, bottom row GD, both on a linear iteration axis: a constant factor per step
    (linear convergence) is a straight line there. GD's panel adds the slopes of the local and the
    worst-case factors, drawn through GD's last point."""
    fig, axes = plt.subplots(2, len(results), figsize=(6 * len(results), 8), squeeze=False)
    for col, res in enumerate(results):
        newton_run, gd = res["runs"]
        cond = res["conditioning"]
        ax = axes[0, col]
        g = newton_run["grad_norms"]
        ax.plot(np.arange(len(g)), g, "o-", ms=4, label=f"Newton ({newton_run['iterations']} iterations)")
        ax.set_title(f"{res['data']} (n = {res['n']}, d = {res['d']}, λ = {LAM:g}): Newton")
        ax = axes[1, col]
        g = gd["grad_norms"]
        k = np.arange(len(g))
        ax.plot(k, g, color="tab:orange", lw=2, label=f"GD ({gd['iterations']} iterations)")
        K = gd["iterations"]
        for factor, style, colour, name in ((cond["local_factor"], "--", "tab:blue", "1 − h/L (h at w*)"),
                                            (cond["worst_case_factor"], ":", "tab:red", "1 − μ/L (worst case)")):
            ax.plot(k, g[-1] * factor ** (k - K), style, color=colour, lw=1.5, label=f"factor {name} = {factor:.7f}")
        ax.set_title(f"{res['data']}: gradient descent, step 1/L")
        for ax in axes[:, col]:
            ax.axhline(TOL, color="grey", lw=0.8, label=f"tolerance {TOL:g}")
            ax.set_yscale("log")
            ax.set_xlabel("iteration k")
            ax.set_ylabel("‖∇f(wₖ)‖")
            ax.legend(fontsize=8)
        axes[1, col].set_ylim(TOL / 10, 10 * max(g))
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
    sets = datasets(quick, seed)
    with tqdm(total=3 * len(sets), desc=NAME, unit="run", leave=False) as bar:   # Newton, GD, scikit-learn
        results = [compare(*dataset, bar) for dataset in sets]

    every = [run for res in results for run in res["runs"]]
    newtons = [res["runs"][0] for res in results]
    all_converged = all(run["converged"] for run in every)
    fewer = all(res["iteration_ratio"] >= SPEEDUP for res in results)
    quadratic = all(run["last_order"] is not None and run["last_order"] >= ORDER_MIN for run in newtons)
    same_f = all(res["sklearn_grad_norm"] <= SKLEARN_GRAD_TOL for res in results)
    close = all(run["sklearn_distance"] <= SKLEARN_DISTANCE for run in every)
    farthest = max(every, key=lambda run: run["sklearn_distance"])
    farthest_data, farthest_cond = next((res["data"], res["conditioning"]) for res in results
                                        if any(run is farthest for run in res["runs"]))

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
        f"“‖w − w_sk‖” is the Euclidean distance to scikit-learn's coefficients, which the claim bounds by "
        f"(TOL + {SKLEARN_GRAD_TOL:g})/λ = {SKLEARN_DISTANCE:.4g}. Times are single runs.")
    report.table(["data", "n", "d", "method", "iterations", "time (s)", "reached the tolerance", "final ‖∇f‖",
                  "order p", "‖w − w_sk‖", "‖w − w_sk‖ / bound"],
                 [[res["data"], res["n"], res["d"], run["method"], run["iterations"], run["seconds"],
                   run["converged"], run["final_grad_norm"], run["last_order"], run["sklearn_distance"],
                   run["sklearn_distance_over_bound"]]
                  for res in results for run in res["runs"]]
                 + [[res["data"], res["n"], res["d"], f"scikit-learn ({SKLEARN['solver']})",
                     res["sklearn_iterations"], res["sklearn_seconds"], "—", res["sklearn_grad_norm"], "—", "—", "—"]
                    for res in results])
    report.text("GD iterations / Newton iterations: "
                + "; ".join(f"{res['data']}: {res['iteration_ratio']:.1f}" for res in results)
                + f" (claimed: at least {SPEEDUP}). For scikit-learn, “final ‖∇f‖” is handnet's gradient at "
                f"scikit-learn's coefficients — small only if both minimise the same f (claimed: at most "
                f"{SKLEARN_GRAD_TOL:g}). The largest distance to scikit-learn, {farthest['sklearn_distance']:.3g} "
                f"({farthest['method']} on {farthest_data}), is {farthest['sklearn_distance_over_bound']:.0%} "
                "of the bound. The bound is tight when the remaining error w − w* lies along a direction in which "
                "H = ∇²f(w*) curves no more than the penalty, for then ‖∇f(w)‖ ≈ λ‖w − w*‖"
                + (f"; GD's error ends up along its slowest direction, and on {farthest_data} H's smallest "
                   f"eigenvalue there is h = {farthest_cond['h_over_lam']:.5g}λ (next table)."
                   if farthest["method"] == "GD" else "."))

    report.text("**The curvature GD meets.** L and μ = λ are the global constants of the step and of the "
                "worst-case bound. H = ∇²f(w*) is the Hessian at the solution (Newton's last iterate); its "
                "eigenvalues give the local condition number. h is H's smallest eigenvalue on the row space of X: "
                "GD, started at w_0 = 0, only ever moves there (each gradient Xᵀ(σ − y)/n + λw lies in it when w "
                "does), and on the other directions — there are d − rank(X) of them — H is exactly λI.")
    report.table(["data", "rank of X / d", "L", "μ = λ", "L/μ", "λ_min(H)", "λ_max(H)", "local κ = λ_max/λ_min",
                  "h (row space of X)", "L/h"],
                 [[res["data"], f"{c['rank']} / {res['d']}", c["L"], c["mu"], c["L_over_mu"], c["hessian_min"],
                   c["hessian_max"], c["local_condition_number"], c["row_space_min"], c["L_over_h"]]
                  for res in results for c in [res["conditioning"]]])
    report.table(["data", "GD factor per step: worst case 1 − μ/L", "near w*: 1 − h/L",
                  "measured, each quarter of the run", "steps per tenfold drop: worst case", "near w*",
                  "measured (last quarter)", "GD iterations"],
                 [[res["data"], f"{c['worst_case_factor']:.7f}", f"{c['local_factor']:.7f}",
                   ", ".join(f"{f:.7f}" for f in c["measured_factors"]), c["per_decade"]["worst_case"],
                   c["per_decade"]["local"], c["per_decade"]["measured"], res["runs"][1]["iterations"]]
                  for res in results for c in [res["conditioning"]]])
    report.text(
        "1 − μ/L is a bound for the worst direction, not a prediction: "
        + "; ".join(f"on {res['data']} it allows {c['per_decade']['worst_case']:.0f} steps per tenfold drop of "
                    f"‖∇f‖, and GD needed {c['per_decade']['measured']:.4g} over its last quarter, where "
                    f"1 − h/L predicts {c['per_decade']['local']:.4g}"
                    for res in results for c in [res["conditioning"]])
        + ". The two factors differ as h differs from λ: h/λ, the curvature in GD's slowest direction over the "
        "penalty's alone, is " + ", ".join(f"{c['h_over_lam']:.5g} on {res['data']}"
                                           for res in results for c in [res["conditioning"]])
        + ". Near 1, the bound is what GD gets; far above 1, GD is far faster than the bound. "
        + "".join(f"The local condition number λ_max/λ_min(H) alone would not tell on {res['data']}: X has rank "
                  f"{c['rank']} of {res['d']}, and λ_min(H) = {c['hessian_min']:.6g} (λ = {LAM:g}) comes from the "
                  f"{res['d'] - c['rank']} directions GD never moves in. "
                  for res in results for c in [res["conditioning"]] if c["rank"] < res["d"])
        + "A factor per step that changes from one quarter of the run to the next means GD's curve still "
        "bends: its faster directions are dying out and the slowest is taking over.")
    report.figure(plot_grad_norms(results), "grad_norm.png",
                  "Gradient norm per iteration on a linear iteration axis, where a constant factor per step "
                  "(linear convergence) is a straight line. Top: Newton's plunge. Bottom: GD, with the lines a "
                  "constant factor 1 − h/L (dashed) or 1 − μ/L (dotted) per step would draw through its last point")
    for res in results:
        run = res["runs"][0]
        g, p, C = run["grad_norms"], run["orders"], run["constants"]
        report.text(f"**Newton's steps on {res['data']}.** Quadratic convergence shows as C_k levelling off "
                    "and p_k approaching 2 once full steps (t = 1) are taken near w*.")
        report.table(["k", "step t_k", "‖∇f(w_k)‖", "‖∇f(w_{k+1})‖", "C_k = ‖∇_{k+1}‖/‖∇_k‖²",
                      "order p_k"],
                     [[k, run["step_sizes"][k], g[k], g[k + 1], C[k], "—" if k == 0 else p[k - 1]]
                      for k in range(run["iterations"])])
    report.figure(plot_successive(results), "successive.png",
                  "Successive gradient norms, log-log: GD on slope 1, Newton's final steps on slope 2")
    missed = [f"{run['method']} on {res['data']}: {run['message']}" for res in results for run in res["runs"]
              if not run["converged"]]
    report.verdict(all_converged and fewer and quadratic and same_f and close,
                   (f"Every run reached ‖∇f‖ ≤ {TOL:g}" if not missed else
                    f"NOT every run reached ‖∇f‖ ≤ {TOL:g} ({'; '.join(missed)})")
                   + "; GD/Newton iteration ratios " + ", ".join(f"{res['iteration_ratio']:.0f}" for res in results)
                   + f" (need ≥ {SPEEDUP}); Newton's last order estimates "
                   + ", ".join(fmt(run["last_order"]) for run in newtons) + f" (need ≥ {ORDER_MIN}); "
                   f"our ‖∇f‖ at scikit-learn's coefficients at most "
                   f"{max(res['sklearn_grad_norm'] for res in results):.1e} (need ≤ {SKLEARN_GRAD_TOL:g}); "
                   f"largest distance to them {farthest['sklearn_distance']:.2e} (need ≤ {SKLEARN_DISTANCE:.4g}).")

    metrics = dict(lam=LAM, tol=TOL, gd_max_iter=GD_MAX_ITER, speedup_claimed=SPEEDUP, order_min=ORDER_MIN,
                   sklearn_grad_tol=SKLEARN_GRAD_TOL, sklearn_distance_bound=SKLEARN_DISTANCE, sklearn=SKLEARN,
                   classification=classification,
                   datasets=[dict({k: res[k] for k in ("data", "n", "d", "iteration_ratio", "sklearn_iterations",
                                                       "sklearn_seconds", "sklearn_grad_norm", "conditioning")},
                                  runs={run["method"]: run_metrics(run) for run in res["runs"]}) for res in results],
                   all_converged=all_converged, newton_fewer_iterations=fewer, newton_quadratic=quadratic,
                   sklearn_same_f=same_f, sklearn_within_bound=close,
                   max_sklearn_distance=farthest["sklearn_distance"])
    return report.write(out_dir, metrics)
