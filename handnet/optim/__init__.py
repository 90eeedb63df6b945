"""Optimizers (update Parameters from their .grad) and minimisers of objectives."""

from handnet.optim.adam import Adam
from handnet.optim.gradient_descent import gradient_descent
from handnet.optim.newton import newton
from handnet.optim.optimizer import Optimizer
from handnet.optim.result import ConvergenceWarning, OptimizeResult
from handnet.optim.sgd import SGD

__all__: list[str] = ["Optimizer", "SGD", "Adam",
                       "gradient_descent", "newton", "OptimizeResult", "ConvergenceWarning"]
