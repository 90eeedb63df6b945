"""Finite inputs give finite, right answers: huge logits, huge spreads in BatchNorm, losses that
accumulate beyond their input's dtype; and float16, which handnet refuses rather than half-supports."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handnet as hn
from handnet.layers import BatchNorm1d, Linear, ReLU, Sigmoid, Softmax, SoftmaxCrossEntropy, Tanh
from handnet.losses import BCEWithLogitsLoss, LeastSquares, MSELoss


# ---- softmax and cross-entropy ----------------------------------------------------------------
@pytest.mark.parametrize("dtype, big", [(np.float64, 1e308), (np.float32, 3e38)])
@pytest.mark.parametrize("target", ["labels", "probabilities"])
def test_ce_of_logits_whose_spread_overflows_is_torchs_zero_not_nan(dtype, big, target):
    # z − max(z) = −2·big rounds to −inf: p = 0 there, and the class's target 0 adds exactly 0.
    # (torch gives 0 for labels, and NaN for the same targets given as probabilities.)
    z = np.array([[big, -big, 0.0], [0.0, big, -big]], dtype=dtype)
    t = np.array([0, 1]) if target == "labels" else np.array([[1.0, 0, 0], [0, 1.0, 0]])
    ce = SoftmaxCrossEntropy()
    assert ce(z, t) == 0.0
    if target == "labels":
        assert F.cross_entropy(torch.tensor(z), torch.tensor(t)).item() == 0.0
    np.testing.assert_array_equal(ce.backward(), np.zeros((2, 3)))


def test_softmax_of_minus_inf_beside_a_finite_maximum_is_exactly_zero():
    np.testing.assert_array_equal(Softmax()(np.array([[-np.inf, 0.0, -np.inf]])), [[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("x, match", [
    (np.zeros((2, 0)), r"must not be empty, got shape \(2, 0\)"),
    (np.array([[0.0, 1.0], [np.inf, 0.0]]), "row 1 has maximum inf"),
    (np.array([[np.nan, 0.0]]), "row 0 has maximum nan"),
    (np.array([[-np.inf, -np.inf]]), "row 0 has maximum -inf"),
])
def test_softmax_without_an_answer_is_a_clear_error_not_numpys(x, match):
    with pytest.raises(ValueError, match=f"softmax: .*{match}"):
        Softmax()(x)


# ---- BatchNorm1d ------------------------------------------------------------------------------
def _torch_batchnorm(x: np.ndarray, scale: float, eps: float) -> np.ndarray:
    """torch's train-mode output on x/scale with ε/scale²: the same numbers, without the overflow."""
    x = torch.tensor(x.astype(np.float64) / scale)
    return F.batch_norm(x, None, None, training=True, eps=eps / scale**2).numpy()


@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e154), (np.float32, 1e30)])
def test_batchnorm_normalises_a_feature_whose_squares_overflow(dtype, scale):
    # float64 squares overflow past 1.3e154 and float32 ones past 1.8e19: the textbook variance is
    # inf and x̂ = 0. The running variance (scale² of about 1) must fit, and the gradient be finite.
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 3)) * scale).astype(dtype)
    bn = BatchNorm1d(3)
    y = bn(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, _torch_batchnorm(x, scale, bn.eps), atol=1e-5 if dtype == np.float32 else 1e-12)
    unbiased = (x.astype(np.float64) / scale).var(axis=0, ddof=1) * scale**2 if dtype == np.float32 else None
    if unbiased is not None:                      # float32's variance fits the float64 running_var
        np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * unbiased, rtol=1e-6)
    assert np.all(np.isfinite(bn.running_var)) and np.all(np.isfinite(bn.backward(rng.standard_normal((64, 3)))))


def test_batchnorm_refuses_a_batch_whose_variance_no_float64_holds_and_keeps_its_statistics():
    bn = BatchNorm1d(2)
    x = np.array([[1e155, 0.0], [-1e155, 1.0]])
    with pytest.raises(ValueError, match=r"feature 0 .* beyond the largest float64 .* reach 1e\+155"):
        bn(x)
    np.testing.assert_array_equal(bn.running_var, [1.0, 1.0])
    assert int(bn.num_batches_tracked) == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_batchnorm_refuses_a_non_finite_batch_in_train_mode_before_its_statistics_move(bad):
    bn = BatchNorm1d(2)
    x = np.array([[0.0, 1.0], [bad, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=f"input in train mode must be finite, found {bad} at index \\(1, 0\\)"):
        bn(x)
    np.testing.assert_array_equal(bn.running_mean, [0.0, 0.0])
    np.testing.assert_array_equal(bn.running_var, [1.0, 1.0])
    assert int(bn.num_batches_tracked) == 0
    assert not np.isfinite(bn.eval()(x)[1, 0])   # in eval mode nothing moves: it flows through, as in torch


# ---- losses accumulate beyond their input's dtype -----------------------------------------------
def test_mse_of_a_float32_residual_whose_square_overflows_float32_is_finite():
    pred = np.array([1e20, 0.0], dtype=np.float32)
    assert MSELoss()(pred, np.zeros(2, dtype=np.float32)) == pytest.approx(float(np.float32(1e20)) ** 2 / 2,
                                                                          rel=1e-12)


def test_bce_of_float32_logits_whose_sum_overflows_float32_is_finite():
    z = np.full(4, 3e38, dtype=np.float32)          # each term is z = 3e38 (target 0); their sum is not a float32
    assert BCEWithLogitsLoss()(z, np.zeros(4)) == pytest.approx(float(np.float32(3e38)), rel=1e-12)


# ---- float16 is refused, everywhere, naming the dtypes that work ---------------------------------
HALF = np.ones((4, 3), dtype=np.float16)


@pytest.mark.parametrize("call", [
    lambda: Linear(3, 2)(HALF), lambda: ReLU()(HALF), lambda: Sigmoid()(HALF), lambda: Tanh()(HALF),
    lambda: Softmax()(HALF), lambda: BatchNorm1d(3)(HALF), lambda: BatchNorm1d(3).eval()(HALF),
    lambda: MSELoss()(HALF, np.ones((4, 3))), lambda: MSELoss()(np.ones((4, 3)), HALF),
    lambda: BCEWithLogitsLoss()(HALF, np.ones((4, 3))), lambda: SoftmaxCrossEntropy()(HALF, np.zeros(4, int)),
    lambda: SoftmaxCrossEntropy()(np.zeros((4, 3)), HALF / 3),
    lambda: hn.Parameter(HALF), lambda: Linear(3, 2, dtype=np.float16),
    lambda: hn.predict(hn.Sequential(Linear(3, 2)), HALF),
], ids=["Linear", "ReLU", "Sigmoid", "Tanh", "Softmax", "BatchNorm1d", "BatchNorm1d_eval", "MSE_pred", "MSE_target",
        "BCE", "CE_logits", "CE_target", "Parameter", "Linear_dtype", "predict"])
def test_float16_is_refused_naming_float32_and_float64(call):
    with pytest.raises(ValueError, match="float16; handnet computes in float32 or float64 only"):
        call()


def test_objectives_compute_float16_data_exactly_in_float64():
    # Objectives convert their data to float64, exactly for float16, so they accept it.
    X, y = np.arange(6.0).reshape(3, 2), np.array([1.0, 0.0, 2.0])
    half = LeastSquares(X.astype(np.float16), y.astype(np.float16))
    assert half.X.dtype == np.float64 and half.value(np.ones(2)) == LeastSquares(X, y).value(np.ones(2))


def test_backward_refuses_a_float16_gradient():
    layer = Tanh()
    layer(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="gradient has dtype float16"):
        layer.backward(np.ones((2, 2), dtype=np.float16))


@pytest.mark.parametrize("values, finite", [
    (np.array([1e200, -1e200, 3.0]), True),               # a·a overflows; the entries are finite
    (np.array([1e30, 2.0], np.float32), True),
    (np.array([0.0, np.nan]), False), (np.array([np.inf, 1.0]), False), (np.array([-np.inf], np.float32), False),
    (np.array([[1.0, 2.0], [3.0, 4.0]])[:, 0], True),     # not contiguous
    (np.array([[1.0, 2.0], [np.inf, 4.0]])[:, 0], False),
    (np.asfortranarray([[1.0, 2.0], [3.0, np.nan]]), False), (np.asfortranarray([[1e200, 2.0], [3.0, 4.0]]), True),
    (np.array([1.0, np.inf]).astype(">f8"), False), (np.arange(4.0)[::-1], True),   # byte-swapped, reversed
    (np.arange(5), True), (2.5, True), (float("nan"), False), (np.zeros(0), True),
])
def test_all_finite_is_the_entrywise_test_even_where_the_sum_of_squares_overflows(values, finite):
    from handnet._checks import all_finite
    assert all_finite(values) is finite


@pytest.mark.parametrize("order", ["C", "F"])
def test_all_finite_reads_data_of_either_order_without_copying_it(order):
    import tracemalloc
    from handnet._checks import all_finite
    X = np.ones((400, 300), order=order)                     # 960 kB
    tracemalloc.start()
    try:
        assert all_finite(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 100, f"{peak} bytes allocated to check {X.nbytes} bytes"
