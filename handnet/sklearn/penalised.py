"""An objective plus an L2 penalty on chosen coordinates: how the estimators add scikit-learn's penalties."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_real
from handnet.losses.objective import Objective


class Penalised(Objective):
    """g(w) = f(w) + ½ Σᵢ λᵢ wᵢ² + ½ μ (Σ_{i∈S} wᵢ)², for any objective f (a network's ``ModelObjective`` too).

    Value:     g(w) = f(w) + ½ wᵀ diag(λ) w + ½ μ (1_Sᵀw)²
    Gradient:  ∇g(w) = ∇f(w) + λ ⊙ w + μ (1_Sᵀw) 1_S
    Hessian:   ∇²g(w) = ∇²f(w) + diag(λ) + μ 1_S 1_Sᵀ
               (and the same is added to f's ``gauss_newton``, for Levenberg–Marquardt)
    Constants: lipschitz = L_f + max λᵢ + μ|S|  (‖1_S 1_Sᵀ‖ = |S|);
               strong_convexity = μ_f + min λᵢ   (the rank-one term adds nothing in general).

    Why per coordinate: scikit-learn penalises weights and never intercepts (biases), so λᵢ is
    the penalty on a weight and 0 on an intercept. The second term is for multinomial logistic
    regression, whose loss does not change when the same constant is added to every class's
    intercept (S = the intercepts): it fixes that constant, and is 0 at the minimiser it picks.

    ``no_minimiser``: f's verdict when the penalty is zero; otherwise None. (For the objectives
    the estimators build — logistic losses, network losses — a positive penalty on the weights
    leaves no direction along which g decreases forever.)

    Shapes:
        lam: (d,) with every λᵢ ≥ 0, d = f.n_features; centred: indices into w (S), or None.
    """

    def __init__(self, objective: Objective, lam: np.ndarray, centred: np.ndarray | None = None,
                 mu: float = 0.0) -> None:
        self.objective = objective
        self.n_features = objective.n_features
        self.lam = as_float_array(lam, "Penalised", "lam").astype(np.float64)
        if self.lam.shape != (self.n_features,) or not np.all(np.isfinite(self.lam)) or np.any(self.lam < 0):
            raise ValueError(f"Penalised: lam must hold {self.n_features} finite numbers ≥ 0, one per coordinate, "
                             f"got shape {self.lam.shape}")
        self.centred = np.zeros(0, dtype=int) if centred is None else np.asarray(centred, dtype=int)
        self.mu = check_real(mu, "Penalised", "mu")

    def _penalty(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """(½ wᵀdiag(λ)w + ½ μ (1_Sᵀw)², its gradient λ ⊙ w + μ (1_Sᵀw) 1_S), for a checked w."""
        total = float(w[self.centred].sum())
        g = self.lam * w
        g[self.centred] += self.mu * total
        return 0.5 * float(self.lam @ (w * w)) + 0.5 * self.mu * total**2, g

    def value(self, w: np.ndarray) -> float:
        w = self.check_w(w)
        return self.objective.value(w) + self._penalty(w)[0]

    def grad(self, w: np.ndarray) -> np.ndarray:
        w = self.check_w(w)
        return self.objective.grad(w) + self._penalty(w)[1]

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        w = self.check_w(w)
        f, g = self.objective.value_and_grad(w)                 # f's pair, from whatever f shares
        penalty, penalty_grad = self._penalty(w)
        return f + penalty, g + penalty_grad

    def _add_curvature(self, H: np.ndarray) -> np.ndarray:
        H = H + np.diag(self.lam)
        H[np.ix_(self.centred, self.centred)] += self.mu
        return H

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return self._add_curvature(self.objective.hessian(self.check_w(w)))

    def gauss_newton(self, w: np.ndarray) -> np.ndarray:
        return self._add_curvature(self.objective.gauss_newton(self.check_w(w)))

    @property
    def lipschitz(self) -> float:
        return self.objective.lipschitz + float(self.lam.max(initial=0.0)) + self.mu * len(self.centred)

    @property
    def strong_convexity(self) -> float:
        return self.objective.strong_convexity + (float(self.lam.min()) if self.lam.size else 0.0)

    def no_minimiser(self, w: np.ndarray) -> str | None:
        if np.any(self.lam > 0) or (self.mu > 0 and len(self.centred)):
            return None
        return self.objective.no_minimiser(w)

    def __repr__(self) -> str:
        return f"Penalised({self.objective!r}, max lam={self.lam.max(initial=0.0)}, mu={self.mu})"
