"""Logistic regression: handnet's ``newton`` and ``gradient_descent`` against straight NumPy loops
and scikit-learn.

The objective is ``handnet.losses.Logistic(X, y, lam)``: mean binary cross-entropy of σ(Xw)
plus λ/2‖w‖², on random X (n, d) standard normal and labels drawn from σ(X w_true).

logistic_newton measures, from w₀ = 0:
  * handnet:      ``newton(Logistic(X, y, lam), w0)`` (tol 1e-10 on ‖∇f‖), construction included;
  * numpy loop:   the same number K of Newton updates with full steps, w ← w − H⁻¹∇f by
                  ``np.linalg.solve``, and nothing else (no line search, no values, no checks);
  * scikit-learn: ``LogisticRegression(solver="newton-cholesky", C=1/(nλ), fit_intercept=False,
                  tol=1e-10)``, the same objective scaled by 1/λ.
logistic_gd measures K_GD updates of ``gradient_descent`` (step η = 1/L, passed explicitly, and
tol = 0 so that it makes all of them) against a NumPy loop making the same updates.
``checks`` says whether handnet's Newton took only full steps (so the loop makes the same
iterations), the gradient norm it ended at, and how far apart the answers are.
"""

from __future__ import annotations

import warnings

import numpy as np

from handnet.losses import Logistic
from handnet.optim import gradient_descent, newton
from benchmarks._report import time_rows
from benchmarks._timing import Candidate, Timing, optional, round_robin

LAM = 1e-3
TOL = 1e-10
SIZES = {"full": [(20000, 100), (10000, 50)], "quick": [(20000, 100), (10000, 50)], "smoke": [(300, 5)]}
GD_STEPS = {"full": 100, "quick": 30, "smoke": 5}


def data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = 1 / (1 + np.exp(-X @ (rng.standard_normal(d) / np.sqrt(d))))
    return X, (rng.random(n) < p).astype(np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))                                  # the stable form handnet uses too
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def newton_loop(X: np.ndarray, y: np.ndarray, lam: float, steps: int) -> np.ndarray:
    n, d = X.shape
    w = np.zeros(d)
    for _ in range(steps):
        z = X @ w                                           # (n, d) @ (d,) -> (n,)
        p = _sigmoid(z)
        g = X.T @ (p - y) / n + lam * w                     # (d,)
        H = (X.T * (p * (1 - p))) @ X / n + lam * np.eye(d)  # (d, n) @ (n, d) -> (d, d)
        w = w - np.linalg.solve(H, g)
    return w


def gd_loop(X: np.ndarray, y: np.ndarray, lam: float, lr: float, steps: int) -> np.ndarray:
    n, d = X.shape
    w = np.zeros(d)
    for _ in range(steps):
        w = w - lr * (X.T @ (_sigmoid(X @ w) - y) / n + lam * w)
    return w


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def logistic_newton(mode: str, timing: Timing) -> tuple[str, list[dict], dict]:
    """Time the three Newton solves at every size; return (title, rows, checks)."""
    sklearn = optional("sklearn")
    rows, checks = [], {}
    for n, d in SIZES[mode]:
        X, y = data(n, d)
        result = newton(Logistic(X, y, LAM), np.zeros(d), tol=TOL)
        solves = {"handnet": ("numpy", lambda: newton(Logistic(X, y, LAM), np.zeros(d), tol=TOL).x),
                  "numpy loop": ("numpy", lambda: newton_loop(X, y, LAM, result.n_iter))}
        if sklearn is not None:
            from sklearn.linear_model import LogisticRegression

            def fit_sklearn():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")   # a ConvergenceWarning would only say tol is tight
                    model = LogisticRegression(solver="newton-cholesky", C=1 / (n * LAM), fit_intercept=False,
                                               tol=TOL, max_iter=100).fit(X, y)
                return model.coef_.ravel(), int(model.n_iter_[0])
            solves["scikit-learn"] = ("scikit-learn", fit_sklearn)
        case = f"{n}×{d}"
        times, redone = round_robin([Candidate(name, lib, fn) for name, (lib, fn) in solves.items()], timing)
        rows += time_rows("logistic_newton", case, times, {name: lib for name, (lib, _) in solves.items()})
        checks[case] = {"newton_iterations": result.n_iter, "converged": result.converged,
                        "final_grad_norm": result.history["grad_norm"][-1],
                        "only_full_steps": all(t == 1.0 for t in result.history["step_size"]),
                        "relative_difference[numpy loop]": _relative(solves["numpy loop"][1](), result.x),
                        "rounds_redone": redone}
        if sklearn is not None:
            w_sk, iterations = fit_sklearn()
            checks[case].update({"sklearn_iterations": iterations,
                                 "relative_difference[scikit-learn]": _relative(w_sk, result.x)})
    return f"Logistic regression by Newton's method, λ = {LAM:g}, tol {TOL:g}", rows, checks


def logistic_gd(mode: str, timing: Timing) -> tuple[str, list[dict], dict]:
    """Time GD_STEPS[mode] gradient-descent updates at every size; return (title, rows, checks)."""
    steps, rows, checks = GD_STEPS[mode], [], {}
    for n, d in SIZES[mode]:
        X, y = data(n, d)
        lr = 1 / Logistic(X, y, LAM).lipschitz
        runs = {"handnet": lambda: gradient_descent(Logistic(X, y, LAM), np.zeros(d), lr=lr, max_iter=steps, tol=0.0).x,
                "numpy loop": lambda: gd_loop(X, y, LAM, lr, steps)}
        case = f"{n}×{d}"
        times, redone = round_robin([Candidate(name, "numpy", fn) for name, fn in runs.items()], timing)
        rows += time_rows("logistic_gd", case, times, {name: "numpy" for name in runs})
        checks[case] = {"steps": steps, "rounds_redone": redone,
                        "relative_difference[numpy loop]": _relative(runs["numpy loop"](), runs["handnet"]())}
    return f"Logistic regression by gradient descent, {steps} steps of 1/L, λ = {LAM:g}", rows, checks
