"""The protocol every objective of a weight vector follows, and the checks all of them apply.

An objective is a smooth function f: ℝᵈ → ℝ of a weight vector w, built from data (X, y) at
construction, with its derivatives in closed form:

* ``value(w) -> float``            f(w)
* ``grad(w) -> (d,)``              ∇f(w)
* ``value_and_grad(w)``            (f(w), ∇f(w)) from one evaluation: by default ``value`` then
                                   ``grad``; objectives whose two share work (the residual of least
                                   squares, the margins of logistic regression, a network's forward
                                   pass) override it to do that work once. The minimisers call
                                   all three, so a subclass that changes any of them must change
                                   all three, or take this default pair (else TypeError, when the
                                   class is defined)
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

from handnet._checks import as_float64, check_finite, check_real


class Objective:
    """Base class of objectives f(w); see the module docstring for the protocol."""

    n_features: int

    def __init_subclass__(cls, **kwargs) -> None:
        """Refuse a subclass whose value, grad and value_and_grad may describe different functions.

        The minimisers call all three (``value_and_grad`` at most points, ``value`` and ``grad``
        in line searches), so they must be one f's. That is sure when ``value_and_grad`` is the
        default (``value`` then ``grad``), or when all three come from one class, the one that
        wrote them together. A subclass that changes one or two of them (a penalty added to
        ``value`` and ``grad``, directly or through a mixin) and inherits the others from another
        class is refused when it is defined: define all three, or set ``value_and_grad =
        Objective.value_and_grad``. (Methods assigned to a class after it is defined are not seen.)
        """
        super().__init_subclass__(**kwargs)
        owners = {name: next(c for c in cls.__mro__ if name in vars(c)) for name in ("value", "grad", "value_and_grad")}
        if cls.value_and_grad is Objective.value_and_grad or len(set(owners.values())) == 1:
            return
        v, g, vg = (owner.__name__ for owner in owners.values())
        where = f"value from {v}, grad from {g} and value_and_grad from {vg}"
        raise TypeError(f"{cls.__name__} takes {where}: they may not be one function's value, gradient and pair. "
                        f"Define all three in {cls.__name__} (e.g. value_and_grad from super().value_and_grad(w)), "
                        f"or set value_and_grad = Objective.value_and_grad to have the pair computed by its "
                        f"value and grad")

    def value(self, w: np.ndarray) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define value")

    def grad(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define grad")

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """(f(w), ∇f(w)): the two methods in turn, unless a subclass shares their work."""
        return self.value(w), self.grad(w)

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
        """Return w as a float64 vector of shape (n_features,), or raise ValueError naming ``w``.

        O(d): minimisers call it on every value, gradient and Hessian, so it looks at w only.
        """
        w = as_float64(w, type(self).__name__, "w")
        if w.shape != (self.n_features,):
            raise ValueError(f"{type(self).__name__}: w must have shape ({self.n_features},), got {w.shape}")
        if not np.isfinite(w).all():
            check_finite(w, type(self).__name__, "w")             # raises, naming the first bad entry
        return w

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features={self.n_features})"


def check_data(X, y, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (X, y) as float64, X of shape (n, d) and y of shape (n,), n, d ≥ 1, all finite.

    Finiteness is checked as everywhere in handnet (``handnet._checks.all_finite``): one dot
    product X·X, a pass over X that writes nothing, where ``np.isfinite(X)`` would build an n×d
    array of booleans. X is looked at entry by entry only when that sum is not finite (a bad
    entry, which is then named, or ‖X‖ beyond ~1e154, whose square overflows), or when X is a
    strided or reversed view rather than an array in C or Fortran order.
    """
    X = as_float64(X, who, "X")
    y = as_float64(y, who, "y")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{who}: X must have shape (n, d) with n, d ≥ 1, got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{who}: y must have shape ({X.shape[0]},), one target per row of X, got {y.shape}")
    check_finite(X, who, "X")
    check_finite(y, who, "y")
    return X, y


def finite_curvature(value: float, X: np.ndarray, who: str, name: str) -> float:
    """Return a curvature constant, or raise ValueError naming X if it is beyond the largest float64."""
    if not np.isfinite(value):
        raise ValueError(f"{who}: {name} exceeds the largest float64: X has entries up to "
                         f"{float(np.max(np.abs(X))):.3g}, and the curvature grows with their square; rescale X, "
                         f"e.g. standardise its columns")
    return value


def check_lam(lam, who: str) -> float:
    """Return the penalty λ as a float, or raise ValueError naming ``lam`` if it is not a finite λ ≥ 0."""
    return check_real(lam, who, "lam")
