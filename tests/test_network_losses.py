"""MSELoss and BCEWithLogitsLoss against torch (mean reduction), by hand, by finite differences, and bad input."""

import numpy as np
import pytest
import torch.nn.functional as F

from handnet import numerical_jacobian
from handnet.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropy
from tests.torch_compare import assert_close, torch_loss

SHAPES = [(1,), (7,), (4, 3), (2, 3, 5)]


# ---- MSELoss ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_mse_matches_torch_value_and_gradient_two_residual_over_n(shape):
    rng = np.random.default_rng(len(shape))
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    mse = MSELoss()
    value, grad = torch_loss(F.mse_loss, pred, target)
    assert_close(mse(pred, target), value, "MSE value")
    assert_close(mse.backward(), grad, "dL/dpred")


def test_mse_hand_worked_example():
    # residuals (1, −2, 0, 3): mean of squares (1 + 4 + 0 + 9)/4 = 3.5; gradient 2r/4 = r/2.
    mse = MSELoss()
    assert mse(np.array([1.0, 0.0, 2.0, 3.0]), np.array([0.0, 2.0, 2.0, 0.0])) == 3.5
    np.testing.assert_array_equal(mse.backward(), [0.5, -1.0, 0.0, 1.5])


@pytest.mark.parametrize("shape", SHAPES)
def test_bce_matches_torch_value_and_gradient_sigmoid_minus_target_over_n(shape):
    rng = np.random.default_rng(10 + len(shape))
    z = 3 * rng.standard_normal(shape)
    y = rng.integers(0, 2, shape).astype(np.float64)
    bce = BCEWithLogitsLoss()
    value, grad = torch_loss(F.binary_cross_entropy_with_logits, z, y)
    assert_close(bce(z, y), value, "BCE value")
    assert_close(bce.backward(), grad, "dL/dlogits")


def test_bce_with_soft_targets_matches_torch():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((5, 2)), rng.uniform(size=(5, 2))
    bce = BCEWithLogitsLoss()
    value, grad = torch_loss(F.binary_cross_entropy_with_logits, z, y)
    assert_close(bce(z, y), value, "BCE value")
    assert_close(bce.backward(), grad, "dL/dlogits")


def test_bce_is_finite_and_matches_torch_for_logits_of_plus_minus_a_thousand():
    # Each sign of logit with each label: two terms are 0 (confidently right), two are 1000 (wrong).
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0, 745.0, -745.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    bce = BCEWithLogitsLoss()
    value = bce(z, y)               # RuntimeWarnings (overflow) are errors in this test suite
    grad = bce.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    torch_value, torch_grad = torch_loss(F.binary_cross_entropy_with_logits, z, y)
    assert_close(value, torch_value, "BCE value at ±1000")
    assert_close(grad, torch_grad, "dL/dlogits at ±1000")
    assert value == pytest.approx((2000 + np.log(2)) / 7, rel=1e-15)


def test_bce_hand_worked_example_zero_logits_give_log_two():
    # σ(0) = 1/2, so every term is log 2 whatever the target, and the gradient is (1/2 − y)/N.
    bce = BCEWithLogitsLoss()
    assert bce(np.zeros(4), np.array([0.0, 1.0, 1.0, 0.25])) == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_allclose(bce.backward(), (0.5 - np.array([0.0, 1.0, 1.0, 0.25])) / 4, rtol=1e-15)


def test_softmax_cross_entropy_is_still_exported_from_losses():
    from handnet.layers import SoftmaxCrossEntropy as FromLayers
    assert SoftmaxCrossEntropy is FromLayers


# ---- bad input ----------------------------------------------------------------------------
# ---- both losses -----------------------------------------------------------------------------
# (loss class, a target of shape (4, 3) drawn from rng): real-valued for MSE, in [0, 1] for BCE.
LOSSES = [(MSELoss, lambda rng: rng.standard_normal((4, 3))),
          (BCEWithLogitsLoss, lambda rng: rng.uniform(size=(4, 3)))]


@pytest.mark.parametrize("make_loss,make_target", LOSSES)
def test_gradient_equals_finite_differences(make_loss, make_target):
    rng = np.random.default_rng(4)
    pred, target = 2 * rng.standard_normal((4, 3)), make_target(rng)
    loss = make_loss()
    loss(pred, target)
    numeric = numerical_jacobian(lambda p: make_loss()(p, target), pred).reshape(pred.shape)
    np.testing.assert_allclose(loss.backward(), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("make_loss,make_target", LOSSES)
def test_gradient_keeps_the_float32_of_pred(make_loss, make_target):
    loss = make_loss()
    loss(np.ones((2, 2), dtype=np.float32), np.zeros((2, 2)))
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("loss", [MSELoss(), BCEWithLogitsLoss()])
def test_shape_mismatch_is_refused_not_broadcast(loss):
    with pytest.raises(ValueError, match=r"target must have the shape of \w+ \(3,\), got \(3, 1\)"):
        loss(np.zeros(3), np.zeros((3, 1)))


@pytest.mark.parametrize("loss", [MSELoss(), BCEWithLogitsLoss()])
@pytest.mark.parametrize("which", ["pred", "target"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_refused_naming_the_argument(loss, which, bad):
    pred, target = np.zeros(3), np.zeros(3)
    (pred if which == "pred" else target)[1] = bad
    name = "target" if which == "target" else ("logits" if isinstance(loss, BCEWithLogitsLoss) else "pred")
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        loss(pred, target)


@pytest.mark.parametrize("loss", [MSELoss(), BCEWithLogitsLoss()])
def test_empty_input_is_refused(loss):
    with pytest.raises(ValueError, match="at least one element"):
        loss(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("target", [np.array([0.0, 1.5]), np.array([-0.1, 1.0])])
def test_bce_targets_outside_zero_one_are_refused(target):
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\]"):
        BCEWithLogitsLoss()(np.zeros(2), target)


@pytest.mark.parametrize("loss", [MSELoss(), BCEWithLogitsLoss()])
def test_backward_before_forward_is_an_error(loss):
    with pytest.raises(RuntimeError, match="before"):
        loss.backward()
