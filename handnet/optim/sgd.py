"""Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from handnet._checks import check_real
from handnet.optim.optimizer import Optimizer
from handnet.parameter import Parameter


class SGD(Optimizer):
    """Gradient descent, exactly as ``torch.optim.SGD``.

    Update of each parameter θ with gradient g (η = lr, μ = momentum, λ = weight_decay,
    τ = dampening), at step t = 1, 2, …:
        d  = g + λ θ                                 L2 weight decay, added to the gradient
        b  = d                        if t = 1       momentum buffer (only when μ > 0)
        b  = μ b + (1 − τ) d          if t > 1
        d  = d + μ b                  if nesterov    look ahead along the buffer
        d  = b                        otherwise (when μ > 0)
        θ ← θ − η d
    With μ = 0 this is plain gradient descent θ ← θ − η (g + λ θ).

    How it differs from other formulations:
      * the buffer starts at the first gradient itself (not at 0, and not damped), and η multiplies
        the buffer rather than being folded into it (Sutskever et al. write v = μv − ηg, θ += v;
        the two agree while η is constant but differ once it changes);
      * weight decay is L2 regularisation added to g, so it passes through the momentum buffer
        (AdamW-style *decoupled* decay would shrink θ directly instead);
      * Nesterov's variant uses d + μ b, the gradient form of evaluating at the look-ahead point.
    ``dampening`` (τ, 0 by default) is kept for parity with torch; Nesterov momentum requires
    μ > 0 and τ = 0.

    Args:
        params: the Parameters to train: a list, or ``model.parameters()``.
        lr: η ≥ 0.
        momentum: μ ≥ 0 (0 = no momentum, no buffer).
        weight_decay: λ ≥ 0.
        nesterov: use Nesterov momentum.
        dampening: τ in [0, 1].

    State per parameter: ``momentum_buffer`` (b, the shape of θ), once μ > 0 and θ has been updated.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, *, dampening: float = 0.0) -> None:
        super().__init__(params)
        self.lr = check_real(lr, "SGD", "lr")
        self.momentum = check_real(momentum, "SGD", "momentum")
        self.weight_decay = check_real(weight_decay, "SGD", "weight_decay")
        self.dampening = check_real(dampening, "SGD", "dampening", high=1.0, high_open=False)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum={momentum!r}, "
                             f"dampening={dampening!r}")
        self.nesterov = bool(nesterov)

    def update(self, p: Parameter, g: np.ndarray, state: dict) -> None:
        d = g + self.weight_decay * p.data if self.weight_decay != 0 else g
        if self.momentum != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = np.array(d, copy=True)      # b = d on the first step
            else:
                b *= self.momentum                                          # b = μ b + (1 − τ) d, in place
                b += d if self.dampening == 0 else (1 - self.dampening) * d
            d = d + self.momentum * b if self.nesterov else b
        p.data -= self.lr * d

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay}, "
                f"nesterov={self.nesterov}, dampening={self.dampening})")
