"""Jacobians of a module, by reverse mode (one backward per output) or forward mode (one jvp per input)."""

from __future__ import annotations

import numpy as np

from handnet.gradcheck import _as_pair, _checked_input
from handnet.state import preserved


def jacobian(module, x: np.ndarray, mode: str = "reverse") -> np.ndarray:
    """The Jacobian ∂y/∂x of ``module`` at ``x``: an array of shape (y.size, x.size).

    ``mode="reverse"``: one backward per output entry. Row i is backward(eᵢ) (eᵢ the i-th unit
    vector in y's shape), which is eᵢᵀJ, the i-th row of J: y.size passes.
    ``mode="forward"``: one jvp per input entry. Column j is jvp(eⱼ) = J eⱼ: x.size passes.
    The two agree to rounding; which is cheaper depends only on which of y.size and x.size is
    smaller. For Softmax on one row of length C this is the C×C matrix σᵢ(δᵢⱼ − σⱼ).

    The module is left as it was: parameters, gradients, buffers and the cache of its last forward.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    forward, backward, module = _as_pair(module, "jacobian")
    if mode == "forward" and module is None:
        raise TypeError("jacobian: mode='forward' needs a Module with a jvp; an (f, f_vjp) pair has none")
    x = _checked_input(x, "jacobian")
    with preserved(module):
        y = np.asarray(forward(x))
        if mode == "reverse":
            rows = [backward(e.reshape(y.shape)) for e in np.eye(y.size)]
            return np.array([np.asarray(r, dtype=np.float64).reshape(-1) for r in rows]).reshape(y.size, x.size)
        columns = [module.jvp(e.reshape(x.shape)) for e in np.eye(x.size)]
        return np.array([np.asarray(c, dtype=np.float64).reshape(-1) for c in columns]).reshape(x.size, y.size).T


def jvp(module, x: np.ndarray, dx: np.ndarray | None = None,
        tangents: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A forward, then forward mode: ``(y, dy)`` with y = module(x) and dy = module.jvp(dx, tangents).

    Like any forward, it refreshes the cache (and in train mode BatchNorm's running statistics).
    """
    y = module(x)
    return y, module.jvp(dx, tangents)
