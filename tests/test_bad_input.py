"""Bad input gets a clear error that says what was expected and what arrived, never a silent answer."""

import numpy as np
import pytest

import handnet as hn
from handnet.layers import (BatchNorm1d, Dropout, GELU, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Softmax,
                            SoftmaxCrossEntropy, Tanh)
from handnet.losses import BCEWithLogitsLoss, MSELoss


def test_wrong_feature_count_names_layer_position_expected_and_got():
    model = hn.Sequential(Linear(4, 8), ReLU(), Linear(5, 2))
    with pytest.raises(ValueError) as info:
        model(np.zeros((3, 4)))
    message = str(info.value)
    assert "Sequential[2]" in message and "Linear" in message
    assert "(*, 5)" in message and "(3, 8)" in message


def test_wrong_feature_count_into_batchnorm_is_reported():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\) or \(N, 3, L\), got \(2, 4\)"):
        BatchNorm1d(3)(np.zeros((2, 4)))
    for shape in [(2, 4, 5), (3,), (2, 3, 4, 5)]:                  # the wrong axis 1, or too few or many axes
        with pytest.raises(ValueError, match=rf"got \({shape[0]},"):
            BatchNorm1d(3)(np.zeros(shape))


@pytest.mark.parametrize("layer", [Linear(2, 2), ReLU(), LeakyReLU(), GELU(), Sigmoid(), Tanh(), Softmax(),
                                   BatchNorm1d(2), LayerNorm(2), Dropout()])
def test_backward_before_forward_is_an_error(layer):
    with pytest.raises(RuntimeError, match="before"):
        layer.backward(np.zeros((3, 2)))


def test_loss_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before"):
        SoftmaxCrossEntropy().backward()


@pytest.mark.parametrize("layer", [Linear(2, 3), ReLU(), LeakyReLU(), GELU(), Sigmoid(), Tanh(), Softmax(),
                                   BatchNorm1d(2), LayerNorm(2), Dropout()])
def test_gradient_of_the_wrong_shape_is_an_error(layer):
    y = layer(np.ones((4, 2)) + np.arange(8).reshape(4, 2))
    with pytest.raises(ValueError, match="shape of the forward output"):
        layer.backward(np.zeros((y.shape[0] + 1, y.shape[1])))


def test_batchnorm_in_train_mode_refuses_a_batch_of_one_but_eval_mode_accepts_it():
    bn = BatchNorm1d(3)
    for shape in [(1, 3), (1, 3, 1)]:
        with pytest.raises(ValueError, match="more than one sample"):
            bn(np.zeros(shape))
    assert bn(np.arange(6.0).reshape(1, 3, 2)).shape == (1, 3, 2)   # one sample of two positions: two rows
    assert bn.eval()(np.zeros((1, 3))).shape == (1, 3)


@pytest.mark.parametrize("labels,match", [
    (np.array([0, 3]), r"\[0, 3\)"),            # out of range
    (np.array([-1, 0]), r"\[0, 3\)"),           # negative
    (np.array([0.0, 1.0]), "integers"),         # not integers
    (np.array([[0], [1]]), "shape"),            # wrong shape
    (np.array([0, 1, 2]), "shape"),             # wrong length
])
def test_bad_labels_are_rejected(labels, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), labels)


def test_probability_targets_must_be_probabilities():
    with pytest.raises(ValueError, match="sum to 1"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.full((2, 3), 0.5))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_logits_are_rejected(bad):
    z = np.zeros((2, 3))
    z[1, 2] = bad
    with pytest.raises(ValueError, match="finite"):
        SoftmaxCrossEntropy()(z, np.array([0, 1]))


def _probabilities(row: int, change) -> np.ndarray:
    T = np.full((4, 3), 1 / 3)
    change(T[row])
    return T


@pytest.mark.parametrize("loss, shape, target, message", [
    (SoftmaxCrossEntropy(), (4, 3), np.array([0, 1, 3, 2]), r"got 3 at row 2 \(1 labels lie outside\)"),
    (SoftmaxCrossEntropy(), (4, 3), _probabilities(1, lambda r: r.__imul__(0.9)), "row 1 sums to 0.9"),
    (SoftmaxCrossEntropy(), (4, 3), _probabilities(3, lambda r: r.__setitem__(0, -0.1)), "row 3 holds -0.1"),
    (SoftmaxCrossEntropy(), (4, 3), _probabilities(2, lambda r: r.__setitem__(1, np.nan)), "nan at row 2"),
    (MSELoss(), (4, 2), np.array([[0, 0], [0, 0], [0, 0], [0, np.inf]]), r"inf at row 3 \(index \(3, 1\)\)"),
    (BCEWithLogitsLoss(), (4, 1), np.array([[0.0], [1.0], [1.5], [0.5]]), "got 1.5 at row 2"),
])
def test_check_target_and_forward_refuse_a_bad_target_with_one_message_naming_its_row(loss, shape, target,
                                                                                        message):
    with pytest.raises(ValueError, match=message) as without_pred:
        loss.check_target(shape, target)
    with pytest.raises(ValueError) as in_forward:
        loss(np.zeros(shape), target)
    assert str(in_forward.value) == str(without_pred.value)    # one check serves both


def test_the_base_loss_accepts_every_target():
    assert hn.Loss().check_target((2, 3), None) is None


def test_non_numeric_input_is_rejected():
    with pytest.raises(ValueError, match="real numbers"):
        ReLU()(np.array(["a", "b"]))


@pytest.mark.parametrize("kwargs", [dict(in_features=0, out_features=2), dict(in_features=2, out_features=-1),
                                    dict(in_features=2.5, out_features=2)])
def test_linear_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="positive integer"):
        Linear(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(num_features=0), dict(num_features=2, eps=0),
                                    dict(num_features=2, momentum=1.5)])
def test_batchnorm_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        BatchNorm1d(**kwargs)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1"):
        hn.Sequential(Linear(2, 2), np.tanh)


@pytest.mark.parametrize("slope", [np.nan, np.inf, "0.1", None, True])
def test_leaky_relu_refuses_a_slope_that_is_not_a_finite_number(slope):
    with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a finite real number"):
        LeakyReLU(slope)


@pytest.mark.parametrize("approximate", ["exact", "Tanh", None, ""])
def test_gelu_refuses_an_approximation_torch_does_not_have_and_names_the_argument(approximate):
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh'"):
        GELU(approximate)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, np.nan, "0.5", None])
def test_dropout_refuses_a_probability_outside_0_to_1_and_names_p(p):
    with pytest.raises(ValueError, match=r"Dropout: p .* must be a finite number in \[0, 1\)"):
        Dropout(p)


def test_layernorm_refuses_an_input_whose_last_axis_is_not_normalized_shape():
    with pytest.raises(ValueError, match=r"LayerNorm\(normalized_shape=\(3,\)\): expected input of shape \(\*, 3\), "
                                         r"normalised over its last axis, got \(2, 4\)"):
        LayerNorm(3)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"got \(3, 2\)"):
        LayerNorm(3)(np.zeros((3, 2)))   # the right size on the wrong axis


@pytest.mark.parametrize("kwargs,match", [
    (dict(normalized_shape=(3, 4)), "normalized_shape must be an int D or a 1-tuple"),
    (dict(normalized_shape=()), "normalized_shape must be an int D or a 1-tuple"),
    (dict(normalized_shape=0), "normalized_shape must be a positive integer"),
    (dict(normalized_shape=2.5), "normalized_shape must be a positive integer"),
    (dict(normalized_shape=3, eps=0.0), "eps"),
    (dict(normalized_shape=3, elementwise_affine="yes"), "elementwise_affine"),
])
def test_layernorm_refuses_bad_arguments_and_names_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LayerNorm(**kwargs)
