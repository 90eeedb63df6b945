"""Ridge regression in closed form: handnet's ``Ridge(X, y, lam).solve()`` against NumPy and scikit-learn.

Measured, on random X (n, d) standard normal and y = Xw + noise, λ = LAM:
  * handnet:     ``Ridge(X, y, lam).solve()``, construction included (it checks the data, factors
                 XᵀX + nλI by Cholesky, estimates its condition number from the factor to choose
                 that or the SVD of X, and solves; see ``handnet.linalg``);
  * numpy solve: ``np.linalg.solve(XᵀX + nλI, Xᵀy)``, the same normal equations, nothing else;
  * scikit-learn ``Ridge(alpha=n·λ, fit_intercept=False).fit(X, y)``, which minimises the same
                 objective (see ``handnet.losses.Ridge``) and is the accuracy yardstick:
                 ``checks`` holds ‖w − w_sklearn‖ / ‖w_sklearn‖ for handnet and for numpy.
"""

from __future__ import annotations

import numpy as np

from handnet.losses import Ridge
from benchmarks._report import time_rows
from benchmarks._timing import Candidate, Timing, optional, round_robin

LAM = 1e-3
SIZES = {"full": [(20000, 200), (2000, 50)], "quick": [(20000, 200), (2000, 50)], "smoke": [(200, 10)]}


def data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def ridge(mode: str, timing: Timing) -> tuple[str, list[dict], dict]:
    """Time the three solves at every size; return (title, rows, checks)."""
    sklearn = optional("sklearn")
    rows, checks = [], {}
    for n, d in SIZES[mode]:
        X, y = data(n, d)
        solves = {"handnet": ("numpy", lambda: Ridge(X, y, LAM).solve()),
                  "numpy solve": ("numpy", lambda: np.linalg.solve(X.T @ X + n * LAM * np.eye(d), X.T @ y))}
        if sklearn is not None:
            from sklearn.linear_model import Ridge as SkRidge
            solves["scikit-learn"] = ("scikit-learn",
                                      lambda: SkRidge(alpha=n * LAM, fit_intercept=False).fit(X, y).coef_)
        case = f"{n}×{d}"
        times, redone = round_robin([Candidate(name, lib, fn) for name, (lib, fn) in solves.items()], timing)
        rows += time_rows("ridge", case, times, {name: lib for name, (lib, _) in solves.items()})
        checks[case] = {"rounds_redone": redone}
        if sklearn is not None:
            w_sk = solves["scikit-learn"][1]()
            checks[case] |= {f"relative_error_vs_sklearn[{name}]":
                             float(np.linalg.norm(solves[name][1]() - w_sk) / np.linalg.norm(w_sk))
                             for name in ("handnet", "numpy solve")}
    return f"Ridge closed form (XᵀX + nλI) w = Xᵀy, λ = {LAM:g}", rows, checks
