"""Every layer's and loss's docstring states its math in the same blocks, so a student can check
the code against it line by line (house style: Forward, Backward, Forward mode, Second order or,
for a loss, Hessian, and Shapes)."""

import inspect
import re

import pytest

import handnet.layers
import handnet.losses
from handnet.losses.loss import Loss

LAYERS = [getattr(handnet.layers, name) for name in handnet.layers.__all__]
LOSSES = [getattr(handnet.losses, name) for name in handnet.losses.__all__]
DOCUMENTED = sorted({cls for cls in LAYERS + LOSSES if inspect.isclass(cls) and (issubclass(cls, Loss)
                     or issubclass(cls, handnet.Module))}, key=lambda cls: cls.__name__)
BLOCKS = ["Forward", "Backward", "Forward mode", "Shapes"]
LAYER_BLOCKS, LOSS_BLOCKS = ["Second order"], ["Hessian"]


@pytest.mark.parametrize("cls", DOCUMENTED, ids=lambda cls: cls.__name__)
def test_docstring_has_forward_backward_and_shapes_blocks(cls):
    doc = inspect.getdoc(cls) or ""
    # "Forward:" or a block per mode, "Forward (train mode):", at the start of a line
    blocks = BLOCKS + (LOSS_BLOCKS if issubclass(cls, Loss) else LAYER_BLOCKS)
    missing = [block for block in blocks if not re.search(rf"^\s*{block}( \([^)]*\))?:", doc, re.M)]
    assert not missing, f"{cls.__name__}'s docstring lacks {missing}"


def test_every_exported_layer_and_network_loss_is_covered():
    names = {cls.__name__ for cls in DOCUMENTED}
    assert {"Linear", "ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "BatchNorm1d", "LayerNorm", "Dropout",
            "SoftmaxCrossEntropy", "MSELoss", "BCEWithLogitsLoss"} <= names
