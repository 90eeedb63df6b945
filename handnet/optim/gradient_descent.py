"""Gradient descent with a fixed step: the baseline every other minimiser is compared with."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from handnet._checks import check_real
from handnet.losses.objective import Objective
from handnet.optim.result import (ROUNDING, ConvergenceWarning, OptimizeResult, Trace, check_objective,
                                  check_stopping, is_finite, quiet, start)


def gradient_descent(objective: Objective, w0: np.ndarray, *, lr: float | None = None,
                     max_iter: int = 10_000, tol: float = 1e-8,
                     callback: Callable[[np.ndarray], None] | None = None) -> OptimizeResult:
    """Minimise ``objective`` from ``w0`` by w_{k+1} = w_k − η ∇f(w_k).

    Step:  η = ``lr``, by default 1/L with L = ``objective.lipschitz`` (∇²f ⪯ L·I).
    Why 1/L: for any η, f(w − η∇f) ≤ f(w) − η(1 − Lη/2)‖∇f(w)‖² (Taylor's theorem with ∇²f ⪯ L·I),
           so every step with η < 2/L decreases f, and η = 1/L gives the largest guaranteed
           decrease, ‖∇f‖²/(2L). If also ∇²f ⪰ μ·I with μ > 0 (``strong_convexity``), the error
           shrinks at least as fast as (1 − μ/L)^k: about (L/μ)·log(1/ε) steps to gain a factor ε.
           L/μ is the condition number; Newton's method does not depend on it.
    Stops: when ‖∇f(w_k)‖ ≤ tol (``converged``); after ``max_iter`` updates; when f rises, which
           for a convex f means η ≥ 2/L — it warns (``ConvergenceWarning``) and returns the last
           w before the rise; when the value or gradient at the next iterate overflows — it warns
           and returns w_k; or when ``objective.no_minimiser(w_k)`` reports that no minimiser
           exists — it warns and returns w_k. A non-finite f or ∇f at w0 is refused (ValueError).
    Cost:  one ``objective.value_and_grad`` per update, at the next iterate: its value for the rise
           test and the history, its gradient for the next step and the stopping test.

    Args:
        objective: an ``handnet.losses.Objective``.
        w0: the starting point, shape (d,).
        lr: the step η > 0; None for 1/L.
        max_iter: the largest number of updates.
        tol: the gradient-norm tolerance.
        callback: called as ``callback(w_k)`` with every iterate, w_0 included (a copy), e.g. to
            record the path or the distance to a known minimiser.
    Returns:
        an ``OptimizeResult``; ``history["step_size"]`` holds η at every update.
    """
    check_objective(objective, "gradient_descent")
    tol, max_iter = check_stopping(tol, max_iter, "gradient_descent")
    if lr is None:
        L = objective.lipschitz
        if not L > 0:
            raise ValueError(f"gradient_descent: the objective's Lipschitz constant is {L!r}, so 1/L is no step; "
                             f"pass lr explicitly (f is constant along every direction the data spans)")
        lr = 1.0 / L
    else:
        lr = check_real(lr, "gradient_descent", "lr", low_open=True)  # or None, for 1/L

    w, f, g = start(objective, w0, "gradient_descent")
    trace = Trace(w, f, g, callback)
    while (message := trace.stop_reason(objective, w, tol, max_iter)) is None:
        with quiet():
            w_new = w - lr * g
            f_new, g_new = objective.value_and_grad(w_new) if is_finite(w_new) else (math.inf, None)
            if not math.isfinite(f_new):
                message = trace.not_finite("gradient_descent", f"the value at the next iterate (step lr = {lr:.3e})")
                break
            # Allow a rise within the rounding error of f: near the minimiser f stops changing.
            if not f_new <= f + ROUNDING * max(1.0, abs(f)):
                message = (f"the value rose from {f!r} to {f_new!r}: the step lr = {lr:.3e} is too large "
                           f"(for a convex f, every step below 2/L decreases f)")
                warnings.warn(f"gradient_descent: {message}", ConvergenceWarning, stacklevel=2)
                break
            if not is_finite(g_new):
                message = trace.not_finite("gradient_descent", "the gradient at the next iterate")
                break
        w, f, g = w_new, f_new, g_new
        trace.record(w, f, g, lr)
    return trace.result(w, f, tol, message)
