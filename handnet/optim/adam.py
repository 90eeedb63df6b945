"""Adam: gradient descent scaled per coordinate by running estimates of the gradient's moments."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from handnet._checks import check_real
from handnet.optim.optimizer import Optimizer
from handnet.parameter import Parameter


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), exactly as ``torch.optim.Adam`` with its defaults (no amsgrad).

    Update of each parameter θ with gradient g (η = lr, (β₁, β₂) = betas, λ = weight_decay),
    at its step t = 1, 2, … (m and v start at 0):
        d  = g + λ θ                         L2 weight decay, added to the gradient
        m ← β₁ m + (1 − β₁) d                first moment (mean) of d
        v ← β₂ v + (1 − β₂) d ⊙ d            second moment (uncentred variance) of d
        m̂ = m / (1 − β₁ᵗ)                    bias corrections: m and v started at 0
        v̂ = v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)              elementwise; ε is added *after* the square root
    The code never forms m̂ and v̂: it folds the two bias corrections into scalars,
        θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε),
    torch's order of operations, equal to the lines above up to rounding.

    How it differs from other formulations:
      * from SGD: each coordinate's step is divided by the root of its own mean squared
        gradient, so its size is about η whatever the scale of the gradient;
      * from AdamW: weight decay here is L2 regularisation added to g, so it is rescaled by √v̂
        like the gradient; AdamW instead shrinks θ ← θ − ηλθ apart from the adaptive step;
      * from the paper's "ε̂" variant: ε is added to √v̂ (bias-corrected), not to √v, which is
        torch's and the paper's Algorithm 1.

    Args:
        params: the Parameters to train: a list, or ``model.parameters()``.
        lr: η ≥ 0.
        betas: (β₁, β₂), each in [0, 1).
        eps: ε > 0. (With ε = 0 a coordinate whose gradients have all been 0, a dead unit, gets 0/0.)
        weight_decay: λ ≥ 0.

    State per parameter: ``step`` (t, an int), ``exp_avg`` (m) and ``exp_avg_sq`` (v), the shape of θ.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self.lr = check_real(lr, "Adam", "lr")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_real(betas[0], "Adam", "betas[0]", high=1.0),
                      check_real(betas[1], "Adam", "betas[1]", high=1.0))
        self.eps = check_real(eps, "Adam", "eps", low_open=True)
        self.weight_decay = check_real(weight_decay, "Adam", "weight_decay")

    def update(self, p: Parameter, g: np.ndarray, state: dict) -> None:
        beta1, beta2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        d = g + self.weight_decay * p.data if self.weight_decay != 0 else g
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1                                         # m = β₁ m + (1 − β₁) d, in place
        m += (1 - beta1) * d
        v *= beta2                                         # v = β₂ v + (1 − β₂) d², in place
        v += (1 - beta2) * d * d
        m_hat_scale = 1 - beta1 ** t                       # m̂ = m / m_hat_scale
        v_hat_sqrt_scale = math.sqrt(1 - beta2 ** t)       # √v̂ = √v / v_hat_sqrt_scale
        p.data -= (self.lr / m_hat_scale) * m / (np.sqrt(v) / v_hat_sqrt_scale + self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
