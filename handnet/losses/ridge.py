"""Ridge regression: least squares plus an L2 penalty, with an optional unpenalised intercept."""

from __future__ import annotations

import numpy as np

from handnet.linalg import solve_normal_equations
from handnet.losses.least_squares import LeastSquares
from handnet.losses.objective import check_lam


class Ridge(LeastSquares):
    """f(w) = 1/(2n) ‖y − Xw‖² + λ/2 ‖w‖².

    Value:     f(w) = 1/(2n) rᵀr + (λ/2) wᵀw,  r = y − Xw.
    Gradient:  ∇f(w) = −Xᵀr / n + λw          (least squares' gradient, plus d(λ/2 wᵀw) = λwᵀdw)
    Hessian:   ∇²f(w) = XᵀX / n + λI
    Constants: lipschitz = λ_max(XᵀX/n) + λ, strong_convexity = λ_min(XᵀX/n) + λ (> 0 for λ > 0).
    Minimiser: ∇f = 0 ⇔ (XᵀX + nλI) w = Xᵀy (see ``solve``).
    Convention: multiplying f by 2n gives ‖y − Xw‖² + nλ‖w‖², scikit-learn's Ridge objective with
               alpha = nλ: ``Ridge(alpha=n*lam, fit_intercept=False).coef_`` equals ``solve()``.

    Intercept (``fit_intercept=True``): the model is Xw + b·1 with b not penalised, as in
    scikit-learn. For fixed w the best b sets ∂/∂b ‖y − Xw − b1‖² = 0, i.e. b = ȳ − x̄ᵀw, and
    putting it back gives ‖(y − ȳ) − (X − 1x̄ᵀ)w‖²: the same objective on *centred* data. So
    with fit_intercept=True this object is the ridge objective of Xc = X − 1x̄ᵀ, yc = y − ȳ —
    value, grad, hessian and solve all see the centred data, and every minimiser of w works on
    it unchanged — and the intercept is recovered afterwards by ``intercept(w)`` = ȳ − x̄ᵀw.
    (By the envelope theorem, the gradient of this profile objective in w is ∂f/∂w at the best
    b, so nothing is lost by optimising w alone.)

    Shapes:
        X: (n, d), y: (n,), w: (d,).
    Attributes:
        X, y: the data the objective is evaluated on, float64: centred copies when
            fit_intercept=True, else the data as given (see ``LeastSquares``).
        x_mean (d,), y_mean (float): the column means of X and the mean of y that were removed
            (zeros when fit_intercept=False).
        lam: λ ≥ 0.  n_samples = n, n_features = d.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, lam: float, fit_intercept: bool = False) -> None:
        super().__init__(X, y)                                   # checks the data (as "Ridge") and keeps it
        self.lam = check_lam(lam, "Ridge")
        self.fit_intercept = bool(fit_intercept)
        self.x_mean = self.X.mean(axis=0) if self.fit_intercept else np.zeros(self.n_features)   # (d,)
        self.y_mean = float(self.y.mean()) if self.fit_intercept else 0.0
        if self.fit_intercept:
            self.X, self.y = self.X - self.x_mean, self.y - self.y_mean   # the centred data

    def value(self, w: np.ndarray) -> float:
        w = self.check_w(w)
        return super().value(w) + 0.5 * self.lam * float(w @ w)

    def grad(self, w: np.ndarray) -> np.ndarray:
        w = self.check_w(w)
        return super().grad(w) + self.lam * w

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        w = self.check_w(w)
        f, g = super().value_and_grad(w)                        # least squares' pair, from one residual
        return f + 0.5 * self.lam * float(w @ w), g + self.lam * w

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return super().hessian(w) + self.lam * np.eye(self.n_features)

    @property
    def lipschitz(self) -> float:
        return super().lipschitz + self.lam

    @property
    def strong_convexity(self) -> float:
        return super().strong_convexity + self.lam

    def solve(self) -> np.ndarray:
        """w* = (XᵀX + nλI)⁻¹ Xᵀy, shape (d,), by ``handnet.linalg.solve_normal_equations``.

        Cholesky of the d×d primal system (or, when d > n, of the n×n dual one) while it is well
        conditioned; otherwise the SVD of X. The inverse is never formed. λ = 0 is least squares,
        with the minimum-norm solution when X has rank < d.
        """
        return solve_normal_equations(self.X, self.y, self.lam)

    def intercept(self, w: np.ndarray) -> float:
        """The unpenalised intercept b = ȳ − x̄ᵀw that goes with w (0.0 when fit_intercept=False).

        Predictions are X_new @ w + intercept(w), with X_new not centred.
        """
        return self.y_mean - float(self.x_mean @ self.check_w(w))

    def __repr__(self) -> str:
        return f"Ridge(n_features={self.n_features}, lam={self.lam}, fit_intercept={self.fit_intercept})"
