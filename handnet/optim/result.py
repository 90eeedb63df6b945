"""What every minimiser of an objective returns, and the warning it gives when the answer is suspect."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handnet._checks import check_int, check_real
from handnet.linalg import norm
from handnet.losses.objective import Objective


ROUNDING = 64 * np.finfo(np.float64).eps   # relative rounding error we allow a computed f


def quiet() -> np.errstate:
    """numpy's floating-point warnings off. Minimisers evaluate the objective inside it and check
    every number they get instead: a non-finite value, gradient or Hessian is never convergence,
    and is reported by a ConvergenceWarning of our own (or, at w0, a ValueError)."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


class ConvergenceWarning(UserWarning):
    """A minimiser stopped early for a reason that makes its answer suspect: the objective has no
    minimiser (e.g. separable classes in unpenalised logistic regression), the value rose
    because the step size is too large, or a value, gradient or Hessian overflowed."""


@dataclass
class OptimizeResult:
    """The outcome of a minimiser: ``gradient_descent``, ``newton``, ``lbfgs`` or ``levenberg_marquardt``.

    Attributes:
        x: the last iterate w_K, shape (d,).
        fun: f(x).
        n_iter: K, the number of updates w_{k+1} = w_k + t_k·d_k taken.
        converged: True exactly when ‖∇f(x)‖ ≤ tol.
        message: why the minimiser stopped, in words.
        history: a dict of three lists, for plotting convergence:
            ``"value"``      [f(w_0), …, f(w_K)]             K + 1 entries
            ``"grad_norm"``  [‖∇f(w_0)‖, …, ‖∇f(w_K)‖]       K + 1 entries
            ``"step_size"``  [t_0, …, t_{K−1}]                K entries: the step length of each
                             update (GD's learning rate; Newton's line-search step, 1 = a full step)
            and, K entries each, what a minimiser adds: ``"damping"`` (Newton's τ, 0 when the
            Hessian was positive definite) or ``"mu"`` (Levenberg–Marquardt's μ).
    """

    x: np.ndarray
    fun: float
    n_iter: int
    converged: bool
    message: str
    history: dict[str, list[float]] = field(default_factory=lambda: {"value": [], "grad_norm": [],
                                                                      "step_size": []})


def check_stopping(tol: float, max_iter: int, who: str) -> tuple[float, int]:
    """Return (tol, max_iter) checked: tol a finite number ≥ 0, max_iter an integer ≥ 0."""
    return check_real(tol, who, "tol"), check_int(max_iter, who, "max_iter", low=0)


def check_objective(objective, who: str) -> None:
    """TypeError unless ``objective`` is an ``Objective``: a minimiser needs its value, grad and
    value_and_grad (and its hessian or gauss_newton, for the second-order ones)."""
    if not isinstance(objective, Objective):
        raise TypeError(f"{who}: objective must be a handnet.losses.Objective (value and grad of w, and hessian for "
                        f"newton), got {type(objective).__name__}; to minimise a function of your own, subclass "
                        f"Objective and define those methods (value_and_grad comes with it; see "
                        f"handnet.losses.objective)")


def is_finite(*values) -> bool:
    """True when every number in every value (floats or arrays) is finite."""
    for v in values:
        if not np.isfinite(v).all():
            return False
    return True


def start(objective, w0: np.ndarray, who: str) -> tuple[np.ndarray, float, np.ndarray]:
    """(w_0, f(w_0), ∇f(w_0)): w0 checked (the shape (d,), finite) and copied, f and ∇f from one
    ``value_and_grad``; ValueError unless they are finite there, since no minimiser can start from a
    point where they overflow."""
    w = objective.check_w(w0).copy()
    with quiet():
        f, g = objective.value_and_grad(w)
    if not is_finite(f, g):
        raise ValueError(f"{who}: the objective is not finite at w0 (f(w0) = {f}, ‖∇f(w0)‖ = {norm(g):.3e}): it "
                         f"overflows there; start from a w0 of the scale of the solution, or rescale the data")
    return w, f, g


class Trace:
    """What both minimisers keep while they iterate: the history, the callback, the stopping tests.

    ``Trace(w_0, f(w_0), ∇f(w_0), callback)`` starts the record; ``record(w, f, g, t)`` adds an
    update; ``stop_reason(...)`` says why to stop before the next update, or None to go on;
    ``result(...)`` packs it all into an ``OptimizeResult``.
    """

    def __init__(self, w: np.ndarray, f: float, g: np.ndarray,
                 callback: Callable[[np.ndarray], None] | None) -> None:
        self.history: dict[str, list[float]] = {"value": [], "grad_norm": [], "step_size": []}
        self.callback = callback
        self._append(w, f, g)

    def _append(self, w: np.ndarray, f: float, g: np.ndarray) -> None:
        self.history["value"].append(f)
        self.history["grad_norm"].append(norm(g))
        if self.callback is not None:
            self.callback(w.copy())

    def record(self, w: np.ndarray, f: float, g: np.ndarray, step: float, **extra: float) -> None:
        """Add the update that reached w (value f, gradient g) with step length ``step``; each
        ``extra`` figure of the update (Newton's damping, Levenberg–Marquardt's μ) goes to its own list."""
        self.history["step_size"].append(step)
        for key, value in extra.items():
            self.history.setdefault(key, []).append(value)
        self._append(w, f, g)

    @property
    def n_iter(self) -> int:
        return len(self.history["step_size"])

    @property
    def grad_norm(self) -> float:
        return self.history["grad_norm"][-1]

    def stop_reason(self, objective, w: np.ndarray, tol: float, max_iter: int) -> str | None:
        """Why to stop at w, or None. Warns (ConvergenceWarning) when the objective has no minimiser."""
        reason = objective.no_minimiser(w)
        if reason is not None:
            warnings.warn(reason, ConvergenceWarning, stacklevel=3)   # at the caller of the minimiser
            return reason
        if self.grad_norm <= tol:
            return f"converged: ‖∇f‖ = {self.grad_norm:.3e} ≤ tol = {tol:.1e}"
        if self.n_iter == max_iter:
            return f"stopped after max_iter = {max_iter} updates with ‖∇f‖ = {self.grad_norm:.3e}"
        return None

    def not_finite(self, who: str, what: str) -> str:
        """Warn (ConvergenceWarning) that ``what``, computed from w_k, overflowed, and return the message.

        The minimiser then stops at w_k, the last iterate where f and ∇f are finite: its answer is
        not a minimum, and ``converged`` stays False unless ‖∇f(w_k)‖ ≤ tol.
        """
        message = (f"stopped at iterate {self.n_iter}: {what} is not finite (it overflows float64); the result is "
                   f"the last iterate with a finite value and gradient, ‖∇f‖ = {self.grad_norm:.3e}, not a minimum")
        warnings.warn(f"{who}: {message}", ConvergenceWarning, stacklevel=3)   # at the caller of the minimiser
        return message

    def result(self, w: np.ndarray, f: float, tol: float, message: str) -> OptimizeResult:
        return OptimizeResult(x=w, fun=f, n_iter=self.n_iter, converged=self.grad_norm <= tol,
                              message=message, history=self.history)
