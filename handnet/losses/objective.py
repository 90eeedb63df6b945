"""The protocol every objective of a weight vector follows, and the checks all of them apply.

An objective is a smooth function f: ℝᵈ → ℝ of a weight vector w, built from data (X, y) at
construction, with its derivatives in closed form:

* ``value(w) -> float``            f(w)
* ``grad(w) -> (d,)``              ∇f(w)
* ``hessian(w) -> (d, d)``         ∇²f(w), symmetric
* ``lipschitz: float``             L with ∇²f(w) ⪯ L·I for every w, so ‖∇f(u) − ∇f(v)‖ ≤ L‖u − v‖;
                                   gradient descent's default step is 1/L
* ``strong_convexity: float``      μ with ∇²f(w) ⪰ μ·I for every w (0 when f is convex but not
                                   strongly so); GD needs about (L/μ)·log(1/ε) steps
* ``n_features: int``              d, the length of w
* ``no_minimiser(w) -> str | None`` a message when w proves that f has no minimiser (e.g.
                                   separable classes for unpenalised logistic regression), else
                                   None; minimisers call it so as to stop instead of running off
                                   to infinity

Every method takes w of shape exactly (d,) and raises ValueError naming ``w`` otherwise.
Objectives compute in float64 whatever the dtype of the data.
"""

from __future__ import annotations

import numpy as np

from handnet._checks import check_real, as_float_array, check_finite


class Objective:
    """Base class of objectives f(w); see the module docstring for the protocol."""

    n_features: int

    def value(self, w: np.ndarray) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define value")

    def grad(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define grad")

    def hessian(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define hessian")

    @property
    def lipschitz(self) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define lipschitz")

    @property
    def strong_convexity(self) -> float:
        return 0.0

    def no_minimiser(self, w: np.ndarray) -> str | None:
        return None

    def check_w(self, w) -> np.ndarray:
        """Return w as a float64 vector of shape (n_features,), or raise ValueError naming ``w``."""
        who = type(self).__name__
        w = as_float_array(w, who, "w").astype(np.float64, copy=False)
        if w.shape != (self.n_features,):
            raise ValueError(f"{who}: w must have shape ({self.n_features},), got {w.shape}")
        check_finite(w, who, "w")
        return w

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features={self.n_features})"


def check_data(X, y, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (X, y) as float64, X of shape (n, d) and y of shape (n,), n, d ≥ 1, all finite."""
    X = as_float_array(X, who, "X").astype(np.float64, copy=False)
    y = as_float_array(y, who, "y").astype(np.float64, copy=False)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{who}: X must have shape (n, d) with n, d ≥ 1, got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{who}: y must have shape ({X.shape[0]},), one target per row of X, got {y.shape}")
    check_finite(X, who, "X")
    check_finite(y, who, "y")
    return X, y


def check_lam(lam, who: str) -> float:
    """Return the penalty λ as a float, or raise ValueError naming ``lam`` if it is not a finite λ ≥ 0."""
    return check_real(lam, who, "lam")


def gram_eigenvalue_range(X: np.ndarray) -> tuple[float, float]:
    """(λ_min, λ_max) of XᵀX/n for X (n, d): the extreme curvatures of a least-squares loss.

    XᵀX (d, d) and XXᵀ (n, n) have the same non-zero eigenvalues (the squared singular values
    of X), so we decompose the smaller of the two. When d > n, XᵀX has rank ≤ n < d and
    λ_min = 0. ``eigvalsh`` gives the exact largest eigenvalue, not a bound such as the trace
    or ‖X‖_F², which can exceed it d-fold and would make a 1/L step d times too short.
    """
    n, d = X.shape
    gram = X.T @ X if d <= n else X @ X.T          # (d, d) or (n, n)
    eigenvalues = np.linalg.eigvalsh(gram / n)     # ascending
    lam_max = max(float(eigenvalues[-1]), 0.0)
    lam_min = max(float(eigenvalues[0]), 0.0) if d <= n else 0.0   # clip rounding below 0
    return lam_min, lam_max
