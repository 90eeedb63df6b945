"""Every layer against torch in float64: forward, input gradient, parameter gradients, buffers.

One line per case; the comparison itself lives in tests/torch_compare.py.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handnet as hn
from handnet.layers import BatchNorm1d, Dropout, GELU, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from tests.torch_compare import compare_with_torch, torch_dropout_with_our_masks, torch_twin

# (N, D, M): a batch of one, square, wide, narrow, tall.
SHAPES = [(1, 3, 4), (5, 5, 5), (4, 2, 9), (7, 9, 2), (64, 16, 8)]
BN_SHAPES = [(2, 3), (5, 5), (4, 9), (64, 7)]  # train mode needs N > 1


@pytest.mark.parametrize("n,d,m", SHAPES)
def test_linear_matches_torch_y_eq_x_Wt_plus_b(n, d, m):
    rng = np.random.default_rng(n * 100 + d)
    compare_with_torch(Linear(d, m, rng=rng), rng.standard_normal((n, d)), rng=rng)


@pytest.mark.parametrize("n,d,m", SHAPES)
def test_linear_without_bias_matches_torch(n, d, m):
    rng = np.random.default_rng(n + d + m)
    compare_with_torch(Linear(d, m, bias=False, rng=rng), rng.standard_normal((n, d)), rng=rng)


@pytest.mark.parametrize("layer", [ReLU, LeakyReLU, Sigmoid, Tanh, Softmax])
@pytest.mark.parametrize("shape", [(1, 4), (6, 3), (3, 10), (2, 3, 5)])
def test_activation_matches_torch(layer, shape):
    rng = np.random.default_rng(len(shape) * 7 + shape[-1])
    compare_with_torch(layer(), 3 * rng.standard_normal(shape), rng=rng)


@pytest.mark.parametrize("slope", [0.0, 0.2, -0.5, 1.5])
def test_leaky_relu_matches_torch_for_any_slope_and_takes_the_slope_a_at_exactly_zero(slope):
    rng = np.random.default_rng(int(10 * abs(slope)))
    x = 3 * rng.standard_normal((6, 5))
    x[::2, 1] = 0.0  # the kink: both libraries take the slope a there
    compare_with_torch(LeakyReLU(slope), x, rng=rng)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(1, 4), (6, 3), (2, 3, 5)])
def test_gelu_matches_torch_in_both_forms(approximate, shape):
    rng = np.random.default_rng(len(shape) + shape[-1])
    compare_with_torch(GELU(approximate), 3 * rng.standard_normal(shape), rng=rng)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_far_into_both_tails_and_at_zero(approximate):
    # Far left y and dx are tiny (x Φ(x) ≈ −4e-349 at −40 underflows) and far right y = x, dx = dout.
    x = np.array([[-40.0, -12.0, -6.0, -2.0, -1e-8, 0.0, 1e-8, 2.0, 6.0, 12.0, 40.0]])
    compare_with_torch(GELU(approximate), x, rng=np.random.default_rng(3))


@pytest.mark.parametrize("layer", [Sigmoid, Tanh, Softmax])
def test_saturating_activation_matches_torch_on_huge_inputs(layer):
    rng = np.random.default_rng(1)
    x = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    compare_with_torch(layer(), x, rng=rng)


def _layernorm(d, rng, **kwargs):
    """A LayerNorm with γ and β moved off 1 and 0 (β = 0 would make dβ the only test of dout's sum)."""
    ln = LayerNorm(d, **kwargs)
    if ln.elementwise_affine:
        ln.weight.data, ln.bias.data = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
    return ln


# (*, D): one row, a batch, leading axes, a single feature (x̂ = 0 and y = β), a 1-D input.
LN_SHAPES = [(1, 4), (6, 5), (2, 3, 7), (5, 1), (6,)]


@pytest.mark.parametrize("shape", LN_SHAPES)
@pytest.mark.parametrize("train", [True, False])
def test_layernorm_matches_torch_over_each_row_the_same_in_train_and_eval_mode(shape, train):
    rng = np.random.default_rng(len(shape) + shape[-1])
    compare_with_torch(_layernorm(shape[-1], rng).train(train), 2 + 3 * rng.standard_normal(shape), rng=rng, steps=2)


@pytest.mark.parametrize("kwargs", [dict(elementwise_affine=False), dict(eps=1e-2), dict(eps=1e-10)])
def test_layernorm_without_affine_or_with_another_eps_matches_torch(kwargs):
    rng = np.random.default_rng(5)
    compare_with_torch(_layernorm(6, rng, **kwargs), rng.standard_normal((4, 6)), rng=rng)


def test_mlp_with_layernorm_and_gelu_matches_torch():
    rng = np.random.default_rng(9)
    model = hn.Sequential(Linear(6, 8, rng=rng), _layernorm(8, rng), GELU(), Linear(8, 5, rng=rng),
                          LayerNorm((5,)), LeakyReLU(0.1), Linear(5, 3, rng=rng))
    compare_with_torch(model, rng.standard_normal((2, 7, 6)), rng=rng, steps=2)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.9])
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 5)])
def test_dropout_in_eval_mode_is_the_identity_as_torch(p, shape):
    rng = np.random.default_rng(len(shape))
    compare_with_torch(Dropout(p, rng=0).eval(), rng.standard_normal(shape), rng=rng, steps=2)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.9])
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 5)])
def test_dropout_in_train_mode_matches_torch_given_the_same_mask_at_every_step(p, shape):
    rng = np.random.default_rng(len(shape))
    layer = Dropout(p, rng=1)
    with torch_dropout_with_our_masks(layer):
        compare_with_torch(layer, rng.standard_normal(shape), rng=rng, steps=3)


def test_torch_dropout_is_x_times_keep_over_one_minus_p():
    # The form torch_dropout_with_our_masks gives torch's dropout, checked on torch's own: every
    # output is 0 or x/(1 − p), and about a fraction p are 0 (within 5 binomial standard deviations).
    p, n = 0.3, 20000
    x = torch.tensor(np.random.default_rng(0).uniform(1, 2, n))
    y = F.dropout(x, p, training=True)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / (1 - p), rtol=1e-15, atol=0)
    assert abs(1 - kept.double().mean().item() - p) <= 5 * np.sqrt(p * (1 - p) / n)


def test_dropout_draws_a_fresh_mask_at_every_forward_zeroing_a_fraction_p_and_keeping_the_mean():
    p, n = 0.3, 20000
    x = np.ones(n)
    layer = Dropout(p, rng=0)
    y1, y2 = layer(x), layer(x)
    assert not np.array_equal(y1, y2)
    for y in (y1, y2):
        assert set(np.unique(y)) == {0.0, 1 / (1 - p)}
        assert abs(np.mean(y == 0) - p) <= 5 * np.sqrt(p * (1 - p) / n)
        assert abs(y.mean() - 1) <= 5 * np.sqrt(p / (1 - p) / n)       # E[y] = x; Var m = p/(1 − p)
    np.testing.assert_array_equal(Dropout(p, rng=0)(x), y1)             # the same seed, the same masks


def test_dropout_backward_uses_the_mask_of_the_last_forward_whatever_the_mode_is_now():
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    layer = Dropout(0.5, rng=3)
    y = layer(x)
    layer.eval()
    np.testing.assert_array_equal(layer.backward(dout), np.where(y != 0, 2 * dout, 0.0))
    assert layer(x) is not None and np.array_equal(layer.backward(dout), dout)   # now an eval-mode forward


def test_mlp_with_two_dropouts_matches_torch_given_the_masks_in_train_mode_and_in_eval_mode():
    rng = np.random.default_rng(8)
    model = hn.Sequential(Linear(6, 8, rng=rng), ReLU(), Dropout(0.4, rng=rng), Linear(8, 5, rng=rng), Tanh(),
                          Dropout(0.2, rng=rng), Linear(5, 3, rng=rng))
    with torch_dropout_with_our_masks(model):
        compare_with_torch(model, rng.standard_normal((10, 6)), rng=rng, steps=3)
    model.eval()
    compare_with_torch(model, rng.standard_normal((4, 6)), rng=rng, steps=2)


@pytest.mark.parametrize("n,d", BN_SHAPES)
def test_batchnorm_train_mode_matches_torch_including_running_stats_over_steps(n, d):
    rng = np.random.default_rng(n * d)
    compare_with_torch(BatchNorm1d(d), 2 + 3 * rng.standard_normal((n, d)), rng=rng, steps=5)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 1.0, None])
def test_batchnorm_momentum_convention_matches_torch(momentum):
    rng = np.random.default_rng(3)
    compare_with_torch(BatchNorm1d(4, momentum=momentum), rng.standard_normal((6, 4)), rng=rng, steps=4)


@pytest.mark.parametrize("n,d", [(1, 3)] + BN_SHAPES)
def test_batchnorm_eval_mode_matches_torch_with_trained_running_stats(n, d):
    rng = np.random.default_rng(n + 10 * d)
    bn = BatchNorm1d(d)
    bn.weight.data = rng.uniform(0.5, 2.0, d)
    bn.bias.data = rng.standard_normal(d)
    for _ in range(3):  # move the running statistics away from (0, 1)
        bn(1 + 2 * rng.standard_normal((8, d)))
    bn.eval()
    compare_with_torch(bn, rng.standard_normal((n, d)), rng=rng, steps=2)


# (N, D, L): a batch of one with several positions, one position, square, long.
BN_NDL_SHAPES = [(1, 3, 6), (5, 4, 1), (4, 3, 4), (8, 2, 9)]


@pytest.mark.parametrize("shape", BN_NDL_SHAPES)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_on_N_D_L_matches_torch_over_N_and_L_including_running_stats_over_steps(shape, momentum):
    # torch's running variance is unbiased with the N·L values of each feature: N·L/(N·L − 1).
    rng = np.random.default_rng(sum(shape))
    bn = BatchNorm1d(shape[1], momentum=momentum)
    bn.weight.data, bn.bias.data = rng.uniform(0.5, 2.0, shape[1]), rng.standard_normal(shape[1])
    compare_with_torch(bn, 2 + 3 * rng.standard_normal(shape), rng=rng, steps=4)


@pytest.mark.parametrize("shape", [(1, 3, 1)] + BN_NDL_SHAPES)
def test_batchnorm_on_N_D_L_in_eval_mode_matches_torch_with_trained_running_stats(shape):
    rng = np.random.default_rng(sum(shape) + 1)
    bn = BatchNorm1d(shape[1])
    bn.weight.data, bn.bias.data = rng.uniform(0.5, 2.0, shape[1]), rng.standard_normal(shape[1])
    for _ in range(3):
        bn(1 + 2 * rng.standard_normal((6, shape[1], 5)))
    bn.eval()
    compare_with_torch(bn, rng.standard_normal(shape), rng=rng, steps=2)


def test_batchnorm_on_N_D_L_is_batchnorm_on_its_N_L_rows():
    # The reading the docstring gives: every position of every sample is a row of the batch.
    rng = np.random.default_rng(12)
    x, dout = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    as_rows = lambda a: a.transpose(0, 2, 1).reshape(-1, 3)                 # (N, D, L) -> (N·L, D)
    three, two = BatchNorm1d(3), BatchNorm1d(3)
    np.testing.assert_allclose(as_rows(three(x)), two(as_rows(x)), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(as_rows(three.backward(dout)), two.backward(as_rows(dout)), rtol=1e-13, atol=1e-14)
    for name, value in three.state_dict().items():
        np.testing.assert_allclose(value, two.state_dict()[name], rtol=1e-14, atol=1e-15)


def test_mlp_with_batchnorm_matches_torch_in_train_and_eval_mode():
    rng = np.random.default_rng(4)
    model = hn.Sequential(Linear(6, 8, rng=rng), BatchNorm1d(8), ReLU(), Linear(8, 5, rng=rng), Tanh(),
                          Linear(5, 3, rng=rng), Softmax())
    compare_with_torch(model, rng.standard_normal((10, 6)), rng=rng, steps=3)
    model.eval()
    compare_with_torch(model, rng.standard_normal((4, 6)), rng=rng, steps=2)


def test_bias_before_batchnorm_has_zero_gradient_in_both_libraries():
    # BatchNorm subtracts the batch mean, so a bias b added just before it cancels: y does not
    # depend on b and ∂L/∂b = Σₙ dxₙ = 0. Both libraries give rounding noise, far below the
    # size of the terms summed (the rows of BatchNorm's dx).
    rng = np.random.default_rng(6)
    model = hn.Sequential(Linear(3, 4, rng=rng), BatchNorm1d(4))
    twin = torch_twin(model)
    x = rng.standard_normal((8, 3))
    xt = torch.tensor(x, requires_grad=True)
    dout = rng.standard_normal((8, 4))
    model(x)
    model.backward(dout)
    twin(xt).backward(torch.as_tensor(dout))
    terms = model[1].backward(dout)  # the rows Σₙ adds up
    scale = np.abs(terms).max()
    assert np.abs(model[0].bias.grad).max() <= 1e-14 * scale * len(x)
    assert np.abs(twin[0].bias.grad.numpy()).max() <= 1e-14 * scale * len(x)


def test_batchnorm_built_in_float32_matches_torchs_float32_batchnorm_over_steps_and_in_eval_mode():
    rng = np.random.default_rng(13)
    ours, theirs = BatchNorm1d(5, dtype=np.float32), torch.nn.BatchNorm1d(5, dtype=torch.float32)
    for name in ("running_mean", "running_var"):
        assert getattr(ours, name).dtype == ours.weight.dtype == ours.bias.dtype == np.float32
    for step in range(4):
        if step == 3:
            ours.eval(), theirs.eval()
        x = (2 + 3 * rng.standard_normal((16, 5))).astype(np.float32)
        dout = rng.standard_normal((16, 5)).astype(np.float32)
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        yt.backward(torch.tensor(dout))
        y, dx = ours(x), ours.backward(dout)
        assert y.dtype == dx.dtype == ours.weight.grad.dtype == ours.running_var.dtype == np.float32
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-6)
        theirs.zero_grad()


def test_batchnorm_sums_a_float32_batch_in_float64():
    # Mean 1e4, spread 1: summed in float32 over 4096 rows, the mean would be off by a few
    # hundredths of σ, and so would x̂. In float64 only the rounding of μ to float32 is left.
    rng = np.random.default_rng(14)
    x = 1e4 + rng.standard_normal((4096, 2))
    y32 = BatchNorm1d(2, dtype=np.float32)(x.astype(np.float32))
    y64 = BatchNorm1d(2)(x.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(y32, y64, atol=2e-3)


@pytest.mark.parametrize("dtype, match", [(np.float16, "float32 or float64"), (np.int64, "floating type")])
def test_batchnorm_dtype_must_be_float32_or_float64(dtype, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm1d(3, dtype=dtype)


def test_a_float32_batchnorm_refuses_a_variance_its_running_var_cannot_hold():
    bn = BatchNorm1d(2, dtype=np.float32)
    x = np.array([[3e19, 0.0], [-3e19, 1.0]], np.float32)           # σ² ≈ 9e38 > float32's 3.4e38
    with pytest.raises(ValueError, match="feature 0 .* beyond the largest float32"):
        bn(x)
    np.testing.assert_array_equal(bn.running_var, [1.0, 1.0])
    assert int(bn.num_batches_tracked) == 0
    assert np.all(np.isfinite(BatchNorm1d(2)(x)))                    # float64 buffers hold it
