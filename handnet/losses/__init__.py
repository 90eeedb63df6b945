"""Losses.

Network losses follow the protocol of ``handnet.loss.Loss``: ``loss(pred, target) -> float``
caches what the gradient needs and ``loss.backward() -> dL/dpred`` returns the gradient that
starts the network's backward pass.
"""

from handnet.layers.softmax_cross_entropy import SoftmaxCrossEntropy

__all__ = ["SoftmaxCrossEntropy"]
