"""LogisticRegression: scikit-learn's L2-penalised logistic regression, by Newton's method on handnet objectives."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from handnet._checks import check_int, check_real
from handnet.layers import Linear
from handnet.linalg import gram_eigenvalue_range
from handnet.losses import Logistic, SoftmaxCrossEntropy
from handnet.model_objective import ModelObjective
from handnet.optim import gradient_descent, newton
from handnet.sequential import Sequential
from handnet.sklearn._classes import LogitPredictions
from handnet.sklearn.penalised import Penalised


class LogisticRegression(LogitPredictions, ClassifierMixin, BaseEstimator):
    """L2-penalised logistic regression with scikit-learn's interface and the objective of its default (l2, lbfgs).

    Objective, scikit-learn's C·Σᵢ ℓᵢ + ½‖W‖² divided by nC, which has the same minimiser:
        f(W, b) = (1/n) Σᵢ ℓ(W xᵢ + b, yᵢ) + λ/2 ‖W‖²_F,   λ = 1/(n·C),
    with the intercept b not penalised (as in scikit-learn).
    * Two classes: ℓ is the binary cross-entropy of one margin, ``handnet.losses.Logistic`` on
      X with a column of ones appended, wrapped in ``Penalised`` with λ on the d weights and
      0 on the intercept. coef_ (1, d), intercept_ (1,).
    * K > 2 classes: ℓ is the softmax cross-entropy of K margins (multinomial, scikit-learn's
      choice for every solver but liblinear), ``hn.ModelObjective`` of one ``Linear(d, K)``
      with ``SoftmaxCrossEntropy``, wrapped the same way. coef_ (K, d), intercept_ (K,).
      Adding a constant to every class's intercept leaves every softmax unchanged, so f
      has a line of minimisers. scikit-learn's lbfgs starts at 0 and its steps never move along
      that line (every gradient has Σ_k ∂f/∂b_k = 0), so it returns the one with Σ_k b_k = 0.
      ``Penalised`` adds ½μ(Σ_k b_k)², which is 0 there: the minimiser becomes unique, the
      same, and the Hessian positive definite. μ = 1/(2K) gives that direction curvature ½,
      the most the loss can have along any direction (Böhning's bound diag(p) − ppᵀ ⪯ ½I).
    Solvers: "newton" (``handnet.optim.newton``: a handful of steps, so the tight default tol
    costs nothing) or "gd" (``gradient_descent`` with step 1/L, L the bound above:
    λ_max(X̃ᵀX̃/n)/4 + λ for two classes, λ_max(X̃ᵀX̃/n)/2 + λ + ½ for more, X̃ = [X, 1]).
    Both stop when ‖∇f‖₂ ≤ tol, or after max_iter updates with a ``ConvergenceWarning``.

    Parameters: C > 0 (finite), fit_intercept, solver, max_iter, tol (on ‖∇f‖₂; 1e-12 so that
    coef_ agrees with a tightly converged scikit-learn fit — scikit-learn's own 1e-4 is for lbfgs).
    Attributes: classes_, coef_, intercept_, n_iter_ (array (1,), as scikit-learn's), n_features_in_.
    """

    def __init__(self, *, C=1.0, fit_intercept=True, solver="newton", max_iter=100, tol=1e-12):
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y) -> LogisticRegression:
        """Minimise the objective on X (N, D) and labels y (N,) from W = 0, b = 0."""
        who = "LogisticRegression"
        C = check_real(self.C, who, "C", low_open=True)
        if self.solver not in ("newton", "gd"):
            raise ValueError(f"{who}: solver must be 'newton' or 'gd', got {self.solver!r}")
        max_iter, tol = check_int(self.max_iter, who, "max_iter"), check_real(self.tol, who, "tol")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"{who} needs samples of at least 2 classes, but the data contains only one class: "
                             f"{self.classes_[0]!r}")
        n, d = X.shape
        k, lam, fit_intercept = len(self.classes_), 1.0 / (n * C), bool(self.fit_intercept)
        X1 = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
        if k == 2:
            objective = Penalised(Logistic(X1, (y == self.classes_[1]).astype(float)),
                                  np.r_[np.full(d, lam), np.zeros(X1.shape[1] - d)])
            curvature = gram_eigenvalue_range(X1)[1] / 4 + lam
        else:
            model = Sequential(Linear(d, k, bias=fit_intercept, rng=0))   # its values are never used: w0 = 0
            intercepts = np.arange(k * d, k * d + k) if fit_intercept else None
            objective = Penalised(ModelObjective(model, SoftmaxCrossEntropy(), X, np.searchsorted(self.classes_, y)),
                                  np.r_[np.full(k * d, lam), np.zeros(k if fit_intercept else 0)],
                                  centred=intercepts, mu=1.0 / (2 * k))
            curvature = gram_eigenvalue_range(X1)[1] / 2 + lam + (0.5 if fit_intercept else 0.0)
        w0 = np.zeros(objective.n_features)
        if self.solver == "newton":
            result = newton(objective, w0, tol=tol, max_iter=max_iter)
        else:
            result = gradient_descent(objective, w0, lr=1.0 / curvature, tol=tol, max_iter=max_iter)
        if not result.converged:
            warnings.warn(f"{who}: the {self.solver} solver did not converge: {result.message}", ConvergenceWarning)
        rows = 1 if k == 2 else k
        self.coef_ = result.x[:rows * d].reshape(rows, d)
        self.intercept_ = result.x[rows * d:].copy() if fit_intercept else np.zeros(rows)
        self.n_iter_ = np.array([result.n_iter])
        return self

    def decision_function(self, X) -> np.ndarray:
        """The margins X coef_ᵀ + intercept_: (N,) for two classes (positive means classes_[1]), else (N, K)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = X @ self.coef_.T + self.intercept_                  # (N, D) @ (D, K) -> (N, K)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def _logits(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores

