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

Training, with a dataset from ``handnet.data`` and an optimizer from ``handnet.optim``:

    from handnet.data import digits
    from handnet.optim import Adam

    ds = digits()
    model = hn.Sequential(Linear(64, 64), ReLU(), Linear(64, 10))
    history = hn.fit(model, ce, Adam(model.parameters(), lr=3e-3), ds.X_train, ds.y_train,
                     epochs=10, batch_size=64, rng=0)
    hn.evaluate(model, ce, ds.X_test, ds.y_test)   # {"loss": …, "accuracy": …}
    hn.save(model, "digits.npz")                    # and hn.load(model, "digits.npz")
"""

from handnet.checkpoint import load, save
from handnet.evaluation import evaluate, predict
from handnet.gradcheck import GradcheckError, gradcheck
from handnet.jacobian import jacobian, jvp
from handnet.numerical import numerical_gradient, numerical_jacobian, relative_error
from handnet.curvature import gauss_newton, gnvp, hessian, hvp, parameters_to_vector, vector_to_parameters
from handnet.losses.loss import Loss
from handnet.model_objective import ModelObjective
from handnet.module import Module
from handnet.parameter import Parameter
from handnet.sequential import Sequential
from handnet.torch_bridge import from_torch, to_torch  # torch is imported only when they are called
from handnet.train import History, TrainingDiverged, fit

__all__ = [
    "Parameter", "Module", "Sequential", "Loss",
    "gradcheck", "jacobian", "jvp", "numerical_jacobian", "numerical_gradient", "relative_error", "GradcheckError",
    "parameters_to_vector", "vector_to_parameters", "hvp", "hessian", "gnvp", "gauss_newton", "ModelObjective",
    "fit", "predict", "evaluate", "History", "TrainingDiverged", "save", "load",
    "to_torch", "from_torch",
]
__version__ = "0.1.0"
