"""MLPRegressor: scikit-learn's multi-layer perceptron regressor, on handnet layers."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from handnet.evaluation import predict
from handnet.losses import MSELoss
from handnet.losses.loss import Loss
from handnet.sklearn.mlp import BaseMLP


class HalfSquaredError(Loss):
    """Half the squared error, summed over the K outputs and averaged over the batch.

    Forward:   L = 1/(2N) Σₙ ‖predₙ − targetₙ‖² = (K/2) · MSELoss(pred, target)
               (``MSELoss`` averages over all N·K elements)
    Backward:  dL/dpred = (pred − target) / N
    Forward mode: L̇ = ⟨∂L/∂pred, ṗred⟩ (``Loss.jvp``).
    Hessian:   d²L/dpred² = I / N;  ``hvp(v)`` = v / N
    Reduction: scikit-learn's MLPRegressor: with one output, its ½·mean squared error exactly.
               With K > 1 scikit-learn reports the mean over the outputs, but the gradient it
               steps along is (pred − target)/N, the gradient of this sum; we minimise and
               report the same function.

    Shapes:
        pred, target: (N, K).
    Returns: the loss as a Python float.
    """

    def __init__(self) -> None:
        self.mse = MSELoss()
        self.scale = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        value = self.mse(pred, target)
        self.scale = pred.shape[-1] / 2 if np.ndim(pred) == 2 else 0.5
        return self.scale * value

    def backward(self) -> np.ndarray:
        return self.scale * self.mse.backward()

    def hvp(self, dpred: np.ndarray) -> np.ndarray:
        return self.scale * self.mse.hvp(dpred)


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor with scikit-learn's interface, parameters and objective.

    Output and loss, as scikit-learn's: K linear outputs (K = 1 for y of shape (N,)) and
    ``HalfSquaredError``, a mean over the batch, so the L2 term α/(2b)·Σ‖W‖² is scikit-learn's
    (see ``BaseMLP``). ``predict`` returns (N,) when there is one output, (N, K) otherwise.

    Parameters: those of ``BaseMLP`` (scikit-learn's names and defaults; ``solver`` also takes
    "newton" and "lm" for small networks; ``batch_norm`` and ``dropout`` are handnet's).
    Attributes: ``n_features_in_``, ``n_outputs_``, ``model_`` (the trained ``handnet.Sequential``),
    ``loss_`` and ``loss_curve_``, ``best_loss_``, ``n_iter_``.
    """

    def fit(self, X, y) -> MLPRegressor:
        """Train a new network on X (N, D) and targets y (N,) or (N, K) for up to max_iter epochs (or updates)."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return self._fit(X, y, partial=False)

    @available_if(BaseMLP._is_stochastic)
    def partial_fit(self, X, y) -> MLPRegressor:
        """One epoch over (X, y), starting a network on the first call."""
        self._check_params()
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True, reset=first)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_ = n_outputs
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"MLPRegressor: y has {n_outputs} outputs, but the network was started with "
                             f"{self.n_outputs_}")
        return self._fit(X, y, partial=True)

    def _loss(self) -> Loss:
        return HalfSquaredError()

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(len(y), -1)                          # (N,) -> (N, 1); (N, K) stays

    def predict(self, X) -> np.ndarray:
        """The network's output on X (N, D) in eval mode: (N,) for one output, else (N, K)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        out = predict(self.model_, X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
