"""handnet: a neural-network framework in which every derivative is derived by hand, in NumPy.

    import handnet as hn
    from handnet.layers import Linear, ReLU, SoftmaxCrossEntropy

    model = hn.Sequential(Linear(4, 16), ReLU(), Linear(16, 3))
    ce = SoftmaxCrossEntropy()
    loss = ce(model(X), y)            # forward: a float
    dX = model.backward(ce.backward())  # backward: fills every parameter's .grad

Subpackages: ``handnet.layers`` (modules with hand-derived backward passes), ``handnet.losses``
(network losses and objectives of a weight vector), ``handnet.optim`` (optimizers and
minimisers). ``hn.gradcheck`` and ``hn.jacobian`` check any of them against finite differences.
"""

from handnet.checkpoint import load, save
from handnet.gradcheck import GradcheckError, gradcheck, jacobian, numerical_jacobian
from handnet.loss import Loss
from handnet.module import Module, Sequential
from handnet.parameter import Parameter

__all__ = [
    "Parameter", "Module", "Sequential", "Loss",
    "gradcheck", "jacobian", "numerical_jacobian", "GradcheckError",
    "save", "load",
]
__version__ = "0.1.0"
