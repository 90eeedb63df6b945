"""Ridge regression: least squares plus an L2 penalty, with an optional unpenalised intercept."""

from __future__ import annotations

import numpy as np

from handnet._linalg import cholesky_solve
from handnet.losses.least_squares import LeastSquares
from handnet.losses.objective import check_data, check_lam


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
        X, y: the data the objective is evaluated on (centred when fit_intercept=True), float64.
        x_mean (d,), y_mean (float): the column means of X and the mean of y that were removed
            (zeros when fit_intercept=False).
        lam: λ ≥ 0.  n_samples = n, n_features = d.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, lam: float, fit_intercept: bool = False) -> None:
        X, y = check_data(X, y, "Ridge")
        self.lam = check_lam(lam, "Ridge")
        self.fit_intercept = bool(fit_intercept)
        self.x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])   # (d,)
        self.y_mean = float(y.mean()) if self.fit_intercept else 0.0
        super().__init__(X - self.x_mean, y - self.y_mean)

    def value(self, w: np.ndarray) -> float:
        w = self.check_w(w)
        return super().value(w) + 0.5 * self.lam * float(w @ w)

    def grad(self, w: np.ndarray) -> np.ndarray:
        w = self.check_w(w)
        return super().grad(w) + self.lam * w

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return super().hessian(w) + self.lam * np.eye(self.n_features)

    @property
    def lipschitz(self) -> float:
        return super().lipschitz + self.lam

    @property
    def strong_convexity(self) -> float:
        return super().strong_convexity + self.lam

    def solve(self) -> np.ndarray:
        """w* = (XᵀX + nλI)⁻¹ Xᵀy, shape (d,), by Cholesky; the inverse is never formed.

        d ≤ n, primal:  solve (XᵀX + nλI) w = Xᵀy, a d×d system.
        d > n,  dual:   w = Xᵀα with (XXᵀ + nλI) α = y, an n×n system — cheaper when d > n.
                        They agree: Xᵀ(XXᵀ + nλI) = (XᵀX + nλI)Xᵀ, so multiplying by the two
                        inverses gives (XᵀX + nλI)⁻¹Xᵀ = Xᵀ(XXᵀ + nλI)⁻¹.
        For λ > 0 both matrices are positive definite (eigenvalues ≥ nλ). But the solution of a
        system by Cholesky carries a relative error of about its condition number times ε, and
        here that is (λ_max + λ)/(λ_min + λ) with λ_max, λ_min the extreme eigenvalues of XᵀX/n.
        So, as ``LeastSquares.solve`` does, we use Cholesky only while that ratio is ≤ 1/√ε;
        otherwise (a tiny λ with collinear columns or large scales) we use the SVD X = U diag(s) Vᵀ:
        w* = V diag(s / (s² + nλ)) Uᵀy, which never forms XᵀX.
        λ = 0 is least squares, solved as ``LeastSquares.solve`` does (minimum norm if rank < d).
        """
        if self.lam == 0:
            return super().solve()
        X, y, n, d = self.X, self.y, self.n_samples, self.n_features
        lam_min, lam_max = self._curvature_range   # of XᵀX/n (λ_min is 0 when d > n)
        if lam_min + self.lam > np.sqrt(np.finfo(np.float64).eps) * (lam_max + self.lam):
            try:
                if d <= n:
                    return cholesky_solve(X.T @ X + n * self.lam * np.eye(d), X.T @ y)   # (d, d) w = (d,)
                alpha = cholesky_solve(X @ X.T + n * self.lam * np.eye(n), y)          # (n, n) α = (n,)
                return X.T @ alpha                                                      # (d, n) @ (n,) -> (d,)
            except np.linalg.LinAlgError:
                pass  # numerically not positive definite after all: use the SVD below
        U, s, Vt = np.linalg.svd(X, full_matrices=False)                              # (n, k), (k,), (k, d)
        # Singular values below the rounding level of X are zero in exact arithmetic; their
        # directions carry no signal, so they get the factor 0 rather than noise/(nλ).
        s = np.where(s > np.finfo(np.float64).eps * max(n, d) * s[0], s, 0.0)
        return Vt.T @ (s / (s**2 + n * self.lam) * (U.T @ y))                        # (d, k) @ (k,) -> (d,)

    def intercept(self, w: np.ndarray) -> float:
        """The unpenalised intercept b = ȳ − x̄ᵀw that goes with w (0.0 when fit_intercept=False).

        Predictions are X_new @ w + intercept(w), with X_new not centred.
        """
        return self.y_mean - float(self.x_mean @ self.check_w(w))

    def __repr__(self) -> str:
        return f"Ridge(n_features={self.n_features}, lam={self.lam}, fit_intercept={self.fit_intercept})"
