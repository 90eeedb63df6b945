"""Losses: network losses of a prediction.

Network losses follow the protocol of ``handnet.loss.Loss``: ``loss(pred, target) -> float``
caches what the gradient needs and ``loss.backward() -> dL/dpred`` returns the gradient that
starts the network's backward pass. Each states its reduction (all three average):

* ``MSELoss``               mean of (pred − target)² over all elements
* ``BCEWithLogitsLoss``     mean binary cross-entropy of σ(logits), in the stable |z| form
* ``SoftmaxCrossEntropy``   mean cross-entropy of softmax(logits) over the batch
"""

from handnet.layers.softmax_cross_entropy import SoftmaxCrossEntropy
from handnet.losses.bce_with_logits import BCEWithLogitsLoss
from handnet.losses.mse import MSELoss

__all__ = ["SoftmaxCrossEntropy", "MSELoss", "BCEWithLogitsLoss"]
