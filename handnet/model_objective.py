"""A network's loss on a fixed batch as an objective of its parameter vector, for the minimisers."""

from __future__ import annotations

import numpy as np

from handnet import curvature
from handnet.losses.loss import Loss
from handnet.losses.objective import Objective
from handnet.module import Module
from handnet.state import preserved


class ModelObjective(Objective):
    """f(w) = loss(model with parameters w applied to X, y), w ∈ ℝᴾ the parameters as one vector.

    It follows the Objective protocol of ``handnet.losses`` (``value``, ``grad``, ``hessian``,
    ``n_features`` = P), so ``handnet.optim.newton`` runs on it unchanged; on top it has ``hvp``,
    ``gauss_newton`` and ``gnvp`` (``handnet.curvature``), which Levenberg–Marquardt needs.
    w is laid out as ``hn.parameters_to_vector(model)``, which is also the natural w0.

    Value:     f(w) = ℓ(model(X; w), y)
    Gradient:  ∇f(w) = the parameter gradients of one backward, joined into one vector
               (``value_and_grad`` returns the value of that backward's forward with it)
    Hessian:   ∇²f(w) = ``hn.hessian`` (exact: P Hessian-vector products by forward-over-reverse)

    Every evaluation runs in the mode the model is in (train mode: BatchNorm1d uses the batch's
    statistics), in float64, and leaves the model exactly as it found it: parameters, buffers
    (running statistics), ``.grad`` and caches. A network has no global Lipschitz constant, so
    ``lipschitz`` raises and ``gradient_descent`` needs an explicit ``lr``.

    Shapes:
        X: what the model takes, (N, D) for an MLP; y: what the loss takes; w, v: (P,).
    """

    def __init__(self, model: Module, loss: Loss, X: np.ndarray, y: np.ndarray) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"ModelObjective: model must be a Module, got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise TypeError(f"ModelObjective: loss must be a Loss, got {type(loss).__name__}")
        self.model, self.loss = model, loss
        self.X, self.y = np.asarray(X, dtype=np.float64), np.asarray(y)
        self.n_features = len(curvature.parameters_to_vector(model))

    def value(self, w: np.ndarray) -> float:
        w = self.check_w(w)
        with preserved(self.model):
            curvature.vector_to_parameters(w, self.model)
            return self.loss(self.model(self.X), self.y)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self._forward_backward(w)[1]

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        return self._forward_backward(w)

    def _forward_backward(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """(f(w), ∇f(w)) from one forward and one backward: the gradient's forward gives the value.

        ``grad`` and ``value_and_grad`` both call this, not each other, so that a subclass adding a
        penalty to both ``grad`` and ``value_and_grad`` does not get it twice in ``grad``.
        """
        w = self.check_w(w)
        with preserved(self.model):
            curvature.vector_to_parameters(w, self.model)
            f = self.loss(self.model(self.X), self.y)
            self.model.backward_parameters(self.loss.backward())
            return f, curvature._as_vector(self.model, {n: p.grad for n, p in self.model.named_parameters()})

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return self._at(w, curvature.hessian)

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self._at(w, curvature.hvp, v)

    def gauss_newton(self, w: np.ndarray) -> np.ndarray:
        return self._at(w, curvature.gauss_newton)

    def gnvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self._at(w, curvature.gnvp, v)

    def _at(self, w, function, *args):
        w = self.check_w(w)
        with preserved(self.model):
            curvature.vector_to_parameters(w, self.model)
            return function(self.model, self.loss, self.X, self.y, *args)

    @property
    def lipschitz(self) -> float:
        raise ValueError("ModelObjective: a network's loss has no global Lipschitz constant (its curvature is "
                         "unbounded in w), so there is no default step: pass gradient_descent an explicit lr")

    def __repr__(self) -> str:
        return f"ModelObjective({type(self.model).__name__}, {type(self.loss).__name__}, n_features={self.n_features})"
