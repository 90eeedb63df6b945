"""What MLPClassifier and MLPRegressor share: the network, scikit-learn's L2 penalty, and the five solvers."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

import handnet.layers
from handnet._checks import check_int, check_real
from handnet.layers import BatchNorm1d, Linear, ReLU, Sigmoid, Tanh
from handnet.state import modes
from handnet.optim import SGD, Adam
from handnet.sequential import Sequential
from handnet.sklearn.full_batch import MINIMISERS, minimise_network
from handnet.train import _batch_bounds

ACTIVATIONS = {"identity": None, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU}
STOCHASTIC = {"adam", "sgd"}


class BaseMLP(BaseEstimator):
    """A multi-layer perceptron trained on handnet layers; see MLPClassifier and MLPRegressor.

    Network: for each hidden size h, Linear → (BatchNorm1d(h) if ``batch_norm``) → activation →
    (Dropout(``dropout``) if > 0); then a Linear output layer. Weights and biases start as
    scikit-learn's (Glorot uniform: U(±√(6/(fan_in + fan_out))), 2 for 6 with "logistic"), not
    torch's default. ``model_`` is the trained ``handnet.Sequential``; ``predict`` runs it in eval
    mode (BatchNorm's running statistics, no dropout).

    Objective (scikit-learn's, ``_multilayer_perceptron.py``): the mean loss over a batch of b
    samples plus α/(2b)·Σ‖W‖² over the Linear weights only (no biases, no BatchNorm γ, β):
        L_b(θ) = (1/b) Σₙ ℓ(f(xₙ; θ), yₙ) + α/(2b) Σ_layers ‖W‖²_F,   ∂/∂W adds (α/b)·W.
    * "adam", "sgd": after each batch's backward, (α/b)·W is added to every weight's ``.grad``
      (b = that batch's size, the last one included), then the optimizer steps — exactly
      scikit-learn's gradient; the optimizers' own weight_decay would decay the biases too.
      Batches are reshuffled every epoch; a last batch of one sample joins the one before
      (as in ``hn.fit``), so BatchNorm never sees a batch of one.
    * "lbfgs", "newton", "lm": one objective over all n training samples (b = n),
      ``Penalised(ModelObjective(model, loss, X, y), λ)`` with λ = α/n on the weight
      coordinates and 0 elsewhere, minimised by ``handnet.optim.lbfgs``, ``newton`` or
      ``levenberg_marquardt`` to ‖∇‖ ≤ tol (``full_batch.minimise_network``). BatchNorm
      normalises with the statistics of the whole set, and keeps them as its running statistics.
      Dropout would make this objective random, so it is refused.

    Stopping (the stochastic solvers; scikit-learn's rule): after each epoch, if its loss is not
    below the best so far minus ``tol`` for more than ``n_iter_no_change`` epochs in a row,
    stop; after ``max_iter`` epochs, warn (``ConvergenceWarning``). ``partial_fit`` runs one epoch.

    Parameters (scikit-learn's names and defaults where it has them):
        hidden_layer_sizes: the width of each hidden layer, e.g. (100,) or (64, 32).
        activation: "relu", "tanh", "logistic" or "identity", after every hidden Linear.
        solver: "adam", "sgd" (mini-batches); "lbfgs", "newton", "lm" (the whole set; newton and
            lm for networks of at most ``full_batch.SECOND_ORDER_MAX_PARAMETERS`` parameters).
        alpha: α ≥ 0 of the L2 term above.  batch_size: "auto" = min(200, n), or an int.
        learning_rate_init: Adam's or SGD's constant step.  momentum, nesterovs_momentum: SGD's.
        max_iter: epochs (adam, sgd) or updates (the full-batch solvers).
        tol, n_iter_no_change: the stopping rule below; for the full-batch solvers tol bounds
            ‖∇‖₂ (scikit-learn's lbfgs bounds the largest |∂/∂θᵢ| instead).
        batch_norm: BatchNorm1d after every hidden Linear.  dropout: p of inverted dropout after
            every hidden activation (``handnet.layers.Dropout``; 0 = none).
        random_state: seeds the weights, the shuffling and dropout, afresh at every ``fit``.
        verbose: show a tqdm progress bar.

    Not supported (scikit-learn has them): early_stopping, learning-rate schedules, warm_start,
    sample_weight, multilabel targets. Adam and SGD follow torch (``handnet.optim``), which
    differs from scikit-learn's in where Adam adds ε and how Nesterov momentum is written.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, tol=1e-4, n_iter_no_change=10,
                 momentum=0.9, nesterovs_momentum=True, batch_norm=False, dropout=0.0, random_state=None,
                 verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.random_state = random_state
        self.verbose = verbose

    # ---- fitting (the subclasses validate X and y, set n_outputs_, and give _loss and _targets) ----
    def _fit(self, X: np.ndarray, y: np.ndarray, *, partial: bool):
        """Train on (X, y): a new network for max_iter epochs, or (``partial``) one more epoch of this one."""
        who = type(self).__name__
        if self.batch_norm and len(X) < 2:
            raise ValueError(f"{who}: batch_norm=True needs at least 2 samples to normalise a batch, got 1 sample")
        targets = self._targets(y)
        if not (partial and hasattr(self, "model_")):
            self._rng = np.random.default_rng(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self.model_ = self._network(X.shape[1])
            self.loss_curve_, self.n_iter_, self.best_loss_, self._no_improvement = [], 0, np.inf, 0
            self._optimizer = None
        if self.solver in STOCHASTIC:
            self._epochs(X, targets, 1 if partial else self.max_iter, stop_early=not partial)
        else:
            self._minimise(X, targets)
        if not all(np.all(np.isfinite(p.data)) for p in self.model_.parameters()):
            raise ValueError(f"{who}: the solver produced non-finite parameters; the input data may contain "
                             f"large values and need to be preprocessed (e.g. StandardScaler)")
        return self

    def _is_stochastic(self) -> bool:
        """For ``available_if``: partial_fit exists only for the solvers that take one epoch at a time."""
        if self.solver not in STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for the stochastic solvers 'adam' and 'sgd', "
                                 f"not solver={self.solver!r}")
        return True

    def _check_params(self) -> None:
        who = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        self._hidden = [check_int(h, who, "each of hidden_layer_sizes") for h in sizes]
        for name, allowed in [("activation", ACTIVATIONS), ("solver", STOCHASTIC | set(MINIMISERS))]:
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"{who}: {name} must be one of {sorted(allowed)}, got {value!r}")
        check_real(self.alpha, who, "alpha")
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int(self.batch_size, who, "batch_size (or 'auto')")
        check_real(self.learning_rate_init, who, "learning_rate_init", low_open=True)
        check_int(self.max_iter, who, "max_iter")
        check_real(self.tol, who, "tol")
        check_int(self.n_iter_no_change, who, "n_iter_no_change")
        check_real(self.momentum, who, "momentum", high=1.0, high_open=False)
        check_real(self.dropout, who, "dropout", high=1.0)
        if self.dropout > 0 and self.solver in MINIMISERS:
            raise ValueError(f"{who}: dropout={self.dropout!r} makes the full-batch objective of solver="
                             f"{self.solver!r} random; use solver='adam' or 'sgd', or dropout=0.0")

    def _network(self, n_features: int) -> Sequential:
        """The network of the class docstring, with scikit-learn's Glorot-uniform initialisation."""
        sizes = [n_features, *self._hidden, self.n_outputs_]
        activation, layers = ACTIVATIONS[self.activation], []
        factor = 2.0 if self.activation == "logistic" else 6.0
        for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
            linear = Linear(fan_in, fan_out, rng=self._rng)
            bound = np.sqrt(factor / (fan_in + fan_out))
            linear.weight.data = self._rng.uniform(-bound, bound, (fan_out, fan_in))   # (out, in), as torch
            linear.bias.data = self._rng.uniform(-bound, bound, fan_out)
            layers.append(linear)
            if i < len(sizes) - 2:
                layers += [BatchNorm1d(fan_out)] if self.batch_norm else []
                layers += [activation()] if activation is not None else []
                layers += [handnet.layers.Dropout(self.dropout, rng=self._rng)] if self.dropout > 0 else []
        return Sequential(*layers)

    def _weights(self) -> list:
        """The penalised parameters: every Linear's weight."""
        return [m.weight for m in self.model_.modules() if isinstance(m, Linear)]

    # ---- the stochastic solvers ------------------------------------------------------------
    def _epochs(self, X: np.ndarray, targets: np.ndarray, epochs: int, stop_early: bool) -> None:
        who, n = type(self).__name__, len(X)
        batch_size = min(200, n) if self.batch_size == "auto" else self.batch_size
        if batch_size > n:
            warnings.warn(f"{who}: batch_size={batch_size} is larger than the {n} samples; using {n}", UserWarning)
            batch_size = n
        if self.batch_norm and batch_size < 2:
            raise ValueError(f"{who}: batch_norm=True needs batches of at least 2 samples, got batch_size=1")
        if self._optimizer is None:
            params = self.model_.parameters()
            self._optimizer = (Adam(params, lr=self.learning_rate_init) if self.solver == "adam" else
                               SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                                   nesterov=bool(self.nesterovs_momentum) and self.momentum > 0))
        model, loss, weights = self.model_, self._loss(), self._weights()
        with modes(model, training=True), tqdm(range(epochs), desc=who, unit="epoch", disable=not self.verbose) as bar:
            for _ in bar:
                order, total = self._rng.permutation(n), 0.0
                for start, stop in _batch_bounds(n, batch_size):
                    idx = order[start:stop]
                    value = loss(model(X[idx]), targets[idx])
                    model.backward_parameters(loss.backward())
                    scale = self.alpha / len(idx)                   # α/b: scikit-learn's L2 term on this batch
                    for W in weights:
                        W.grad = W.grad + scale * W.data
                        value += 0.5 * scale * float(np.sum(W.data * W.data))
                    self._optimizer.step()
                    total += value * len(idx)
                self.loss_ = total / n
                self.loss_curve_.append(self.loss_)
                self.n_iter_ += 1
                bar.set_postfix(loss=f"{self.loss_:.4g}")
                self._no_improvement = self._no_improvement + 1 if self.loss_ > self.best_loss_ - self.tol else 0
                self.best_loss_ = min(self.best_loss_, self.loss_)
                if stop_early and self._no_improvement > self.n_iter_no_change:
                    return
        if stop_early:
            warnings.warn(f"{who}: the {self.solver} solver reached max_iter={self.max_iter} epochs and the "
                          f"optimization hasn't converged yet", ConvergenceWarning)

    # ---- the full-batch solvers ------------------------------------------------------------
    def _minimise(self, X: np.ndarray, targets: np.ndarray) -> None:
        who = type(self).__name__
        result = minimise_network(self.model_, self._loss(), X, targets, alpha=self.alpha, solver=self.solver,
                                  tol=self.tol, max_iter=self.max_iter, progress=bool(self.verbose), who=who)
        self.n_iter_, self.loss_ = result.n_iter, result.fun
        self.loss_curve_ = list(result.history["value"][1:])
        if not result.converged:
            warnings.warn(f"{who}: the {self.solver} solver did not converge: {result.message}", ConvergenceWarning)
