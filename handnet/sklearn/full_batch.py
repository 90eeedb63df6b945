"""A network trained on the whole training set at once: its loss plus scikit-learn's L2 term as one
objective of the parameter vector, minimised by lbfgs, newton or levenberg_marquardt."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from handnet.curvature import parameters_to_vector, vector_to_parameters
from handnet.layers import BatchNorm1d, Linear
from handnet.losses.loss import Loss
from handnet.model_objective import ModelObjective
from handnet.module import Module
from handnet.state import modes
from handnet.optim import OptimizeResult, lbfgs, levenberg_marquardt, newton
from handnet.sklearn.penalised import Penalised

MINIMISERS = {"lbfgs": lbfgs, "newton": newton, "lm": levenberg_marquardt}
SECOND_ORDER_MAX_PARAMETERS = 1000    # newton and lm form P×P matrices, from P products with the whole set each


def minimise_network(model: Module, loss: Loss, X: np.ndarray, targets: np.ndarray, *, alpha: float, solver: str,
                     tol: float, max_iter: int, progress: bool = False, who: str = "") -> OptimizeResult:
    """Minimise f(θ) = loss(model(X; θ), targets) + α/(2n) Σ‖W‖² over all the model's parameters θ.

    The sum runs over every Linear's weight W (not the biases, nor BatchNorm's γ, β), as in
    scikit-learn's MLP; with a loss that averages over the n samples, f is scikit-learn's
    objective. It is ``Penalised(ModelObjective(model, loss, X, targets), λ)`` with λ = α/n on
    the weight coordinates of ``hn.parameters_to_vector(model)`` and 0 on the others, minimised
    from the model's parameters by ``MINIMISERS[solver]`` to ‖∇f‖₂ ≤ tol or ``max_iter`` updates.

    The model runs in train mode throughout: BatchNorm normalises with the statistics of all n
    samples. Afterwards the model holds the last iterate, and each BatchNorm's running
    statistics are those of the whole set (one train-mode forward with momentum 1), so that
    eval mode normalises as the objective did (up to the unbiased variance it stores). Returns
    the minimiser's ``OptimizeResult``; ``progress`` shows a tqdm bar of the iterates.
    """
    weights = {id(m.weight) for m in model.modules() if isinstance(m, Linear)}
    lam = np.concatenate([np.full(p.data.size, alpha / len(X) if id(p) in weights else 0.0)
                          for p in model.parameters()])
    objective = Penalised(ModelObjective(model, loss, X, targets), lam)
    P = objective.n_features
    if solver != "lbfgs" and P > SECOND_ORDER_MAX_PARAMETERS:
        raise ValueError(f"{who}: solver={solver!r} forms {P}×{P} matrices; it is for networks of at most "
                         f"{SECOND_ORDER_MAX_PARAMETERS} parameters. Use smaller hidden_layer_sizes, or "
                         f"solver='lbfgs' or 'adam'")
    with modes(model, training=True), tqdm(total=max_iter + 1, desc=who, unit="iterate", disable=not progress) as bar:
        result = MINIMISERS[solver](objective, parameters_to_vector(model), tol=tol, max_iter=max_iter,
                                    callback=lambda w: bar.update(1))
        vector_to_parameters(result.x, model)
        batch_norms = [m for m in model.modules() if isinstance(m, BatchNorm1d)]
        if batch_norms:
            momenta = [m.momentum for m in batch_norms]
            for m in batch_norms:
                m.momentum = 1.0                  # running ← this batch's statistics: the whole set's
            model(X)
            for m, momentum in zip(batch_norms, momenta):
                m.momentum = momentum
    return result
