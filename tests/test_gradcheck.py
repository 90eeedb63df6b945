"""gradcheck and jacobian: every layer passes, and a deliberately wrong backward is caught."""

import numpy as np
import pytest

import handnet as hn
from handnet.layers import (BatchNorm1d, Dropout, GELU, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Softmax,
                            SoftmaxCrossEntropy, Tanh)


class _OneMaskDropout(Dropout):
    """Dropout that draws the same mask at every forward: its generator is reseeded each time.

    gradcheck runs the forward many times, and a fresh mask each time would make every probe a
    different function. With the mask fixed it checks the derivatives given the mask, which is
    what backward, jvp and the second-order rule claim.
    """

    def forward(self, x):
        self.rng = np.random.default_rng(0)
        return super().forward(x)


def _layers(rng):
    return {
        "Linear": Linear(4, 3, rng=rng),
        "Linear(bias=False)": Linear(4, 3, bias=False, rng=rng),
        "ReLU": ReLU(),
        "LeakyReLU": LeakyReLU(0.1),
        "GELU": GELU(),
        "GELU(tanh)": GELU("tanh"),
        "Sigmoid": Sigmoid(),
        "Tanh": Tanh(),
        "Softmax": Softmax(),
        "BatchNorm1d(train)": BatchNorm1d(4),
        "BatchNorm1d(eval)": BatchNorm1d(4).eval(),
        "LayerNorm": LayerNorm(4),
        "LayerNorm(no affine)": LayerNorm(4, elementwise_affine=False),
        "Dropout(train)": _OneMaskDropout(0.3),
        "Dropout(eval)": Dropout(0.3).eval(),
    }


@pytest.mark.parametrize("name", list(_layers(np.random.default_rng(0))))
@pytest.mark.parametrize("fast", [False, True])
def test_every_layer_passes_gradcheck(name, fast):
    rng = np.random.default_rng(1)
    layer = _layers(rng)[name]
    x = rng.standard_normal((5, 4))
    if name in ("ReLU", "LeakyReLU"):
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink, where the derivative does not exist
    assert hn.gradcheck(layer, x, fast=fast, rng=rng)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_on_N_D_L_passes_gradcheck(train):
    rng = np.random.default_rng(13)
    bn = BatchNorm1d(3)
    bn.weight.data, bn.bias.data = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    assert hn.gradcheck(bn.train(train), rng.standard_normal((2, 3, 4)), rng=rng)


def test_gradcheck_passes_on_a_whole_network():
    rng = np.random.default_rng(2)
    model = hn.Sequential(Linear(5, 6, rng=rng), BatchNorm1d(6), Tanh(), Linear(6, 3, rng=rng), Softmax())
    assert hn.gradcheck(model, rng.standard_normal((7, 5)), rng=rng)


class _InputGradOnePercentOff(Tanh):
    def backward(self, dout):
        return 1.01 * super().backward(dout)


class _WrongBiasGradient(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.bias.grad = dout.mean(axis=0)  # should be the sum over the batch
        return dx


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_catches_an_input_gradient_one_percent_off(fast):
    rng = np.random.default_rng(3)
    with pytest.raises(hn.GradcheckError, match="input"):
        hn.gradcheck(_InputGradOnePercentOff(), rng.standard_normal((4, 3)), fast=fast, rng=rng)


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_catches_a_wrong_bias_gradient_and_names_it(fast):
    rng = np.random.default_rng(4)
    with pytest.raises(hn.GradcheckError, match="bias"):
        hn.gradcheck(_WrongBiasGradient(3, 2, rng=rng), rng.standard_normal((6, 3)), fast=fast, rng=rng)


class _OneEntryWrong(Tanh):
    def backward(self, dout):
        dx = super().backward(dout)
        dx[2, 1] += 0.5  # the only wrong entry, and so the worst
        return dx


def test_gradcheck_error_names_the_worst_index_and_its_analytic_and_numeric_values():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    with pytest.raises(hn.GradcheckError) as info:
        hn.gradcheck(_OneEntryWrong(), x, rng=np.random.default_rng(0))
    message = str(info.value)
    assert "input" in message and "index (2, 1)" in message
    v = np.random.default_rng(0).standard_normal((4, 3))   # gradcheck's upstream gradient for this rng
    true = v[2, 1] * (1 - np.tanh(x[2, 1]) ** 2)
    analytic = float(message.split("analytic ")[1].split(",")[0])
    numeric = float(message.split("numeric ")[1])
    assert analytic == pytest.approx(true + 0.5, rel=1e-11)  # printed to 12 digits
    assert numeric == pytest.approx(true, rel=1e-6)


def test_gradcheck_says_when_backward_writes_no_parameter_gradient():
    class _ForgetsBias(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.bias.grad = None
            return dx

    with pytest.raises(hn.GradcheckError, match="did not write bias.grad"):
        hn.gradcheck(_ForgetsBias(2, 2, rng=0), np.ones((3, 2)))


@pytest.mark.parametrize("check", [hn.gradcheck, hn.jacobian])
def test_gradcheck_and_jacobian_leave_the_forward_cache_of_the_last_call(check):
    # forward(x1), then a check on x2, then backward: the gradients must be those at x1.
    rng = np.random.default_rng(11)
    model = hn.Sequential(Linear(3, 4, rng=rng), BatchNorm1d(4), Tanh())
    x1, x2, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    model(x1)
    expected_dx = model.backward(dout)
    expected_dW = model[0].weight.grad.copy()
    model(x1)
    check(model, x2)
    np.testing.assert_array_equal(model.backward(dout), expected_dx)
    np.testing.assert_array_equal(model[0].weight.grad, expected_dW)


def test_gradcheck_accepts_a_function_and_its_vjp():
    # f(x) = x³ elementwise, f'(x) = 3x²; and a wrong derivative 3x is rejected.
    x = np.random.default_rng(6).standard_normal((3, 2))
    assert hn.gradcheck((lambda x: x ** 3, lambda x, dout: dout * 3 * x ** 2), x)
    with pytest.raises(hn.GradcheckError):
        hn.gradcheck((lambda x: x ** 3, lambda x, dout: dout * 3 * x), x)


def test_gradcheck_leaves_parameters_grads_and_running_stats_as_they_were():
    rng = np.random.default_rng(7)
    model = hn.Sequential(Linear(3, 4, rng=rng, dtype=np.float32), BatchNorm1d(4))
    before = model.state_dict()
    hn.gradcheck(model, rng.standard_normal((5, 3)))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) and before[k].dtype == after[k].dtype for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_softmax_jacobian_is_diag_sigma_minus_sigma_sigma_transpose():
    z = np.array([[0.5, -1.0, 2.0]])
    s = np.exp(z[0]) / np.exp(z[0]).sum()
    expected = np.diag(s) - np.outer(s, s)  # ∂σᵢ/∂zⱼ = σᵢ(δᵢⱼ − σⱼ)
    np.testing.assert_allclose(hn.jacobian(Softmax(), z), expected, rtol=1e-12, atol=1e-15)


def test_reverse_mode_jacobian_equals_numerical_jacobian_for_a_network():
    rng = np.random.default_rng(8)
    model = hn.Sequential(Linear(3, 4, rng=rng), Sigmoid(), Linear(4, 2, rng=rng))
    x = rng.standard_normal((2, 3))
    J = hn.jacobian(model, x)
    assert J.shape == (2 * 2, 2 * 3)
    np.testing.assert_allclose(J, hn.numerical_jacobian(model.forward, x), rtol=1e-6, atol=1e-9)


def test_linear_jacobian_wrt_one_row_is_the_weight_matrix():
    # y = x Wᵀ + b for a single row x, so ∂y/∂x = W exactly.
    rng = np.random.default_rng(9)
    lin = Linear(4, 3, rng=rng)
    np.testing.assert_allclose(hn.jacobian(lin, rng.standard_normal(4)), lin.weight.data, rtol=1e-15)


def test_softmax_cross_entropy_gradient_passes_finite_differences():
    rng = np.random.default_rng(10)
    y = rng.integers(0, 4, 6)
    ce = SoftmaxCrossEntropy()

    def vjp(z, dout):
        ce(z, y)
        return dout * ce.backward()

    assert hn.gradcheck((lambda z: ce(z, y), vjp), rng.standard_normal((6, 4)))


# ---- gradcheck never vouches for a wrong gradient ---------------------------------------------
class _NaNBackward(Tanh):
    def backward(self, dout):
        return np.full_like(super().backward(dout), np.nan)


class _ZeroWeightGradient(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.weight.grad = np.zeros_like(self.weight.grad)
        return dx


@pytest.mark.parametrize("fast", [False, True])
def test_a_nan_gradient_is_a_failure_that_names_the_tensor(fast):
    with pytest.raises(hn.GradcheckError, match="input"):
        hn.gradcheck(_NaNBackward(), np.random.default_rng(0).standard_normal((3, 2)), fast=fast)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_an_input_holding_nan_or_inf_is_refused_up_front(bad):
    x = np.random.default_rng(0).standard_normal((3, 2))
    x[1, 1] = bad
    with pytest.raises(ValueError, match="finite"):
        hn.gradcheck(_NaNBackward(), x)


def test_a_parameter_holding_nan_is_refused_up_front():
    layer = Linear(2, 2, rng=0)
    layer.weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match="weight"):
        hn.gradcheck(layer, np.ones((3, 2)))


@pytest.mark.parametrize("kwargs", [dict(eps=0.0), dict(eps=-1e-6), dict(eps=np.nan), dict(eps="1e-6"),
                                    dict(atol=np.nan), dict(atol=-1e-5), dict(rtol=np.inf), dict(rtol=-1.0)])
def test_eps_and_tolerances_out_of_range_are_refused_and_named(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        hn.gradcheck(Tanh(), np.ones((2, 2)), **kwargs)


def test_a_plain_function_is_refused_with_a_message_saying_what_to_pass():
    with pytest.raises(TypeError, match="pair"):
        hn.gradcheck(np.tanh, np.ones(3))
    with pytest.raises(TypeError, match="pair"):
        hn.jacobian(np.tanh, np.ones(3))


@pytest.mark.parametrize("fast", [False, True])
def test_fortran_ordered_input_and_weights_are_perturbed_where_the_forward_reads_them(fast):
    # reshape(-1) of a Fortran-ordered array is a copy: a probe written through it would never
    # reach the forward. A correct backward must pass and a zeroed dW must fail, in any layout.
    rng = np.random.default_rng(12)
    x = np.asfortranarray(rng.standard_normal((5, 4)))
    good, bad = Linear(4, 3, rng=1), _ZeroWeightGradient(4, 3, rng=1)
    for layer in (good, bad):
        layer.weight.data = np.asfortranarray(layer.weight.data)
    assert hn.gradcheck(good, x, fast=fast, rng=rng)
    with pytest.raises(hn.GradcheckError, match="weight"):
        hn.gradcheck(bad, x, fast=fast, rng=rng)


def test_numerical_jacobian_of_a_fortran_ordered_input_is_the_linear_map_itself():
    A = np.random.default_rng(13).standard_normal((3, 4))
    x = np.asfortranarray(np.random.default_rng(14).standard_normal((4, 2)))
    J = hn.numerical_jacobian(lambda t: A @ t, x)   # vec(A X) = (A ⊗ I) vec(X) in C order
    np.testing.assert_allclose(J, np.kron(A, np.eye(2)), atol=1e-8)


# ---- the toolbox ------------------------------------------------------------------------------
def test_numerical_gradient_of_a_quadratic_form_is_A_plus_A_transpose_times_x():
    rng = np.random.default_rng(15)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(hn.numerical_gradient(lambda t: t @ A @ t, x), (A + A.T) @ x, rtol=1e-7)


def test_numerical_gradient_keeps_the_shape_of_x():
    X = np.random.default_rng(16).standard_normal((2, 3))
    np.testing.assert_allclose(hn.numerical_gradient(lambda t: np.sum(t ** 2), X), 2 * X, rtol=1e-8)


def test_relative_error_is_max_difference_over_max_reference():
    assert hn.relative_error([1.0, 2.0], [1.0, 4.0]) == pytest.approx(0.5)
    assert hn.relative_error([0.0, 1e-3], [0.0, 0.0]) == pytest.approx(1e-3)   # absolute when all zero
    with pytest.raises(ValueError, match="shapes"):
        hn.relative_error(np.ones(2), np.ones(3))
