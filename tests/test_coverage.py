"""Every exported layer has a torch twin, and so a comparison in test_layers_vs_torch.py."""

import handnet.layers
from handnet.loss import Loss
from tests.torch_compare import TORCH_TWINS


def test_every_exported_layer_is_compared_with_torch():
    exported = [getattr(handnet.layers, name) for name in handnet.layers.__all__]
    modules = [cls for cls in exported if not issubclass(cls, Loss)]
    missing = [cls.__name__ for cls in modules if cls not in TORCH_TWINS]
    assert not missing, f"layers with no torch comparison: {missing}"


def test_every_layer_with_a_twin_appears_in_the_torch_tests():
    import pathlib
    source = (pathlib.Path(__file__).parent / "test_layers_vs_torch.py").read_text()
    missing = [cls.__name__ for cls in TORCH_TWINS if cls.__name__ not in source and cls.__name__ != "Sequential"]
    assert not missing, f"layers never used in test_layers_vs_torch.py: {missing}"


def test_every_exported_loss_and_objective_is_compared_with_torch_somewhere():
    import pathlib

    import handnet.losses
    torch_tests = [p.read_text(encoding="utf-8") for p in pathlib.Path(__file__).parent.glob("test_*.py")]
    torch_tests = [text for text in torch_tests if "import torch" in text]
    exported = [name for name in handnet.losses.__all__ if name != "Objective"]
    missing = [name for name in exported if not any(f"{name}(" in text for text in torch_tests)]
    assert not missing, f"losses with no torch comparison: {missing}"
