"""SoftmaxCrossEntropy against torch's F.cross_entropy (mean reduction) and by hand."""

import numpy as np
import pytest
import torch.nn.functional as F

from handnet.layers import SoftmaxCrossEntropy
from tests.torch_compare import assert_close, torch_loss


def _torch_ce(z, target):
    return torch_loss(F.cross_entropy, z, target)


@pytest.mark.parametrize("n,c", [(1, 2), (5, 3), (3, 10), (64, 7)])
def test_ce_with_labels_matches_torch_value_and_gradient_softmax_minus_onehot_over_n(n, c):
    rng = np.random.default_rng(n * c)
    z, y = 2 * rng.standard_normal((n, c)), rng.integers(0, c, n)
    ce = SoftmaxCrossEntropy()
    value, grad = _torch_ce(z, y)
    assert_close(ce(z, y), value, "loss")
    assert_close(ce.backward(), grad, "dL/dlogits")


@pytest.mark.parametrize("n,c", [(1, 2), (6, 4)])
def test_ce_with_probability_targets_matches_torch(n, c):
    rng = np.random.default_rng(n + c)
    z = rng.standard_normal((n, c))
    p = rng.uniform(size=(n, c))
    p /= p.sum(axis=1, keepdims=True)
    ce = SoftmaxCrossEntropy()
    value, grad = _torch_ce(z, p)
    assert_close(ce(z, p), value, "loss")
    assert_close(ce.backward(), grad, "dL/dlogits")


def test_ce_is_finite_and_matches_torch_for_logits_of_a_thousand():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    y = np.array([1, 2])
    ce = SoftmaxCrossEntropy()
    value, grad = _torch_ce(z, y)
    assert_close(ce(z, y), value, "loss")
    assert_close(ce.backward(), grad, "dL/dlogits")


def test_ce_hand_worked_example_uniform_logits_give_log_c():
    # With all logits equal, softmax is uniform, so L = −log(1/C) = log C whatever the labels,
    # and the gradient is (1/C − onehot)/N.
    ce = SoftmaxCrossEntropy()
    assert ce(np.zeros((2, 4)), np.array([0, 3])) == pytest.approx(np.log(4), rel=1e-15)
    expected = (np.full((2, 4), 0.25) - np.eye(4)[[0, 3]]) / 2
    np.testing.assert_allclose(ce.backward(), expected, rtol=1e-15)


def test_ce_keeps_float32():
    ce = SoftmaxCrossEntropy()
    ce(np.zeros((2, 3), dtype=np.float32), np.array([0, 1]))
    assert ce.backward().dtype == np.float32
