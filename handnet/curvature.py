"""Exact second derivatives of a network's loss with respect to all its parameters.

Write the parameters as one vector θ (P,) (``parameters_to_vector``) and the loss of a batch as
L(θ) = ℓ(f(X; θ), y). Its Hessian H = ∂²L/∂θ² is never formed from finite differences:

* ``hvp`` computes H·v by forward-over-reverse (Pearlmutter's R-operator). Move θ along v:
  forward mode gives the output's tangent ṗ = J v (``Module.jvp``), the loss's Hessian gives the
  tangent of its gradient, ġ = H_ℓ ṗ (``Loss.hvp``), and the tangent of the backward pass carries
  ġ back through every layer (``Module.backward_tangent``): the tangent of ∂L/∂θ is H v. It
  costs about two forwards and two backwards, and is exact.
* ``hessian`` assembles P of them into H, symmetric.
* ``gnvp`` and ``gauss_newton`` give the Gauss–Newton matrix G = Jᵀ H_ℓ J, where J = ∂f/∂θ: H
  without the terms from the network's own curvature. G·v = Jᵀ(H_ℓ (J v)) is a jvp, the loss's
  hvp and a backward. G is positive semi-definite whenever H_ℓ is (MSE, softmax-CE, BCE).

BatchNorm1d in train mode couples the samples of a batch through its batch statistics, and its
rules include that coupling, so these are the exact curvature of the train-mode loss. Every
function computes in float64, runs in the mode the model is in, and leaves the model exactly as
it found it: parameters, ``.grad``, buffers (running statistics) and caches.
"""

from __future__ import annotations

import numpy as np

from handnet.losses.loss import Loss
from handnet.module import Module
from handnet.state import preserved


# ---- parameters as one vector -----------------------------------------------------------------
def parameters_to_vector(model: Module) -> np.ndarray:
    """All parameters as one float64 vector (P,): in ``named_parameters()`` order, each in C order (torch's)."""
    params = model.parameters()
    if not params:
        return np.zeros(0)
    return np.concatenate([np.asarray(p.data, dtype=np.float64).ravel() for p in params])


def vector_to_parameters(vec: np.ndarray, model: Module) -> None:
    """Write ``vec`` (P,) into the model's existing Parameters (the same objects), in the order of
    ``parameters_to_vector``; each keeps its dtype. The model holds copies, never views of vec."""
    params = model.parameters()
    vec = _check_vector(vec, model, "vector_to_parameters", "vec")
    start = 0
    for p in params:
        p.data = vec[start:start + p.data.size].reshape(p.shape).astype(p.dtype, copy=True)
        start += p.data.size


def _check_vector(v, model: Module, who: str, name: str) -> np.ndarray:
    n = sum(p.data.size for p in model.parameters())
    v = np.asarray(v)
    if v.dtype.kind not in "biuf":
        raise ValueError(f"{who}: {name} must be a vector of real numbers, got dtype {v.dtype}")
    if v.shape != (n,):
        raise ValueError(f"{who}: {name} must have shape ({n},), one entry per parameter of the model, got {v.shape}")
    return v.astype(np.float64, copy=False)


def _as_tangents(model: Module, v: np.ndarray) -> dict[str, np.ndarray]:
    """Cut a vector (P,) into {name: array of the parameter's shape}."""
    tangents, start = {}, 0
    for name, p in model.named_parameters():
        tangents[name] = v[start:start + p.data.size].reshape(p.shape)
        start += p.data.size
    return tangents


def _as_vector(model: Module, per_parameter: dict[str, np.ndarray]) -> np.ndarray:
    """Join {name: array} into a vector (P,) in parameter order; a missing name is zero."""
    parts = [np.asarray(per_parameter[name], dtype=np.float64).ravel() if name in per_parameter
             else np.zeros(p.data.size) for name, p in model.named_parameters()]
    return np.concatenate(parts) if parts else np.zeros(0)


# ---- the curvature of a batch -------------------------------------------------------------------
def _check(model, loss, who: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{who}: model must be a Module, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"{who}: loss must be a Loss, got {type(loss).__name__}")
    if type(loss).hvp is Loss.hvp:
        raise TypeError(f"{who}: {type(loss).__name__} has no hvp (no Hessian with respect to pred), which "
                        f"second-order products need")


def _gradient_at_output(model: Module, loss: Loss, X, y) -> np.ndarray:
    """Forward on X in float64 (caching what the tangent rules read); return ∂L/∂pred."""
    loss(model(np.asarray(X, dtype=np.float64)), y)
    return loss.backward()


def _hvp_at(model: Module, loss: Loss, g_out: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H v from the caches of the last forward: jvp, the loss's hvp, the tangent of backward."""
    tangents = _as_tangents(model, v)
    out_dot = model.jvp(None, tangents)                                  # J v
    _, grad_dots = model.backward_tangent(g_out, loss.hvp(out_dot), None, tangents)
    return _as_vector(model, grad_dots)


def _gnvp_at(model: Module, loss: Loss, v: np.ndarray) -> np.ndarray:
    """G v = Jᵀ (H_ℓ (J v)) from the caches of the last forward: jvp, the loss's hvp, backward."""
    model.backward_parameters(loss.hvp(model.jvp(None, _as_tangents(model, v))))
    return _as_vector(model, {name: p.grad for name, p in model.named_parameters()})


def hvp(model: Module, loss: Loss, X: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H·v (P,): the Hessian of ``loss(model(X), y)`` with respect to all parameters, applied to v (P,)."""
    _check(model, loss, "hvp")
    v = _check_vector(v, model, "hvp", "v")
    with preserved(model):
        return _hvp_at(model, loss, _gradient_at_output(model, loss, X, y), v)


def hessian(model: Module, loss: Loss, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """H (P, P) from P Hessian-vector products H eⱼ, made symmetric as (H + Hᵀ)/2 (they differ by rounding)."""
    _check(model, loss, "hessian")
    with preserved(model):
        g_out = _gradient_at_output(model, loss, X, y)
        H = np.array([_hvp_at(model, loss, g_out, e) for e in np.eye(len(parameters_to_vector(model)))]).T
    return (H + H.T) / 2


def gnvp(model: Module, loss: Loss, X: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """G·v (P,) for the Gauss–Newton matrix G = Jᵀ H_ℓ J, without forming G."""
    _check(model, loss, "gnvp")
    v = _check_vector(v, model, "gnvp", "v")
    with preserved(model):
        _gradient_at_output(model, loss, X, y)
        return _gnvp_at(model, loss, v)


def gauss_newton(model: Module, loss: Loss, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """G = Jᵀ H_ℓ J (P, P), positive semi-definite, from P products G eⱼ, made symmetric."""
    _check(model, loss, "gauss_newton")
    with preserved(model):
        _gradient_at_output(model, loss, X, y)
        G = np.array([_gnvp_at(model, loss, e) for e in np.eye(len(parameters_to_vector(model)))]).T
    return (G + G.T) / 2
