"""Layers: each a Module with a hand-derived ``forward(x) -> y`` and ``backward(dout) -> dx``.

The contract every class here follows (see ``handnet.module``): ``forward`` caches what
``backward`` needs; ``backward(dout)`` takes ∂L/∂y of the last forward's output, returns
∂L/∂x, and writes each parameter's ``.grad``; nothing here changes a parameter's value.
Each docstring gives the forward formula, the backward formula, the shapes and the cache.
Shapes use one set of letters: N batch, D input features, M output features, C classes,
L positions (BatchNorm1d's (N, D, L)).
Every layer keeps the floating dtype of its input (float32 in, float32 out); float32 and
float64 are the dtypes handnet computes in, and float16 is refused (its sums and squares overflow).

``SoftmaxCrossEntropy`` is a loss (``ce(logits, target) -> float``, ``ce.backward() -> dlogits``)
and lives in ``handnet.losses``; it is re-exported here because it is the fused softmax layer
that ends most classifiers.
"""

from handnet.layers.batchnorm import BatchNorm1d
from handnet.layers.dropout import Dropout
from handnet.layers.gelu import GELU
from handnet.layers.layernorm import LayerNorm
from handnet.layers.leaky_relu import LeakyReLU
from handnet.layers.linear import Linear
from handnet.layers.relu import ReLU
from handnet.layers.sigmoid import Sigmoid
from handnet.layers.softmax import Softmax
from handnet.layers.tanh import Tanh
from handnet.losses.softmax_cross_entropy import SoftmaxCrossEntropy

__all__ = ["Linear", "ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "BatchNorm1d", "LayerNorm", "Dropout",
           "SoftmaxCrossEntropy"]
