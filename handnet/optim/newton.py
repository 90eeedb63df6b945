"""Newton's method with a Cholesky solve, damping and a backtracking (Armijo) line search."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from handnet.linalg import cholesky_solve, norm
from handnet.losses.objective import Objective
from handnet.optim.result import (ROUNDING, OptimizeResult, Trace, check_objective, check_stopping, is_finite, quiet,
                                  start)

ARMIJO_C = 1e-4       # accept t when f(w + t·d) ≤ f(w) + ARMIJO_C · t · ∇f(w)ᵀd
BACKTRACK = 0.5       # otherwise try t·BACKTRACK


def newton_direction(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """d solving (H + τI) d = −g by Cholesky; τ = 0 (Newton's step) whenever H is positive definite.

    If H is not positive definite, Cholesky fails. We then try τ = 10⁻⁸s, 10⁻⁷s, … (s = the
    largest |Hᵢᵢ|, the scale of H) until H + τ₁I factorises, and use τ = 2τ₁. Why double:
    H + τ₁I positive definite means λ_min(H) > −τ₁, so λ_min(H + 2τ₁I) > τ₁ — well away from
    singular — whereas a τ that only just succeeds can leave H + τI nearly singular and d
    enormous. With τ > 0, d lies between Newton's step (τ → 0) and a short gradient step
    (τ → ∞, d ≈ −g/τ), and is a descent direction: ∇fᵀd = −gᵀ(H + τI)⁻¹g < 0. Returns (d, τ).
    """
    try:
        return cholesky_solve(H, -g), 0.0
    except np.linalg.LinAlgError:
        pass
    identity = np.eye(len(g))
    tau = 1e-8 * (float(np.max(np.abs(np.diag(H)))) or 1.0)
    for _ in range(40):
        try:
            np.linalg.cholesky(H + tau * identity)
            break
        except np.linalg.LinAlgError:
            tau *= 10
    else:
        raise np.linalg.LinAlgError(f"newton: H + τI is not positive definite even for τ = {tau:.1e}; "
                                    f"is the Hessian finite and symmetric?")
    return cholesky_solve(H + 2 * tau * identity, -g), 2 * tau


def backtracking(objective: Objective, w: np.ndarray, f: float, d: np.ndarray,
                 decrement_sq: float) -> tuple[float, float] | None:
    """The first t in 1, ½, ¼, … with f(w + t·d) ≤ f(w) − c·t·λ², and f(w + t·d); None if none.

    λ² = −∇fᵀd, so this is the Armijo condition f(w + t·d) ≤ f(w) + c·t·∇fᵀd: the step must
    achieve at least a fraction c of the decrease the slope at w promises. We give up (None)
    once the step t·d is too small to change w in floating point.
    A trial point where f overflows (or that overflows itself) is too far: t is halved.
    """
    t, d_norm, w_norm = 1.0, norm(d), norm(w)
    while t * d_norm > np.finfo(np.float64).eps * max(1.0, w_norm):
        with quiet():
            trial = w + t * d
            f_new = objective.value(trial) if is_finite(trial) else np.inf
        if f_new <= f - ARMIJO_C * t * decrement_sq:   # False for inf and NaN
            return t, f_new
        t *= BACKTRACK
    return None


def newton(objective: Objective, w0: np.ndarray, *, tol: float = 1e-10, max_iter: int = 50,
           callback: Callable[[np.ndarray], None] | None = None) -> OptimizeResult:
    """Minimise ``objective`` from ``w0`` by Newton's method: w_{k+1} = w_k + t_k·d_k.

    Direction: d_k solves ∇²f(w_k) d = −∇f(w_k), the minimiser of the quadratic model
               f(w_k) + ∇fᵀd + ½ dᵀ∇²f d. Solved by Cholesky (``newton_direction``), never by an
               inverse; if ∇²f is not positive definite, by (∇²f + τI) d = −∇f with τ growing.
    Step:      backtracking from t = 1: halve t until the Armijo condition
               f(w + t·d) ≤ f(w) + c·t·∇fᵀd (c = 1e-4) holds. Near the minimiser t = 1 is accepted
               and the convergence is quadratic: ‖∇f‖ roughly squares at every step (watch
               ``history["grad_norm"]``). On a quadratic f the model is exact and one full step
               lands on the minimiser.
               Close to the minimiser the decrease Newton predicts, λ² = −∇fᵀd (the squared Newton
               decrement; f(w) − f* ≈ λ²/2), falls below the rounding error of f, and comparing
               values cannot tell a good step from a bad one. There the full step is judged by the
               gradient instead, which is still computed accurately: it is taken if it reduces ‖∇f‖.
    Stops:     when ‖∇f(w_k)‖ ≤ tol (``converged``); after ``max_iter`` updates; when no step
               reduces f (the line search shrinks t·d below rounding) or ‖∇f‖ (below rounding); or when
               ``objective.no_minimiser(w_k)`` reports that no minimiser exists — e.g. logistic
               regression with λ = 0 on separable classes, where the iterates would run off to
               infinity — in which case it warns (``ConvergenceWarning``) and returns the finite w_k.
               A Hessian, direction, value or gradient that overflows is never convergence: it
               warns and returns the last iterate where f and ∇f were finite (``converged`` False);
               a non-finite f or ∇f at w0 is refused (ValueError).

    Args:
        objective: an ``handnet.losses.Objective``.
        w0: the starting point, shape (d,).
        tol: the gradient-norm tolerance.
        max_iter: the largest number of updates.
        callback: called as ``callback(w_k)`` with every iterate, w_0 included (a copy), e.g. to
            record the path or the distance to a known minimiser.
    Returns:
        an ``OptimizeResult``; ``history["step_size"]`` holds the accepted t of each update and
        ``history["damping"]`` the τ added to the Hessian (0 where it was positive definite; > 0
        shows an indefinite Hessian, e.g. a network near a saddle).
    """
    check_objective(objective, "newton")
    tol, max_iter = check_stopping(tol, max_iter, "newton")
    w, f, g = start(objective, w0, "newton")
    trace = Trace(w, f, g, callback)
    while (message := trace.stop_reason(objective, w, tol, max_iter)) is None:
        g_norm = trace.grad_norm
        with quiet():
            H = objective.hessian(w)
        if not is_finite(H):
            message = trace.not_finite("newton", "the Hessian")
            break
        d, tau = newton_direction(H, g)
        with quiet():
            decrement_sq = -float(g @ d)                 # λ² > 0: d is a descent direction
        if not is_finite(d, decrement_sq):
            message = trace.not_finite("newton", "the Newton direction")
            break
        if decrement_sq <= ROUNDING * max(1.0, abs(f)):
            # The values cannot resolve the step: take it in full if it reduces the gradient.
            t = 1.0
            with quiet():
                w_new = w + d
                if is_finite(w_new):
                    f_new, g_new = objective.value_and_grad(w_new)
                else:
                    f_new, g_new = np.inf, np.full_like(g, np.inf)
            if not is_finite(f_new, g_new):
                message = trace.not_finite("newton", "the value or gradient after a full step")
                break
            if not norm(g_new) < g_norm:
                message = f"stopped: within rounding error of the minimum, ‖∇f‖ = {g_norm:.3e} cannot be reduced"
                break
        else:
            step = backtracking(objective, w, f, d, decrement_sq)
            if step is None:
                message = f"stopped: the line search found no decrease along the Newton direction, ‖∇f‖ = {g_norm:.3e}"
                break
            t, f_new = step
            w_new = w + t * d
            with quiet():
                g_new = objective.grad(w_new)
            if not is_finite(g_new):
                message = trace.not_finite("newton", "the gradient at the next iterate")
                break

        w, f, g = w_new, f_new, g_new
        trace.record(w, f, g, t, damping=tau)
    return trace.result(w, f, tol, message)
