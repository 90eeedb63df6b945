"""Losses: network losses of a prediction, and objectives of a weight vector.

Network losses follow the protocol of ``handnet.losses.loss.Loss``: ``loss(pred, target) -> float``
caches what the gradient needs and ``loss.backward() -> dL/dpred`` returns the gradient that
starts the network's backward pass. Each states its reduction (all three average):

* ``MSELoss``               mean of (pred − target)² over all elements
* ``BCEWithLogitsLoss``     mean binary cross-entropy of σ(logits), in the stable |z| form
* ``SoftmaxCrossEntropy``   mean cross-entropy of softmax(logits) over the batch

Objectives follow the protocol of ``handnet.losses.objective.Objective``: built from data
(X (n, d), y (n,)), they give ``value(w)``, ``grad(w)`` and ``hessian(w)`` of a weight vector
w (d,) in closed form (and ``value_and_grad(w)``, both from one evaluation), plus the curvature
bounds a minimiser needs (``lipschitz``, ``strong_convexity``); the minimisers in
``handnet.optim`` (``gradient_descent``, ``newton``, ``lbfgs``, and ``levenberg_marquardt`` for
those with a ``gauss_newton``) take any of them:

* ``LeastSquares(X, y)``                       1/(2n)‖y − Xw‖²;  ``solve()`` in closed form
* ``Ridge(X, y, lam, fit_intercept=False)``    + λ/2‖w‖²;  ``solve()``, ``intercept(w)``
* ``Logistic(X, y, lam=0.0)``                  mean BCE of σ(Xw) + λ/2‖w‖², y ∈ {0, 1}
"""

from handnet.losses.bce_with_logits import BCEWithLogitsLoss
from handnet.losses.least_squares import LeastSquares
from handnet.losses.logistic import Logistic
from handnet.losses.mse import MSELoss
from handnet.losses.objective import Objective
from handnet.losses.ridge import Ridge
from handnet.losses.softmax_cross_entropy import SoftmaxCrossEntropy

__all__ = ["SoftmaxCrossEntropy", "MSELoss", "BCEWithLogitsLoss",
           "Objective", "LeastSquares", "Ridge", "Logistic"]
