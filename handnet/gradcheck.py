"""Checking hand-derived gradients against finite differences, and Jacobians by reverse mode.

For a module y = f(x; θ) and a random upstream gradient v (the shape of y), the scalar
    L(x, θ) = ⟨v, f(x; θ)⟩ = Σ v ⊙ f(x; θ)
has ∂L/∂x = backward(v) and ∂L/∂θ = the ``.grad`` backward writes. Each entry of those is
compared with the central difference
    ∂L/∂tᵢ ≈ (L(t + ε eᵢ) − L(t − ε eᵢ)) / (2ε),
whose error is O(ε²). A random v (not all ones) matters: with v = 1 some wrong backwards
still pass, e.g. BatchNorm's dx, which is exactly zero for a constant v.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np


class GradcheckError(RuntimeError):
    """A hand-derived gradient disagrees with finite differences."""


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
            p.data = p.data.astype(np.float64)
        yield
    finally:
        for p, data, grad in saved_params:
            p.data, p.grad = data, grad
        for m, attributes in saved_attributes:
            vars(m).clear()
            vars(m).update(attributes)


def _as_pair(module_or_fn):
    """Return (forward, backward, module-or-None) for a Module or an (f, f_vjp) pair."""
    if isinstance(module_or_fn, tuple):
        f, f_vjp = module_or_fn
        state = {}

        def forward(x):
            state["x"] = x
            return np.asarray(f(x), dtype=np.float64)

        return forward, lambda dout: f_vjp(state["x"], dout), None
    return module_or_fn.forward, module_or_fn.backward, module_or_fn


def gradcheck(module_or_fn, x: np.ndarray, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast: bool = False, rng: np.random.Generator | None = None) -> bool:
    """Compare the analytic gradients of ``module_or_fn`` at ``x`` with central differences, in float64.

    Args:
        module_or_fn: a Module (its input gradient and every parameter gradient are checked), or a
            pair ``(f, f_vjp)`` with ``f(x) -> y`` and ``f_vjp(x, dout) -> dx`` (the input gradient).
        x: the input, used as float64.
        eps: the finite-difference step.
        atol, rtol: an entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
        fast: instead of every entry, compare one random directional derivative per tensor,
            vᵀJu (analytic ⟨grad, u⟩ against (L(t + εu) − L(t − εu)) / 2ε) — two forwards per
            tensor, for layers too large for the full Jacobian.
        rng: random generator for the upstream gradient v and the directions u.

    Returns:
        True when every tensor passes.

    Raises:
        GradcheckError: naming the tensor (``"input"`` or a parameter name), the worst index, and
        the analytic and numeric values there.

    The module is left as it was: parameters, gradients, buffers and the cache of its last forward.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    x = np.array(x, dtype=np.float64)
    forward, backward, module = _as_pair(module_or_fn)
    with _preserved(module):
        v = rng.standard_normal(np.shape(forward(x)))

        def L():
            return float(np.sum(v * forward(x)))

        # Analytic gradients from one forward and one backward.
        forward(x)
        tensors = [("input", x, np.asarray(backward(v), dtype=np.float64))]
        if module is not None:
            for name, p in module.named_parameters():
                if p.grad is None:
                    raise GradcheckError(f"gradcheck: backward did not write {name}.grad")
                tensors.append((name, p.data, np.array(p.grad, dtype=np.float64)))

        for name, t, analytic in tensors:
            if analytic.shape != t.shape:
                raise GradcheckError(f"gradcheck: the gradient of {name} has shape {analytic.shape}, "
                                     f"expected {t.shape}")
            if fast:
                _check_direction(name, t, analytic, L, eps, atol, rtol, rng)
            else:
                _check_entries(name, t, analytic, L, eps, atol, rtol)
    return True


def _check_entries(name, t, analytic, L, eps, atol, rtol) -> None:
    numeric = np.zeros_like(analytic)
    flat = t.reshape(-1)  # a view: writing flat[i] perturbs t, which the forward reads
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = L()
        flat[i] = old - eps
        down = L()
        flat[i] = old
        numeric.flat[i] = (up - down) / (2 * eps)
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if np.any(excess > 0):
        worst = np.unravel_index(np.argmax(excess), t.shape)
        raise GradcheckError(f"gradcheck: gradient of {name} disagrees with finite differences at index "
                             f"{tuple(int(i) for i in worst)}: analytic {float(analytic[worst]):.12g}, "
                             f"numeric {float(numeric[worst]):.12g}")


def _check_direction(name, t, analytic, L, eps, atol, rtol, rng) -> None:
    u = rng.standard_normal(t.shape)
    u /= np.linalg.norm(u) or 1.0
    old = t.copy()
    t += eps * u
    up = L()
    t[...] = old - eps * u
    down = L()
    t[...] = old
    numeric = (up - down) / (2 * eps)
    exact = float(np.sum(analytic * u))
    if abs(exact - numeric) > atol + rtol * abs(numeric):
        raise GradcheckError(f"gradcheck (fast): directional derivative of {name} disagrees with finite "
                             f"differences: analytic {exact:.12g}, numeric {numeric:.12g}")


def jacobian(module, x: np.ndarray) -> np.ndarray:
    """The Jacobian ∂y/∂x of ``module`` at ``x``, by reverse mode: one backward per output entry.

    Row i is backward(eᵢ) (eᵢ the i-th unit vector in y's shape), which is eᵢᵀJ, the i-th row of
    J. Returns an array of shape (y.size, x.size). For Softmax on one row of length C this is
    the C×C matrix σᵢ(δᵢⱼ − σⱼ).

    The module is left as it was: parameters, gradients, buffers and the cache of its last forward.
    """
    with _preserved(module):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(module.forward(x))
        J = np.empty((y.size, x.size))
        e = np.zeros(y.size)
        for i in range(y.size):
            e[i] = 1.0
            J[i] = np.asarray(module.backward(e.reshape(y.shape))).reshape(-1)
            e[i] = 0.0
    return J


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The Jacobian of ``f`` at ``x`` by central differences, in float64: (y.size, x.size).

    Column j is (f(x + ε eⱼ) − f(x − ε eⱼ)) / 2ε.
    """
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)
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
