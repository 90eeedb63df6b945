"""Least squares: the mean squared residual of a linear model, and its minimiser in closed form."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from handnet.linalg import gram_eigenvalue_range, solve_normal_equations
from handnet.losses.objective import Objective, check_data, finite_curvature


class LeastSquares(Objective):
    """f(w) = 1/(2n) ‖y − Xw‖², half the mean squared residual.

    Value:     f(w) = 1/(2n) rᵀr  with the residual r = y − Xw.
    Gradient:  ∇f(w) = −Xᵀr / n = (XᵀXw − Xᵀy) / n
               Derivation: df = (1/n) rᵀ dr and dr = −X dw, so df = −(1/n) rᵀX dw = ⟨−Xᵀr/n, dw⟩.
    Shared:    value and gradient both start from r = y − Xw; ``value_and_grad`` forms it once.
    Hessian:   ∇²f(w) = XᵀX / n, the same for every w (f is quadratic).
    Constants: lipschitz = λ_max(XᵀX/n), strong_convexity = λ_min(XᵀX/n) (0 when X has rank < d).
    Minimiser: ∇f = 0 gives the normal equations XᵀX w = Xᵀy (see ``solve``).
    Convention: the 1/(2n) is torch's ``0.5 * F.mse_loss(X @ w, y)``; scikit-learn's
               LinearRegression minimises ‖y − Xw‖², the same minimiser.

    Shapes:
        X: (n, d), y: (n,), w: (d,).
    Attributes:
        X, y: the data as float64 (not copied when they already are: change neither afterwards,
            the objective keeps results computed from them); n_samples = n; n_features = d.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = check_data(X, y, type(self).__name__)
        self.n_samples, self.n_features = self.X.shape

    def value(self, w: np.ndarray) -> float:
        r = self.y - self.X @ self.check_w(w)                  # (n,)
        return float(r @ r) / (2 * self.n_samples)

    def grad(self, w: np.ndarray) -> np.ndarray:
        r = self.y - self.X @ self.check_w(w)                  # (n,)
        return -(self.X.T @ r) / self.n_samples                # (d, n) @ (n,) -> (d,)

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        r = self.y - self.X @ self.check_w(w)                  # (n,), one product for both
        return float(r @ r) / (2 * self.n_samples), -(self.X.T @ r) / self.n_samples

    def hessian(self, w: np.ndarray) -> np.ndarray:
        self.check_w(w)
        return self.X.T @ self.X / self.n_samples              # (d, n) @ (n, d) -> (d, d)

    def gauss_newton(self, w: np.ndarray) -> np.ndarray:
        """The Gauss–Newton matrix JᵀJ/n of the residual r = y − Xw (J = −X): f is quadratic, so it is the Hessian."""
        return self.hessian(w)

    @cached_property
    def _curvature_range(self) -> tuple[float, float]:
        return gram_eigenvalue_range(self.X)

    @property
    def lipschitz(self) -> float:
        return finite_curvature(self._curvature_range[1], self.X, type(self).__name__, "lipschitz")

    @property
    def strong_convexity(self) -> float:
        return finite_curvature(self._curvature_range[0], self.X, type(self).__name__, "strong_convexity")

    def solve(self) -> np.ndarray:
        """The minimiser w* of f, shape (d,); the minimum-norm one when X has rank < d.

        The normal equations XᵀX w = Xᵀy, by ``handnet.linalg.solve_normal_equations`` with λ = 0:
        Cholesky while XᵀX is well conditioned, else the SVD of X (see there for why and the cost).
        """
        return solve_normal_equations(self.X, self.y, 0.0)
