"""Module and Sequential: names, state dicts loadable by torch, modes, dtypes, containers."""

import numpy as np
import pytest
import torch

import handnet as hn
from handnet.layers import BatchNorm1d, Dropout, GELU, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from tests.torch_compare import torch_twin


def _model(rng=None):
    rng = rng or np.random.default_rng(0)
    return hn.Sequential(Linear(64, 128, rng=rng), BatchNorm1d(128), ReLU(), Linear(128, 10, rng=rng))


def test_state_dict_keys_order_and_shapes_are_torchs():
    ours = _model().state_dict()
    theirs = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.BatchNorm1d(128), torch.nn.ReLU(),
                                 torch.nn.Linear(128, 10)).state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == tuple(theirs[k].shape) for k in ours)
    assert ours["1.num_batches_tracked"].dtype == np.int64


def test_named_parameters_match_torchs_names_and_shapes():
    ours = [(name, p.shape) for name, p in _model().named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch_twin(_model()).named_parameters()]
    assert ours == theirs


def test_torch_state_dict_loads_into_handnet_and_gives_torchs_outputs():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh()).double()
    net(torch.randn(8, 5))  # move the running statistics
    net.eval()
    ours = hn.Sequential(Linear(5, 4), BatchNorm1d(4), Tanh())
    ours.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
    ours.eval()
    x = np.random.default_rng(1).standard_normal((3, 5))
    np.testing.assert_allclose(ours(x), net(torch.as_tensor(x)).detach().numpy(), rtol=1e-12)


def test_load_state_dict_refuses_missing_extra_or_misshapen_keys_and_changes_nothing():
    model = _model()
    before = model.state_dict()
    good = _model(np.random.default_rng(1)).state_dict()
    missing = dict(good)
    del missing["3.bias"]
    extra = dict(good, **{"4.weight": np.zeros(3)})
    misshapen = dict(good, **{"3.weight": np.zeros((10, 127))})
    objects = dict(good, **{"0.bias": np.array([None] * 128, dtype=object)})
    complex_ = dict(good, **{"0.bias": np.ones(128, dtype=complex)})
    not_finite = dict(good, **{"1.running_var": np.full(128, np.nan)})
    fractional_count = dict(good, **{"1.num_batches_tracked": np.array(2.9)})
    for bad, error in [(missing, KeyError), (extra, KeyError), (misshapen, ValueError), (objects, ValueError),
                       (complex_, ValueError), (not_finite, ValueError), (fractional_count, ValueError)]:
        with pytest.raises(error):
            model.load_state_dict(bad)
        after = model.state_dict()
        assert all(np.array_equal(before[k], after[k]) for k in before)


def test_state_dict_is_a_copy():
    model = _model()
    state = model.state_dict()
    state["0.weight"][:] = 0
    assert np.any(model[0].weight.data != 0)


def test_train_and_eval_reach_every_child():
    model = hn.Sequential(Linear(2, 2), hn.Sequential(BatchNorm1d(2), ReLU()))
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_sequential_is_indexable_iterable_and_sized():
    layers = [Linear(3, 4), ReLU(), Linear(4, 2)]
    model = hn.Sequential(*layers)
    assert len(model) == 3 and model[1] is layers[1] and list(model) == layers
    assert list(model[1:]) == layers[1:]


def test_backward_writes_gradients_instead_of_accumulating():
    rng = np.random.default_rng(2)
    lin = Linear(3, 2, rng=rng)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    lin(x)
    lin.backward(dout)
    first = lin.weight.grad.copy()
    lin.backward(dout)
    np.testing.assert_array_equal(lin.weight.grad, first)
    np.testing.assert_allclose(first, dout.T @ x, rtol=1e-15)  # dW = doutᵀ x


def test_parameters_start_uniform_within_one_over_sqrt_fan_in_like_torch():
    w = Linear(400, 300, rng=np.random.default_rng(3)).weight.data
    bound = 1 / np.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound  # centred: the mean of 120,000 draws is within ~0.002·bound


@pytest.mark.parametrize("layer", [Linear(3, 3), ReLU(), LeakyReLU(), GELU(), GELU("tanh"), Sigmoid(), Tanh(),
                                   Softmax(), BatchNorm1d(3), LayerNorm(3), Dropout(0.3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_layer_keeps_the_input_float_dtype(layer, dtype):
    x = np.random.default_rng(4).standard_normal((4, 3)).astype(dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype


def test_float32_network_agrees_with_float64_to_float32_precision():
    rng = np.random.default_rng(5)
    model = hn.Sequential(Linear(4, 5, rng=rng), BatchNorm1d(5), Sigmoid(), Linear(5, 2, rng=rng))
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    y64 = model(x)
    dx64 = model.backward(dout)
    y32 = model(x.astype(np.float32))
    dx32 = model.backward(dout.astype(np.float32))
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-3, atol=1e-5)


def test_repr_reads_like_torchs():
    text = repr(hn.Sequential(Linear(2, 3), BatchNorm1d(3)))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): BatchNorm1d(3, eps=1e-05, momentum=0.1)" in text
    assert repr(LayerNorm(5)) == "LayerNorm((5,), eps=1e-05, elementwise_affine=True)"
    assert repr(GELU("tanh")) == "GELU(approximate='tanh')" and repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(Dropout(0.3)) == "Dropout(p=0.3)"   # torch adds inplace=False, which handnet has no use for


def test_relu_keeps_nan_as_torch_does_so_a_broken_network_is_not_hidden():
    x = np.array([[np.nan, -1.0, 2.0]])
    ours = ReLU()(x)
    theirs = torch.relu(torch.as_tensor(x)).numpy()
    np.testing.assert_array_equal(ours, theirs)  # NaN compares equal to NaN here
    assert np.isnan(ours[0, 0])


def test_linear_takes_an_int_seed_and_the_same_seed_gives_the_same_weights():
    a, b = Linear(3, 2, rng=7), Linear(3, 2, rng=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert np.abs(a.bias.data).max() <= 1 / np.sqrt(3)  # the bias too starts in (-1/√D, 1/√D)


# ---- one instance serves one place ---------------------------------------------------------
def test_a_layer_used_twice_is_refused_because_its_gradient_would_be_wrong():
    # Sequential(l, Tanh(), l) would differentiate only l's second use (gradcheck: analytic −0.04
    # against numeric 0.93 for 0.weight), so it is refused, with the cure in the message.
    lin = Linear(3, 3, rng=0)
    with pytest.raises(ValueError, match="make a second Linear"):
        hn.Sequential(lin, Tanh(), lin)


def test_a_layer_shared_with_a_nested_sequential_is_refused():
    tanh = Tanh()
    with pytest.raises(ValueError, match=r"'1\.0' and at '2'"):
        hn.Sequential(Linear(2, 2), hn.Sequential(tanh), tanh)


def test_a_parameter_shared_by_two_layers_is_refused():
    a, b = Linear(2, 2, rng=0), Linear(2, 2, rng=1)
    b.weight = a.weight
    with pytest.raises(ValueError, match="Parameter"):
        hn.Sequential(a, b)


def test_named_modules_walks_depth_first_with_prefixes_that_name_parameters():
    inner = hn.Sequential(Linear(2, 2), Tanh())
    model = hn.Sequential(Linear(2, 2), inner)
    assert [prefix for prefix, _ in model.named_modules()] == ["", "0.", "1.", "1.0.", "1.1."]
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.0.weight", "1.0.bias"]


def test_sequential_copies_its_input_so_a_reused_batch_buffer_does_not_change_dw():
    rng = np.random.default_rng(0)
    model, buffer = hn.Sequential(Linear(3, 2, rng=rng), Tanh()), rng.standard_normal((4, 3))
    dout = rng.standard_normal((4, 2))
    y = model(buffer)
    expected = (dout * (1 - y ** 2)).T @ buffer
    buffer[:] = rng.standard_normal((4, 3))      # the caller refills its batch array before backward
    model.backward(dout)
    np.testing.assert_array_equal(model[0].weight.grad, expected)


def test_caches_are_references_so_a_network_holds_one_array_per_linear_tanh_block():
    # Tanh's output is the next Linear's input: one buffer, not two (the memory ledger counts it once).
    rng = np.random.default_rng(1)
    model = hn.Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 2, rng=rng))
    model(rng.standard_normal((5, 3)))
    assert model[2].x is model[1].y


@pytest.mark.parametrize("data, match", [(None, "got None"), (np.array([1 + 2j]), "got dtype complex128"),
                                         (["a", "b"], "got dtype <U1"), ([1.0, None], "got dtype object")])
def test_a_parameter_of_anything_but_real_numbers_is_refused(data, match):
    # None used to become NaN, and complex lost its imaginary part with only a ComplexWarning.
    with pytest.raises(ValueError, match=f"Parameter: data must be an array of real numbers, {match}"):
        hn.Parameter(data)


def test_load_state_dict_of_something_not_a_dict_says_what_it_wants():
    with pytest.raises(TypeError, match=r"state must be a dict of arrays keyed like state_dict\(\).*got NoneType"):
        _model().load_state_dict(None)


# ---- backward_parameters: the same .grad as backward, without dx --------------------------------
def _grads(model) -> dict[str, np.ndarray]:
    return {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("make", [
    lambda rng: Linear(4, 3, rng=rng), lambda rng: BatchNorm1d(4), lambda rng: LayerNorm(4),
    lambda rng: hn.Sequential(Linear(4, 5, rng=rng), BatchNorm1d(5), Tanh(), Linear(5, 3, rng=rng)),
    lambda rng: hn.Sequential(Dropout(0.0), ReLU(), Linear(4, 3, rng=rng)),
    lambda rng: hn.Sequential(hn.Sequential(ReLU(), Linear(4, 5, rng=rng)), GELU(), Linear(5, 3, rng=rng)),
    lambda rng: hn.checkpoint_sequential(hn.Sequential(Linear(4, 5, rng=rng), Tanh(), Linear(5, 5, rng=rng),
                                                       Sigmoid(), Linear(5, 3, rng=rng)), segments=2),
], ids=["Linear", "BatchNorm1d", "LayerNorm", "mlp", "parameterless_first", "nested", "checkpointed"])
def test_backward_parameters_writes_exactly_the_gradients_backward_writes_and_returns_none(make):
    rng = np.random.default_rng(6)
    model = make(rng)
    x = rng.standard_normal((6, 4))
    dout = rng.standard_normal(model(x).shape)
    model.backward(dout)
    expected = _grads(model)
    for p in model.parameters():
        p.grad = None
    model(x)
    assert model.backward_parameters(dout) is None
    got = _grads(model)
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_sequential_backward_parameters_stops_at_the_first_layer_holding_parameters():
    calls = []

    class Spy(ReLU):
        def backward(self, dout):
            calls.append("backward")
            return super().backward(dout)

    class SpyLinear(Linear):
        def backward(self, dout):
            calls.append("Linear.backward")
            return super().backward(dout)

    rng = np.random.default_rng(7)
    model = hn.Sequential(Spy(), SpyLinear(3, 4, rng=rng), Spy(), SpyLinear(4, 2, rng=rng))
    model(rng.standard_normal((5, 3)))
    model.backward_parameters(rng.standard_normal((5, 2)))
    # the last Linear and the ReLU before it run backward; the first Linear writes dW and db only,
    # and the ReLU in front of it, with nothing to write, is not reached
    assert calls == ["Linear.backward", "backward"]
    assert model[1].weight.grad is not None


def test_backward_parameters_of_a_chain_without_parameters_does_nothing():
    model = hn.Sequential(ReLU(), Tanh())
    model(np.ones((2, 3)))
    assert model.backward_parameters(np.ones((2, 3))) is None
