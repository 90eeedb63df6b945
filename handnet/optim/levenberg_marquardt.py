"""Levenberg–Marquardt: Gauss–Newton steps, damped towards gradient descent when they fail."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from handnet._checks import check_real
from handnet.linalg import cholesky_solve
from handnet.optim.newton import ROUNDING
from handnet.optim.result import OptimizeResult, Trace, check_objective, check_stopping, start


def levenberg_marquardt(objective, w0: np.ndarray, *, mu: float = 1e-3, mu_inc: float = 10.0, mu_dec: float = 0.1,
                        mu_max: float = 1e10, tol: float = 1e-8, max_iter: int = 100,
                        callback: Callable[[np.ndarray], None] | None = None) -> OptimizeResult:
    """Minimise ``objective`` from ``w0`` by (G + μI) d = −∇f, with G the Gauss–Newton matrix.

    The objective must provide ``gauss_newton(w)``: G = Jᵀ H_ℓ J for a network
    (``hn.ModelObjective`` with MSE or softmax-CE), the Hessian itself for least squares.
    G is positive semi-definite, so in exact arithmetic G + μI is positive definite for every
    μ > 0. In floating point a singular G (softmax-CE: shifting all logits together changes
    nothing) has eigenvalues of about −ε‖G‖, so once μ is that small Cholesky can fail; such a
    μ is treated as a rejected step (μ ← μ·mu_inc). μ interpolates: as μ → 0 it is the
    Gauss–Newton step, and for large μ it is d ≈ −∇f/μ, a short gradient step. The rule is MATLAB trainlm's:
        solve (G + μI) d = −g by Cholesky;
        if f(w + d) < f(w): accept the step and set μ ← μ·mu_dec;
        otherwise set μ ← μ·mu_inc and solve again.
    Close to the minimiser the decrease the model predicts, −gᵀd − ½dᵀGd, falls below the
    rounding error of f; there, as in ``newton``, a step is accepted when it reduces ‖∇f‖.

    Stops: when ‖∇f‖ ≤ tol (``converged``); when μ > mu_max (no step of any damping reduces f:
    the message says so); after ``max_iter`` updates. ``objective`` must be an
    ``handnet.losses.Objective`` with a ``gauss_newton(w)``; a non-finite f or ∇f at w0 is refused
    (ValueError).

    Returns:
        an ``OptimizeResult`` as the other minimisers'; ``history["mu"]`` holds the μ with which
        each accepted step was solved, and ``history["step_size"]`` is 1 for every update.
    """
    who = "levenberg_marquardt"
    check_objective(objective, who)
    if not callable(getattr(objective, "gauss_newton", None)):
        raise TypeError(f"{who}: the objective must provide gauss_newton(w) (e.g. hn.ModelObjective, LeastSquares); "
                        f"{type(objective).__name__} does not")
    tol, max_iter = check_stopping(tol, max_iter, who)
    mu = check_real(mu, who, "mu", low_open=True)
    mu_inc = check_real(mu_inc, who, "mu_inc", low=1.0, low_open=True)
    mu_dec = check_real(mu_dec, who, "mu_dec", low_open=True, high=1.0)
    mu_max = check_real(mu_max, who, "mu_max", low=mu)
    w, f, g = start(objective, w0, who)
    trace = Trace(w, f, g, callback)
    identity = np.eye(len(w))
    while (message := trace.stop_reason(objective, w, tol, max_iter)) is None:
        G = objective.gauss_newton(w)
        while mu <= mu_max:
            try:
                d = cholesky_solve(G + mu * identity, -g)
            except np.linalg.LinAlgError:                          # μ below G's rounding: damp more
                mu *= mu_inc
                continue
            w_new = w + d
            predicted = -float(g @ d) - 0.5 * float(d @ G @ d)    # the decrease of the quadratic model
            if predicted <= ROUNDING * max(1.0, abs(f)):
                f_new, g_new = objective.value_and_grad(w_new)      # judged by the gradient, below rounding
                accepted = np.linalg.norm(g_new) < trace.grad_norm
            else:
                f_new = objective.value(w_new)
                accepted = f_new < f
                g_new = objective.grad(w_new) if accepted else g
            if accepted:
                break
            mu *= mu_inc
        else:
            message = (f"stopped: μ = {mu:.1e} exceeds mu_max = {mu_max:.1e}; no damped step reduces f, "
                       f"‖∇f‖ = {trace.grad_norm:.3e}")
            break
        w, f, g = w_new, f_new, g_new
        trace.record(w, f, g, 1.0, mu=mu)
        mu *= mu_dec
    return trace.result(w, f, tol, message)
