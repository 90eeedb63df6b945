"""Ridge: scikit-learn's ridge regression, by handnet's closed form or by gradient descent."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from handnet._checks import check_int, check_real
from handnet.losses import Ridge as RidgeObjective
from handnet.optim import gradient_descent


class Ridge(RegressorMixin, BaseEstimator):
    """Ridge regression with scikit-learn's interface and objective.

    Objective, for each target column y: scikit-learn's ‖y − Xw − b‖² + α‖w‖², which divided by
    2n is ``handnet.losses.Ridge`` with λ = α/n:
        f(w) = 1/(2n) ‖y − Xw − b‖² + (α/n)/2 ‖w‖²,
    the intercept b not penalised: ``fit_intercept=True`` centres X and y, solves for w, and
    sets b = ȳ − x̄ᵀw (see ``handnet.losses.Ridge``).
    Solvers: "cholesky" — ``Ridge.solve()``, a Cholesky solve of (XᵀX + αI) w = Xᵀy (the SVD
    when that is ill conditioned); n_iter_ counts it as 1 — or "gd" — ``gradient_descent``
    with step 1/L from w = 0, until ‖∇f‖₂ ≤ tol or max_iter updates (10 000 when None).

    Parameters: alpha ≥ 0 (one number), fit_intercept, solver, max_iter, tol (used by "gd").
    Attributes: coef_ (D,) for y of shape (N,), else (K, D); intercept_ (a float, or (K,); 0.0
    without an intercept);
    n_iter_ (K,), the iterations per target; n_features_in_.
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="cholesky", max_iter=None, tol=1e-4):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y) -> Ridge:
        """Fit one ridge regression per column of y (N,) or (N, K) on X (N, D)."""
        who = "Ridge"
        alpha, tol = check_real(self.alpha, who, "alpha"), check_real(self.tol, who, "tol")
        if self.solver not in ("cholesky", "gd"):
            raise ValueError(f"{who}: solver must be 'cholesky' or 'gd', got {self.solver!r}")
        max_iter = 10_000 if self.max_iter is None else check_int(self.max_iter, who, "max_iter (or None)")
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        Y = y.reshape(len(y), -1)                                   # (N, K)
        coef, intercept, n_iter = np.zeros((Y.shape[1], X.shape[1])), np.zeros(Y.shape[1]), []
        for j in range(Y.shape[1]):
            objective = RidgeObjective(X, Y[:, j], lam=alpha / len(X), fit_intercept=bool(self.fit_intercept))
            if self.solver == "cholesky":
                w, steps = objective.solve(), 1
            elif objective.lipschitz == 0:                          # f does not depend on w: w = 0 minimises it
                w, steps = np.zeros(X.shape[1]), 0
            else:
                result = gradient_descent(objective, np.zeros(X.shape[1]), tol=tol, max_iter=max_iter)
                if not result.converged:
                    warnings.warn(f"{who}: gradient descent did not converge: {result.message}", ConvergenceWarning)
                w, steps = result.x, result.n_iter
            coef[j], intercept[j] = w, objective.intercept(w)
            n_iter.append(steps)
        self.coef_ = coef[0] if y.ndim == 1 else coef
        if not self.fit_intercept:
            self.intercept_ = 0.0                                   # scikit-learn's, for any number of targets
        else:
            self.intercept_ = float(intercept[0]) if y.ndim == 1 else intercept
        self.n_iter_ = np.array(n_iter)
        return self

    def predict(self, X) -> np.ndarray:
        """X coef_ᵀ + intercept_: (N,) or (N, K)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_.T + self.intercept_                   # (N, D) @ (D, K) -> (N, K), or (N,)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
