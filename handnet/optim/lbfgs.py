"""L-BFGS: quasi-Newton steps built from the last m gradient differences, with a strong-Wolfe line search."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from handnet._checks import check_int
from handnet.losses.objective import Objective
from handnet.optim.newton import ROUNDING
from handnet.optim.result import OptimizeResult, Trace, check_objective, check_stopping, start

WOLFE_C1 = 1e-4         # sufficient decrease:  φ(t) ≤ φ(0) + c₁·t·φ'(0)
WOLFE_C2 = 0.9          # curvature (strong):   |φ'(t)| ≤ c₂·|φ'(0)|
MAX_EVALUATIONS = 40    # trial steps one line search may try before it gives up


class Point(NamedTuple):
    """A trial step t along d, with w_t = w + t·d, φ(t) = f(w_t), ∇f(w_t) and φ'(t) = ∇f(w_t)ᵀd."""
    t: float
    w: np.ndarray
    f: float
    g: np.ndarray
    slope: float


def two_loop(g: np.ndarray, pairs: deque) -> np.ndarray:
    """H_k g by the two-loop recursion (Nocedal & Wright, Alg. 7.4), from pairs (s_i, y_i, 1/s_iᵀy_i), oldest first.

    H_k is the inverse-Hessian approximation that BFGS would build from H⁰ = γI by the m updates
    H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, applied to g without ever forming a d×d matrix:
    4md + d flops. The first loop runs newest to oldest, the second oldest to newest.
    """
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    s, y, _ = pairs[-1]
    r = (float(s @ y) / float(y @ y)) * q            # H⁰ = γI, γ = sᵀy / yᵀy of the newest pair
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        b = rho * float(y @ r)
        r += (a - b) * s
    return r


def wolfe_line_search(objective: Objective, w: np.ndarray, f: float, g: np.ndarray, d: np.ndarray,
                      t: float) -> tuple[Point, int] | None:
    """A step satisfying the strong Wolfe conditions along the descent direction d, from the trial t.

    Nocedal & Wright's Alg. 3.5: try t, 2t, 4t, … until a step satisfies both conditions (return
    it) or a minimiser of φ(t) = f(w + t·d) is bracketed: the step fails sufficient decrease, or
    f rose, or φ' turned ≥ 0. Then Alg. 3.6 (``zoom``) shrinks the bracket [lo, hi] — lo the best
    step that satisfies sufficient decrease, φ'(lo)·(hi − lo) < 0 — trying the minimiser of the
    cubic that matches φ and φ' at both ends, kept at least a tenth of the bracket from each end
    (the midpoint when the cubic has none there, and after any trial that failed to halve the
    bracket, so that it shrinks at least geometrically whatever the values). Returns (the step,
    the number of trial steps), or None after ``MAX_EVALUATIONS`` trials or once the bracket is
    below rounding.

    Values are compared with a slack of their rounding error, ``ROUNDING``·max(1, |f|): close
    to the minimiser the decrease a step promises falls below it and only the slopes, which are
    still accurate, can tell a good step from a bad one (``newton`` does the same).
    """
    slope0 = float(g @ d)
    slack = ROUNDING * max(1.0, abs(f))
    d_norm, w_scale = float(np.linalg.norm(d)), max(1.0, float(np.linalg.norm(w)))
    evaluations = 0

    def at(t: float) -> Point:
        nonlocal evaluations
        evaluations += 1
        w_t = w + t * d
        f_t, g_t = objective.value_and_grad(w_t)
        return Point(t, w_t, f_t, g_t, float(g_t @ d))

    def decreases_enough(p: Point) -> bool:
        return p.f <= f + WOLFE_C1 * p.t * slope0 + slack

    def flat_enough(p: Point) -> bool:
        return abs(p.slope) <= -WOLFE_C2 * slope0

    def zoom(lo: Point, hi: Point) -> Point | None:
        bisect = False
        while evaluations < MAX_EVALUATIONS:
            width = abs(hi.t - lo.t)
            if width * d_norm <= np.finfo(np.float64).eps * w_scale:
                return None                         # the bracket no longer moves w
            p = at(0.5 * (lo.t + hi.t) if bisect else cubic_minimiser(lo, hi))
            if not decreases_enough(p) or p.f > lo.f + slack:
                hi = p
            else:
                if flat_enough(p):
                    return p
                if p.slope * (hi.t - lo.t) >= 0:
                    hi = lo
                lo = p
            bisect = abs(hi.t - lo.t) > 0.5 * width   # the cubic shrank the bracket too little: halve it next
        return None

    previous = Point(0.0, w, f, g, slope0)
    while evaluations < MAX_EVALUATIONS:
        p = at(t)
        if not decreases_enough(p) or (previous.t > 0 and p.f > previous.f + slack):
            found = zoom(previous, p)
        elif flat_enough(p):
            found = p
        elif p.slope >= 0:
            found = zoom(p, previous)
        else:
            previous, t = p, 2 * t
            continue
        return None if found is None else (found, evaluations)
    return None


def cubic_minimiser(a: Point, b: Point) -> float:
    """The minimiser of the cubic through (a.t, a.f, a.slope) and (b.t, b.f, b.slope) (N&W eq. 3.59),
    kept in the middle 80% of [a.t, b.t]; the midpoint when it is not there (or is NaN)."""
    d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
    disc = d1 * d1 - a.slope * b.slope
    low, high = min(a.t, b.t), max(a.t, b.t)
    margin = 0.1 * (high - low)
    if disc >= 0:
        d2 = math.copysign(math.sqrt(disc), b.t - a.t)       # Python floats: an inf gives NaN, not a warning
        denominator = b.slope - a.slope + 2 * d2
        if denominator != 0:
            t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / denominator
            if low + margin <= t <= high - margin:
                return float(t)
    return 0.5 * (low + high)


def lbfgs(objective: Objective, w0: np.ndarray, *, m: int = 10, tol: float = 1e-8, max_iter: int = 1000,
          callback: Callable[[np.ndarray], None] | None = None) -> OptimizeResult:
    """Minimise ``objective`` from ``w0`` by limited-memory BFGS: w_{k+1} = w_k + t_k·d_k, d_k = −H_k ∇f(w_k).

    Direction: H_k approximates ∇²f(w_k)⁻¹ from the last m pairs s_i = w_{i+1} − w_i and
               y_i = ∇f(w_{i+1}) − ∇f(w_i), which satisfy y_i ≈ ∇²f s_i; each BFGS update makes
               the secant equation H y_i = s_i hold for its pair. ``two_loop`` applies H_k to the
               gradient in O(md) (Nocedal & Wright, Alg. 7.4/7.5), starting from the scaling
               H⁰ = γ_k I with γ_k = s_{k−1}ᵀy_{k−1} / y_{k−1}ᵀy_{k−1}, the inverse of the curvature
               along the newest step — which is what lets the trial step t = 1 be accepted most
               of the time. The first direction (and any without memory) is −∇f, tried at
               t = 1/‖∇f‖, a first step of length 1.
    Curvature condition: H_k stays positive definite (so d_k is a descent direction) only if
               every stored pair has s_iᵀy_i > 0. The strong Wolfe line search guarantees it:
               sᵀy = t·(φ'(t) − φ'(0)) ≥ t·(1 − c₂)·|φ'(0)| > 0. A pair that rounding leaves
               with sᵀy ≤ 0 is not stored.
    Step:      ``wolfe_line_search``, N&W Alg. 3.5 with ``zoom`` (Alg. 3.6) and cubic
               interpolation: t satisfies f(w + t·d) ≤ f(w) + c₁·t·∇fᵀd (c₁ = 1e-4) and
               |∇f(w + t·d)ᵀd| ≤ c₂·|∇fᵀd| (c₂ = 0.9). If it finds no such t, the memory is
               dropped and the line search is tried once more along −∇f.
    Stops:     when ‖∇f(w_k)‖ ≤ tol (``converged``); after ``max_iter`` updates; when even the
               steepest-descent line search fails (within rounding of the minimum, or f is
               not smooth there); or when ``objective.no_minimiser(w_k)`` reports that no
               minimiser exists — it warns (``ConvergenceWarning``) and returns w_k. A non-finite
               f or ∇f at w0 is refused (ValueError).

    How it differs from scipy's ``minimize(method="L-BFGS-B")``: L-BFGS-B handles bounds on w
    (a generalised Cauchy point and a subspace minimisation; without bounds it is L-BFGS), uses
    Moré and Thuente's line search (c₁ = 1e-3), and stops on the largest |∂f/∂w_i| ≤ gtol or
    on a relative decrease of f below ftol (2.2e-9 by default); here ‖∇f‖₂ ≤ tol is the only
    test of convergence, as for the other minimisers, and there are no bounds.

    Args:
        objective: an ``handnet.losses.Objective``; it asks only for ``value_and_grad``, once per
            trial point (for a network, one forward and one backward).
        w0: the starting point, shape (d,).
        m: the number of pairs (s, y) kept, m ≥ 1; 3 to 20 is usual.
        tol: the gradient-norm tolerance.
        max_iter: the largest number of updates.
        callback: called as ``callback(w_k)`` with every iterate, w_0 included (a copy).
    Returns:
        an ``OptimizeResult``; ``history["step_size"]`` holds the accepted t of each update and
        ``history["evaluations"]`` the number of (value, gradient) evaluations its line search made.
    """
    check_objective(objective, "lbfgs")
    tol, max_iter = check_stopping(tol, max_iter, "lbfgs")
    m = check_int(m, "lbfgs", "m")
    w, f, g = start(objective, w0, "lbfgs")
    trace = Trace(w, f, g, callback)
    pairs: deque = deque(maxlen=m)                  # (s, y, 1/sᵀy), oldest first; the oldest drops out
    while (message := trace.stop_reason(objective, w, tol, max_iter)) is None:
        d = -two_loop(g, pairs) if pairs else -g
        if not float(g @ d) < 0:                    # only rounding can do this: forget the memory
            pairs.clear()
            d = -g
        found = wolfe_line_search(objective, w, f, g, d, 1.0 if pairs else 1.0 / float(np.linalg.norm(d)))
        if found is None and pairs:
            pairs.clear()
            found = wolfe_line_search(objective, w, f, g, -g, 1.0 / trace.grad_norm)
        if found is None:
            message = (f"stopped: the line search found no step satisfying the Wolfe conditions, "
                       f"‖∇f‖ = {trace.grad_norm:.3e}")
            break
        point, evaluations = found
        s, y = point.w - w, point.g - g
        sy = float(s @ y)
        if sy > 0:
            pairs.append((s, y, 1.0 / sy))
        w, f, g = point.w, point.f, point.g
        trace.record(w, f, g, point.t, evaluations=evaluations)
    return trace.result(w, f, tol, message)
