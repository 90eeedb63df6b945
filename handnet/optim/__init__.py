"""Optimizers (update Parameters from their .grad) and minimisers of objectives."""

from handnet.optim.adam import Adam
from handnet.optim.optimizer import Optimizer
from handnet.optim.sgd import SGD

__all__: list[str] = ["Optimizer", "SGD", "Adam"]
