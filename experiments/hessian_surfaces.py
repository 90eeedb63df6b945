"""Hessian surfaces: the Hessian's eigenvalues tell a minimum from a saddle, and steer Newton and GD.

The signs of the Hessian's eigenvalues classify a stationary point and decide what the minimisers
do: on the two quadratics with a minimum, Newton's method lands on it in one step while gradient
descent needs more steps the larger L/μ; on the saddle x² − y² the plain Newton step lands on the
saddle point, while handnet's damped Newton and gradient descent go downhill, away from it.

Each f is a quadratic ½ wᵀHw, so ∇f = Hw and ∇²f = H everywhere. The plain Newton step
w − H⁻¹∇f = w − H⁻¹Hw = 0 lands on the stationary point from anywhere, whatever the signs of H's
eigenvalues: it solves ∇f = 0, which a saddle satisfies as well as a minimum does. handnet's
``newton`` sees Cholesky fail when H is not positive definite, adds τI until it is, and so takes
a descent direction instead. Gradient descent with step 1/L multiplies the error along the
eigenvector of eigenvalue hᵢ by 1 − hᵢ/L: below 1 in size when hᵢ > 0, slowest for the smallest,
hence more steps the larger L/μ; above 1 when hᵢ < 0, so on the saddle GD moves away along that
direction, and f falls.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import handnet as hn
from experiments._report import Check, Report, num, paragraphs
from handnet.losses import Objective
from handnet.optim import OptimizeResult, gradient_descent, newton

NAME = "hessian_surfaces"
# f(w) = ½ wᵀHw. Half the Hessian's entries are the coefficients: x² + 2y² has H = diag(2, 4).
FUNCTIONS = {
    "x² + 2y²": np.array([[2.0, 0.0], [0.0, 4.0]]),
    "x² − y²": np.array([[2.0, 0.0], [0.0, -2.0]]),
    "x² + xy + 2y²": np.array([[2.0, 1.0], [1.0, 4.0]]),
}
START = np.array([-1.6, 1.1])   # w_0, the same for every run
TOL = 1e-8                      # ‖∇f‖ at which a minimiser has converged
MAX_ITER = 1000                 # for the functions with a minimum
SADDLE_ITER = 3                 # on the saddle f is unbounded below: a few steps show the direction
GRID = 101                      # points per axis of the contour plots
GRID_QUICK = 41


class Quadratic(Objective):
    """f(w) = ½ wᵀHw for a symmetric H:  ∇f = Hw,  ∇²f = H.

    L = max |eigenvalue of H| bounds the curvature (the step 1/L is safe), and the strong
    convexity constant μ = the smallest eigenvalue when it is positive (0 otherwise).
    """

    def __init__(self, H: np.ndarray) -> None:
        self.H = np.asarray(H, dtype=np.float64)
        self.n_features = self.H.shape[0]
        self.eigenvalues = np.linalg.eigvalsh(self.H)   # ascending

    def value(self, w: np.ndarray) -> float:
        w = self.check_w(w)
        return 0.5 * float(w @ self.H @ w)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.H @ self.check_w(w)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        self.check_w(w)
        return self.H.copy()

    @property
    def lipschitz(self) -> float:
        return float(np.max(np.abs(self.eigenvalues)))

    @property
    def strong_convexity(self) -> float:
        return max(float(self.eigenvalues[0]), 0.0)


def classify(eigenvalues: np.ndarray) -> str:
    """The type of the stationary point w = 0 from the signs of the Hessian's eigenvalues."""
    if np.all(eigenvalues > 0):
        return "minimum"
    if np.all(eigenvalues < 0):
        return "maximum"
    if np.any(eigenvalues > 0) and np.any(eigenvalues < 0):
        return "saddle"
    return "degenerate (a zero eigenvalue: the second-order test says nothing)"


def run_path(minimiser, objective: Objective, **kwargs) -> tuple[np.ndarray, OptimizeResult]:
    """Run a minimiser from START and return (the path of iterates (K+1, 2), the result)."""
    path: list[np.ndarray] = []
    result = minimiser(objective, START, callback=path.append, **kwargs)
    return np.array(path), result


def plain_newton_step(objective: Quadratic, w: np.ndarray) -> np.ndarray:
    """w − H⁻¹∇f(w) with no damping and no line search: the stationary point of the quadratic model.

    H may be indefinite here, so this is a general solve (LU), not Cholesky.
    """
    return w - np.linalg.solve(objective.hessian(w), objective.grad(w))


def study(label: str, H: np.ndarray) -> dict:
    objective = Quadratic(H)
    numeric_H = hn.numerical_jacobian(objective.grad, START)   # ∂(∇f)/∂w by central differences
    kind = classify(objective.eigenvalues)
    max_iter = MAX_ITER if kind == "minimum" else SADDLE_ITER
    gd_path, gd = run_path(gradient_descent, objective, tol=TOL, max_iter=max_iter)
    newton_path, nt = run_path(newton, objective, tol=TOL, max_iter=max_iter)
    plain = plain_newton_step(objective, START)
    # The eigenvector of the smallest eigenvalue: on a saddle, the direction in which f falls.
    escape_direction = np.linalg.eigh(H)[1][:, 0]
    return dict(
        function=label, hessian=H, eigenvalues=objective.eigenvalues, kind=kind,
        hessian_fd_error=float(np.max(np.abs(numeric_H - H))),
        condition_number=(objective.lipschitz / objective.strong_convexity if kind == "minimum" else None),
        gd_iterations=gd.n_iter, gd_converged=gd.converged, gd_final=gd.x, gd_final_value=gd.fun,
        newton_iterations=nt.n_iter, newton_converged=nt.converged, newton_final=nt.x, newton_final_value=nt.fun,
        plain_newton_step=plain, start_value=objective.value(START), escape_direction=escape_direction,
        gd_path=gd_path, newton_path=newton_path,
    )


def contour_figure(studies: list[dict], grid: int) -> plt.Figure:
    fig, axes = plt.subplots(1, len(studies), figsize=(5 * len(studies), 4.6))
    for ax, s in zip(axes, studies):
        # On the saddle the paths run off towards −∞: widen that panel to show where they go.
        lim = max(2.2, 1.1 * float(np.abs(np.vstack([s["gd_path"], s["newton_path"]])).max()))
        xs = np.linspace(-lim, lim, grid)
        X, Y = np.meshgrid(xs, xs)
        H = s["hessian"]
        Z = 0.5 * (H[0, 0] * X**2 + 2 * H[0, 1] * X * Y + H[1, 1] * Y**2)
        contours = ax.contour(X, Y, Z, levels=20, cmap="viridis", linewidths=0.8)
        fig.colorbar(contours, ax=ax, shrink=0.8, label="f(x, y)")
        ax.plot(*s["gd_path"].T, "o-", ms=3, lw=1, color="tab:blue", label=f"GD, step 1/L ({s['gd_iterations']} steps)")
        ax.plot(*s["newton_path"].T, "s-", ms=5, lw=1.5, color="tab:red",
                label=f"Newton, damped ({s['newton_iterations']} steps)")
        if s["kind"] != "minimum":
            ax.plot(*np.array([START, s["plain_newton_step"]]).T, "x--", ms=9, color="k",
                    label="plain Newton step w − H⁻¹∇f")
        ax.plot(0, 0, "k*", ms=12)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        eig = ", ".join(f"{e:.3g}" for e in s["eigenvalues"])
        ax.set_title(f"f = {s['function']}\neigenvalues of H: {eig} → {s['kind']}")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def surface_figure(studies: list[dict], grid: int) -> plt.Figure:
    fig = plt.figure(figsize=(5 * len(studies), 4.2))
    for i, s in enumerate(studies):
        ax = fig.add_subplot(1, len(studies), i + 1, projection="3d")
        xs = np.linspace(-2, 2, grid)
        X, Y = np.meshgrid(xs, xs)
        H = s["hessian"]
        Z = 0.5 * (H[0, 0] * X**2 + 2 * H[0, 1] * X * Y + H[1, 1] * Y**2)
        ax.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
        ax.set_title(f"f = {s['function']} ({s['kind']})")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_zlabel("f(x, y)")
    fig.tight_layout()
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    # Everything here is deterministic; ``seed`` is accepted for the common command line.
    start = time.perf_counter()
    studies = [study(label, H) for label, H in FUNCTIONS.items()]
    seconds = time.perf_counter() - start
    minima = [s for s in studies if s["kind"] == "minimum"]
    saddles = [s for s in studies if s["kind"] == "saddle"]

    saddle = saddles[0]
    gd_steps = [s["gd_iterations"] for s in sorted(minima, key=lambda s: s["condition_number"])]
    escapes = all(s[f"{m}_final_value"] < s["start_value"]
                  and abs(s[f"{m}_final"] @ s["escape_direction"]) > abs(START @ s["escape_direction"])
                  for s in saddles for m in ("gd", "newton"))
    worst_fd = max(s["hessian_fd_error"] for s in studies)
    checks = [
        Check("the hand Hessian equals finite differences to 1e-8", worst_fd <= 1e-8,
              f"largest error {num(worst_fd, 2)}"),
        Check("the eigenvalues' signs give two minima and one saddle",
              [s["kind"] for s in studies] == ["minimum", "saddle", "minimum"],
              ", ".join(s["kind"] for s in studies)),
        Check("Newton converges in one step on each minimum",
              all(s["newton_converged"] and s["newton_iterations"] == 1 for s in minima),
              "steps: " + ", ".join(str(s["newton_iterations"]) for s in minima)),
        Check("GD converges on each minimum, in more steps the larger L/μ",
              all(s["gd_converged"] for s in minima) and gd_steps == sorted(gd_steps) and gd_steps[0] > 1,
              "steps in order of L/μ: " + ", ".join(map(str, gd_steps))),
        Check("the plain Newton step lands on the saddle point", np.linalg.norm(saddle["plain_newton_step"]) <= 1e-12,
              f"‖w₁‖ = {num(np.linalg.norm(saddle['plain_newton_step']), 2)}"),
        Check("damped Newton and GD go downhill on the saddle, away from it", escapes,
              f"f from {saddle['start_value']:.3g} to {saddle['newton_final_value']:.3g} (Newton), "
              f"{saddle['gd_final_value']:.3g} (GD)"),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Hessian surfaces: minimum or saddle, and what Newton and GD do there", claim=claim,
                    checks=checks, why=why,
                    setup=f"Start w₀ = ({START[0]:g}, {START[1]:g}); tolerance ‖∇f‖ ≤ {num(TOL)}; GD with step "
                    "1/L, L = max |eigenvalue|; handnet's `newton` (Cholesky, damping when H is not positive "
                    "definite, Armijo line search). On the saddle f is unbounded below, so both stop after "
                    f"{SADDLE_ITER} steps. Nothing is random: `--seed` changes nothing.")
    report.table(["f", "eigenvalues of H", "type", "L/μ", "‖H − H_fd‖max", "GD steps", "Newton steps",
                  "f(w₀)", "f after GD", "f after Newton"],
                 [[s["function"], ", ".join(f"{e:.4g}" for e in s["eigenvalues"]), s["kind"],
                   "—" if s["condition_number"] is None else s["condition_number"], s["hessian_fd_error"],
                   s["gd_iterations"], s["newton_iterations"], s["start_value"], s["gd_final_value"],
                   s["newton_final_value"]] for s in studies])
    grid = GRID_QUICK if quick else GRID
    report.figure(contour_figure(studies, grid), "contours.png",
                  "Contours of f with the paths of GD (blue) and damped Newton (red); the star is the stationary point")
    report.figure(surface_figure(studies, grid), "surfaces.png", "The three surfaces")

    metrics = dict(start=START, tol=TOL, seconds=seconds,
                   functions=[{k: v for k, v in s.items() if not k.endswith("_path")} for s in studies])
    return report.write(out_dir, metrics)
