"""Checking hand-derived derivatives against finite differences: gradients, jvps and second-order rules.

For a module y = f(x; θ) and a random upstream gradient v (the shape of y), the scalar
    L(x, θ) = ⟨v, f(x; θ)⟩ = Σ v ⊙ f(x; θ)
has ∂L/∂x = backward(v) and ∂L/∂θ = the ``.grad`` backward writes. Each entry of those is
compared with the central difference
    ∂L/∂tᵢ ≈ (L(t + ε eᵢ) − L(t − ε eᵢ)) / (2ε),
whose error is O(ε²). A random v (not all ones) matters: with v = 1 some wrong backwards
still pass, e.g. BatchNorm's dx, which is exactly zero for a constant v.

The differences come from ``handnet.numerical`` (the one central-difference loop); Jacobians of
modules, by either mode, are in ``handnet.jacobian``.

A check that cannot fail is worse than none, so gradcheck is strict about what it accepts: the
input and the parameters must be finite, eps must be positive and the tolerances non-negative
and finite, and a NaN or ±inf on either side of a comparison is a failure, never a pass.
Perturbations are made on gradcheck's own C-ordered float64 copies, which the forward is then
handed, so they reach the forward whatever the memory layout of the caller's arrays.
"""

from __future__ import annotations


import numpy as np

from handnet._checks import check_real
from handnet.state import preserved
from handnet.numerical import numerical_gradient, numerical_jacobian


class GradcheckError(RuntimeError):
    """A hand-derived gradient disagrees with finite differences."""


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
              fast: bool = False, rng: np.random.Generator | None = None, check_forward: bool | None = None,
              check_second_order: bool | None = None) -> bool:
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
        check_forward: also check forward mode (``jvp``); by default whenever every module in
            ``module_or_fn`` has one. Per tensor t (the input, each parameter), along a random
            direction u: jvp against (f(t + εu) − f(t − εu)) / 2ε, and the adjoint identity
            ⟨w, J u⟩ = ⟨Jᵀw, u⟩ between jvp and backward for a random w, to 1e-10 relative —
            which catches a jvp and a backward that each look plausible but disagree.
        check_second_order: also check ``backward_tangent``, by default whenever every module has
            one: along random tangents of the input, the parameters and the upstream gradient,
            it must equal the central difference of what backward returns (∂L/∂x and every
            parameter gradient), each compared and named apart.

    Returns:
        True when every tensor passes.

    Raises:
        GradcheckError: naming the tensor (``"input"`` or a parameter name), the worst index, and
            the analytic and numeric values there. A NaN or ±inf on either side fails.
        ValueError: x or a parameter is not finite, or eps, atol or rtol is out of range.
        TypeError: ``module_or_fn`` is neither a Module nor an (f, f_vjp) pair.

    The module is left as it was: parameters, gradients, buffers and the cache of its last forward.

    gradcheck runs the forward many times, so the module must compute the same function each time:
    a Dropout in train mode draws a new mask at every forward and fails, every probe being another
    function. Check it in eval mode, or with its generator reseeded before each forward (the
    derivatives given the mask, which is what its rules claim).
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
    with preserved(module):
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
        if module is not None and (has_rule(module, "jvp") if check_forward is None else check_forward):
            _check_jvp(module, x, eps, atol, rtol, rng)
        if module is not None and (has_rule(module, "backward_tangent") if check_second_order is None
                                   else check_second_order):
            _check_backward_tangent(module, x, eps, atol, rtol, rng)
    return True


def has_rule(module, method: str) -> bool:
    """True when every module in ``module`` defines ``method`` (``"jvp"``, ``"backward_tangent"``)."""
    from handnet.module import Module

    return all(getattr(type(m), method) is not getattr(Module, method) for m in module.modules())


def _at(module, x: np.ndarray, tangents: dict[str, np.ndarray], dx: np.ndarray | None, s: float):
    """Run ``module``'s forward at x + s·dx with each parameter θ + s·θ̇; parameters are put back after."""
    params = dict(module.named_parameters())
    originals = {name: params[name].data for name in tangents}
    try:
        for name, t in tangents.items():
            params[name].data = originals[name] + s * t
        return np.asarray(module.forward(x if dx is None else x + s * dx), dtype=np.float64)
    finally:
        for name, data in originals.items():
            params[name].data = data


def _check_jvp(module, x, eps, atol, rtol, rng) -> None:
    """jvp against central differences of the forward, and against backward by the adjoint identity."""
    y = module.forward(x)
    w = rng.standard_normal(np.shape(y))
    dx_of_w = np.asarray(module.backward(w), dtype=np.float64)    # Jᵀw for the input …
    grads_of_w = {name: np.array(p.grad, dtype=np.float64) for name, p in module.named_parameters()}  # … and θ
    directions = [("input", rng.standard_normal(x.shape), None)]
    directions += [(name, None, {name: rng.standard_normal(p.shape)}) for name, p in module.named_parameters()]
    pairings = []
    for name, dx, tangents in directions:
        module.forward(x)                                         # the cache jvp reads
        dy = np.asarray(module.jvp(dx, tangents), dtype=np.float64)
        u = dx if tangents is None else tangents[name]
        f = lambda s: _at(module, x, tangents or {}, dx, s[0])
        numeric = numerical_jacobian(f, np.zeros(1), eps).reshape(dy.shape)
        _compare(f"jvp along {name}", dy, numeric, atol, rtol, "gradcheck (forward mode)")
        transposed = dx_of_w if tangents is None else grads_of_w[name]
        bound = np.linalg.norm(w) * np.linalg.norm(dy) + np.linalg.norm(transposed) * np.linalg.norm(u)
        pairings.append((name, float(np.sum(w * dy)), float(np.sum(transposed * u)), bound))
    # Judged against the largest pairing, as relative_error judges against the largest entry: a
    # direction the output does not depend on (a bias before BatchNorm) pairs rounding noise.
    scale = max(bound for *_, bound in pairings)
    for name, forward_side, reverse_side, _ in pairings:
        if not abs(forward_side - reverse_side) <= 1e-10 * scale:
            raise GradcheckError(f"gradcheck (forward mode): jvp and backward disagree along {name}: "
                                 f"⟨w, J u⟩ = {forward_side:.12g} but ⟨Jᵀw, u⟩ = {reverse_side:.12g}")


def _check_backward_tangent(module, x, eps, atol, rtol, rng) -> None:
    """backward_tangent against central differences of backward's outputs, each named apart."""
    y = module.forward(x)
    dout, dout_dot = rng.standard_normal(np.shape(y)), rng.standard_normal(np.shape(y))
    dx = rng.standard_normal(x.shape)
    params = dict(module.named_parameters())
    tangents = {name: rng.standard_normal(p.shape) for name, p in params.items()}
    dx_dot, grad_dots = module.backward_tangent(dout, dout_dot, dx, tangents)
    analytic = {"input": np.asarray(dx_dot, dtype=np.float64)}
    analytic.update({name: np.asarray(grad_dots.get(name, np.zeros(p.shape)), dtype=np.float64)
                     for name, p in params.items()})
    sizes = [(name, a.shape) for name, a in analytic.items()]

    def backward_outputs(s):
        _at(module, x, tangents, dx, s[0])                        # forward at the moved point
        moved = {name: params[name].data for name in params}
        for name in params:
            params[name].data = moved[name] + s[0] * tangents[name]
        try:
            dx_grad = np.asarray(module.backward(dout + s[0] * dout_dot), dtype=np.float64)
            return np.concatenate([dx_grad.ravel()] + [np.asarray(params[n].grad, dtype=np.float64).ravel()
                                                        for n in params])
        finally:
            for name in params:
                params[name].data = moved[name]

    numeric = numerical_jacobian(backward_outputs, np.zeros(1), eps)[:, 0]
    start = 0
    for name, shape in sizes:
        size = int(np.prod(shape))
        what = "tangent of the input gradient" if name == "input" else f"tangent of the gradient of {name}"
        _compare(what, analytic[name], numeric[start:start + size].reshape(shape), atol, rtol,
                 "gradcheck (second order)")
        start += size


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
