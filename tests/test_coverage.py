"""Coverage: every exported layer and loss is compared with torch, so a new one cannot slip in unchecked.

Each comparison runs inside ``torch_dropout_with_our_masks``, which gives torch's dropout in train
mode the mask ours drew (it would draw another) and changes nothing for the other layers.
"""

import pathlib
import re

import numpy as np

import handnet.layers
import handnet.losses
from handnet.layers import BatchNorm1d, LayerNorm, Linear
from handnet.losses.loss import Loss
from tests.torch_compare import (TORCH_TWINS, compare_backward_tangent_with_torch, compare_with_torch,
                                 torch_dropout_with_our_masks)

# Layers whose constructor needs arguments; every other layer must be constructible as cls().
EXAMPLES = {Linear: lambda: Linear(3, 4, rng=0), BatchNorm1d: lambda: BatchNorm1d(3), LayerNorm: lambda: LayerNorm(3)}


def test_every_exported_layer_has_a_torch_twin_and_matches_it():
    rng = np.random.default_rng(0)
    layers = [getattr(handnet.layers, name) for name in handnet.layers.__all__]
    layers = [cls for cls in layers if not issubclass(cls, Loss)]
    missing = [cls.__name__ for cls in layers if cls not in TORCH_TWINS]
    assert not missing, f"layers with no torch twin in tests/torch_compare.py: {missing}"
    for cls in layers:
        layer = EXAMPLES.get(cls, cls)()
        with torch_dropout_with_our_masks(layer):
            compare_with_torch(layer, rng.standard_normal((5, 3)), rng=rng)


def _exported_layers():
    layers = [getattr(handnet.layers, name) for name in handnet.layers.__all__]
    return [cls for cls in layers if not issubclass(cls, Loss)]


def test_every_exported_layer_has_a_jvp_that_matches_torch_func_jvp():
    from tests.test_forward_mode import compare_jvp_with_torch

    rng = np.random.default_rng(1)
    for cls in _exported_layers():
        layer = EXAMPLES.get(cls, cls)()
        with torch_dropout_with_our_masks(layer):
            compare_jvp_with_torch(layer, rng.standard_normal((5, 3)), rng)


def test_every_exported_layer_has_a_second_order_rule_that_matches_torch_forward_over_reverse():
    rng = np.random.default_rng(2)
    for cls in _exported_layers():
        for train in (True, False):
            layer = EXAMPLES.get(cls, cls)().train(train)
            with torch_dropout_with_our_masks(layer):
                compare_backward_tangent_with_torch(layer, rng.standard_normal((5, 3)), rng=rng)


def test_every_exported_network_loss_has_its_jvp_and_hvp_compared_with_torch():
    from tests.test_forward_mode import LOSSES

    compared = {make for _, make, _, _ in LOSSES}
    exported = [getattr(handnet.losses, name) for name in handnet.losses.__all__]
    missing = [cls.__name__ for cls in exported if isinstance(cls, type) and issubclass(cls, Loss)
               and cls is not Loss and cls not in compared]
    assert not missing, f"losses whose jvp and hvp are never compared with torch: {missing}"


def test_every_exported_loss_is_compared_with_torch_in_some_test():
    tests = [p.read_text(encoding="utf-8") for p in pathlib.Path(__file__).parent.glob("test_*.py")]
    torch_tests = [text for text in tests if re.search(r"^import torch|^from tests.torch_compare", text, re.M)]
    exported = [name for name in handnet.losses.__all__ if name != "Objective"]
    missing = [name for name in exported
               if not any(re.search(rf"(?<![A-Za-z_]){name}\(", text) for text in torch_tests)]
    assert not missing, f"losses never called in a test that compares with torch: {missing}"
