"""Optimizers, which update Parameters from their ``.grad``, and minimisers of objectives.

Two protocols live here.

Optimizers (``SGD``, ``Adam``; see ``handnet.optim.optimizer``) train a network one mini-batch at
a time: ``opt = SGD(model.parameters(), lr=...)``, then after each backward ``opt.step()``
updates every parameter in place from its ``.grad``, exactly as ``torch.optim`` does.

Minimisers (``gradient_descent``, ``newton``, ``levenberg_marquardt``) minimise an objective of a weight vector (any
``handnet.losses.Objective``, or ``hn.ModelObjective`` for a network) from a starting point, to a tolerance:

    minimiser(objective, w0, *, tol, max_iter, callback) -> OptimizeResult

``callback(w_k)`` sees every iterate (w_0 included); the ``OptimizeResult`` holds the last
iterate, its value, the number of updates, whether ‖∇f‖ ≤ tol was reached, why it stopped, and
a history of values, gradient norms and step sizes.
"""

from handnet.optim.adam import Adam
from handnet.optim.gradient_descent import gradient_descent
from handnet.optim.lbfgs import lbfgs
from handnet.optim.levenberg_marquardt import levenberg_marquardt
from handnet.optim.newton import newton
from handnet.optim.optimizer import Optimizer
from handnet.optim.result import ConvergenceWarning, OptimizeResult
from handnet.optim.sgd import SGD

__all__: list[str] = ["Optimizer", "SGD", "Adam",
                       "gradient_descent", "newton", "levenberg_marquardt", "lbfgs", "OptimizeResult",
                       "ConvergenceWarning"]
