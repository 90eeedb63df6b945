"""What every minimiser of an objective returns, and the warning it gives when the answer is suspect."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class ConvergenceWarning(UserWarning):
    """A minimiser stopped early for a reason that makes its answer suspect: the objective has no
    minimiser (e.g. separable classes in unpenalised logistic regression), or the value rose
    because the step size is too large."""


@dataclass
class OptimizeResult:
    """The outcome of ``gradient_descent`` or ``newton``.

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
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.number)) or not math.isfinite(tol) or tol < 0:
        raise ValueError(f"{who}: tol must be a finite number ≥ 0, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"{who}: max_iter must be an integer ≥ 0, got {max_iter!r}")
    return float(tol), int(max_iter)
