"""Checking hand-derived gradients against finite differences, and Jacobians by reverse mode.

For a module y = f(x; θ) and a random upstream gradient v (the shape of y), the scalar
    L(x, θ) = ⟨v, f(x; θ)⟩ = Σ v ⊙ f(x; θ)
has ∂L/∂x = backward(v) and ∂L/∂θ = the ``.grad`` backward writes. Each entry of those is
compared with the central difference
    ∂L/∂tᵢ ≈ (L(t + ε eᵢ) − L(t − ε eᵢ)) / (2ε),
whose error is O(ε²). A random v (not all ones) matters: with v = 1 some wrong backwards
still pass, e.g. BatchNorm's dx, which is exactly zero for a constant v.

The toolbox: ``numerical_jacobian`` is the one central-difference loop; ``numerical_gradient``
is its scalar case; ``relative_error`` is the one measure of disagreement; ``gradcheck`` and
``jacobian`` use them on modules.

A check that cannot fail is worse than none, so gradcheck is strict about what it accepts: the
input and the parameters must be finite, eps must be positive and the tolerances non-negative
and finite, and a NaN or ±inf on either side of a comparison is a failure, never a pass.
Perturbations are made on gradcheck's own C-ordered float64 copies, which the forward is then
handed, so they reach the forward whatever the memory layout of the caller's arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from handnet._checks import check_real


class GradcheckError(RuntimeError):
    """A hand-derived gradient disagrees with finite differences."""


# ---- the toolbox ------------------------------------------------------------------------------
def relative_error(actual, expected) -> float:
    """max |actual − expected| / max |expected|: the error relative to the largest expected entry.

    A max-norm measure, so entries that are zero by mathematics (the bias gradient before a
    BatchNorm, say) are judged against the size of the whole array, not against themselves. When
    ``expected`` is all zero, it is the absolute error max |actual|. The shapes must agree.
    """
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"relative_error: shapes differ: {actual.shape} and {expected.shape}")
    if actual.size == 0:
        return 0.0
    diff = float(np.max(np.abs(actual - expected)))
    scale = float(np.max(np.abs(expected)))
    return diff / scale if scale > 0 else diff


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by central differences, in float64: (y.size, x.size).

    Column j is (f(x + ε eⱼ) − f(x − ε eⱼ)) / 2ε. ``f`` is called with a C-ordered float64 copy
    of x whose entry j is perturbed in place (so f must not keep it).
    """
    eps = check_real(eps, "numerical_jacobian", "eps", low_open=True)
    x = np.array(x, dtype=np.float64, order="C")   # our own copy: the caller's array is never touched
    flat = x.reshape(-1)                             # a view of the C-ordered copy, so writes reach x
    columns = []
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        up = np.array(f(x), dtype=np.float64).reshape(-1)
        flat[j] = old - eps
        down = np.array(f(x), dtype=np.float64).reshape(-1)
        flat[j] = old
        columns.append((up - down) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.empty((np.size(f(x)), 0))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∇f(x) of a scalar function by central differences, in x's shape (float64)."""
    x = np.asarray(x)
    return numerical_jacobian(lambda t: np.array([f(t)], dtype=np.float64), x, eps).reshape(x.shape)


# ---- keeping the module as it was ------------------------------------------------------------
@contextmanager
def _preserved(module):
    """Run on float64 copies of the module's parameters; afterwards put everything back as it was.

    The probes run forward and backward many times, which overwrites each layer's cache (so a
    backward after gradcheck would otherwise differentiate the probe's input), its parameters'
    grads, and, for BatchNorm1d in train mode, its running statistics. So every module's
    attributes are saved and restored, and every parameter's data and grad. ``module`` may be
    None (a function).
    """
    modules = list(module.modules()) if module is not None else []
    params = [p for m in modules for p in m.parameters(recurse=False)]
    saved_params = [(p, p.data, p.grad) for p in params]
    saved_attributes = [(m, dict(vars(m))) for m in modules]   # caches, buffers, mode
    try:
        for p in params:
            p.data = np.array(p.data, dtype=np.float64, order="C")
        yield
    finally:
        for p, data, grad in saved_params:
            p.data, p.grad = data, grad
        for m, attributes in saved_attributes:
            vars(m).clear()
            vars(m).update(attributes)


def _as_pair(module_or_fn, who: str):
    """Return (forward, backward, module-or-None) for a Module or an (f, f_vjp) pair."""
    from handnet.module import Module

    if isinstance(module_or_fn, tuple) and len(module_or_fn) == 2 and all(map(callable, module_or_fn)):
        f, f_vjp = module_or_fn
        state = {}

        def forward(x):
            state["x"] = x
            return np.asarray(f(x), dtype=np.float64)

        return forward, lambda dout: f_vjp(state["x"], dout), None
    if isinstance(module_or_fn, Module):
        return module_or_fn.forward, module_or_fn.backward, module_or_fn
    raise TypeError(f"{who}: expected a Module, or a pair (f, f_vjp) of a function and its vector-Jacobian "
                    f"product f_vjp(x, dout) -> dx; got {type(module_or_fn).__name__}. A plain function has no "
                    f"hand-derived gradient to check: use numerical_jacobian or numerical_gradient for it")


def _checked_input(x, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{who}: x must be an array of real numbers, got dtype {x.dtype}")
    x = np.array(x, dtype=np.float64, order="C")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{who}: x must be finite; a derivative at NaN or inf cannot be checked")
    return x


# ---- gradcheck --------------------------------------------------------------------------------
def gradcheck(module_or_fn, x: np.ndarray, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast: bool = False, rng: np.random.Generator | None = None) -> bool:
    """Compare the analytic gradients of ``module_or_fn`` at ``x`` with central differences, in float64.

    Args:
        module_or_fn: a Module (its input gradient and every parameter gradient are checked), or a
            pair ``(f, f_vjp)`` with ``f(x) -> y`` and ``f_vjp(x, dout) -> dx`` (the input gradient).
        x: the input, used as float64; it must be finite.
        eps: the finite-difference step, > 0.
        atol, rtol: an entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|; both ≥ 0.
        fast: instead of every entry, compare one random directional derivative per tensor,
            vᵀJu (analytic ⟨grad, u⟩ against (L(t + εu) − L(t − εu)) / 2ε) — two forwards per
            tensor, for layers too large for the full Jacobian.
        rng: random generator for the upstream gradient v and the directions u.

    Returns:
        True when every tensor passes.

    Raises:
        GradcheckError: naming the tensor (``"input"`` or a parameter name), the worst index, and
            the analytic and numeric values there. A NaN or ±inf on either side fails.
        ValueError: x or a parameter is not finite, or eps, atol or rtol is out of range.
        TypeError: ``module_or_fn`` is neither a Module nor an (f, f_vjp) pair.

    The module is left as it was: parameters, gradients, buffers and the cache of its last forward.
    """
    eps = check_real(eps, "gradcheck", "eps", low_open=True)
    atol, rtol = check_real(atol, "gradcheck", "atol"), check_real(rtol, "gradcheck", "rtol")
    rng = np.random.default_rng(0) if rng is None else rng
    forward, backward, module = _as_pair(module_or_fn, "gradcheck")
    x = _checked_input(x, "gradcheck")
    params = list(module.named_parameters()) if module is not None else []
    for name, p in params:
        if not np.all(np.isfinite(p.data)):
            raise ValueError(f"gradcheck: parameter {name!r} holds NaN or inf; its gradient cannot be checked")
    with _preserved(module):
        v = rng.standard_normal(np.shape(forward(x)))

        # Analytic gradients from one forward and one backward.
        forward(x)
        analytic = {"input": np.array(backward(v), dtype=np.float64)}
        for name, p in params:
            if p.grad is None:
                raise GradcheckError(f"gradcheck: backward did not write {name}.grad")
            analytic[name] = np.array(p.grad, dtype=np.float64)

        # L as a function of one tensor, the others held at their values. For a parameter the
        # forward is handed the (perturbed) array itself, so its memory layout does not matter.
        def L_of_input(t):
            return float(np.sum(v * forward(t)))

        def L_of_parameter(p, original):
            def L(t):
                p.data = t
                try:
                    return float(np.sum(v * forward(x)))
                finally:
                    p.data = original
            return L

        tensors = [("input", x, L_of_input)] + [(name, p.data, L_of_parameter(p, p.data)) for name, p in params]
        for name, t, L in tensors:
            if analytic[name].shape != t.shape:
                raise GradcheckError(f"gradcheck: the gradient of {name} has shape {analytic[name].shape}, "
                                     f"expected {t.shape}")
            if fast:
                u = rng.standard_normal(t.shape)
                u /= np.linalg.norm(u) or 1.0
                numeric = numerical_gradient(lambda s: L(t + s[0] * u), np.zeros(1), eps)
                _compare(f"directional derivative of {name}", np.array([np.sum(analytic[name] * u)]), numeric,
                         atol, rtol, "gradcheck (fast)")
            else:
                _compare(f"gradient of {name}", analytic[name], numerical_gradient(L, t, eps), atol, rtol,
                         "gradcheck")
    return True


def _compare(what: str, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float, who: str) -> None:
    """Raise GradcheckError at the worst entry unless |analytic − numeric| ≤ atol + rtol·|numeric| everywhere.

    A non-finite value on either side is the worst possible entry: NaN compares False with
    everything, so without this a NaN gradient would pass.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    excess = np.where(np.isfinite(analytic) & np.isfinite(numeric), excess, np.inf)
    if np.any(excess > 0):
        worst = np.unravel_index(np.argmax(excess), analytic.shape)
        at = f" at index {tuple(int(i) for i in worst)}" if analytic.size > 1 else ""
        raise GradcheckError(f"{who}: {what} disagrees with finite differences{at}: "
                             f"analytic {float(analytic[worst]):.12g}, numeric {float(numeric[worst]):.12g}")


# ---- Jacobians --------------------------------------------------------------------------------
def jacobian(module, x: np.ndarray) -> np.ndarray:
    """The Jacobian ∂y/∂x of ``module`` at ``x``, by reverse mode: one backward per output entry.

    Row i is backward(eᵢ) (eᵢ the i-th unit vector in y's shape), which is eᵢᵀJ, the i-th row of
    J. Returns an array of shape (y.size, x.size). For Softmax on one row of length C this is
    the C×C matrix σᵢ(δᵢⱼ − σⱼ).

    The module is left as it was: parameters, gradients, buffers and the cache of its last forward.
    """
    forward, backward, module = _as_pair(module, "jacobian")
    x = _checked_input(x, "jacobian")
    with _preserved(module):
        y = np.asarray(forward(x))
        J = np.empty((y.size, x.size))
        e = np.zeros(y.size)
        for i in range(y.size):
            e[i] = 1.0
            J[i] = np.asarray(backward(e.reshape(y.shape))).reshape(-1)
            e[i] = 0.0
    return J
