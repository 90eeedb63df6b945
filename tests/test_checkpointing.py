"""Gradient checkpointing: a checkpointed model computes the plain model's loss, gradients, tangents and
curvature, moves BatchNorm's statistics once per step (as torch's plain model does), replays random
masks, keeps the plain model's names, and holds less memory."""

import copy
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import handnet as hn
import handnet.layers
from handnet.layers import BatchNorm1d, Linear, ReLU, Sigmoid, Tanh
from handnet.losses import MSELoss
from handnet.memory import cached_arrays
from handnet.optim import SGD
from tests.test_memory import every_exported_layer
from tests.torch_compare import torch_twin

TOL = 1e-15   # relative; the recompute runs the same arithmetic on the same arrays, so in practice 0


def rel(ours, plain) -> float:
    ours, plain = np.asarray(ours, dtype=np.float64), np.asarray(plain, dtype=np.float64)
    assert ours.shape == plain.shape
    diff = float(np.max(np.abs(ours - plain), initial=0.0))
    scale = float(np.max(np.abs(plain), initial=0.0))
    return diff / scale if scale > 0 else diff


class CoinDropout(hn.Module):
    """A stand-in for Dropout: in train mode keep each entry with probability 1 − p, scaled by 1/(1 − p),
    by a mask drawn from the Generator ``self.rng``; in eval mode the identity."""

    def __init__(self, p: float = 0.5, rng: int = 0) -> None:
        super().__init__()
        self.p, self.rng, self.mask = p, np.random.default_rng(rng), None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        keep = self.rng.random(x.shape) >= self.p if self.training else np.ones(x.shape, dtype=bool)
        self.mask = keep / (1 - self.p) if self.training else keep.astype(np.float64)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask

    def jvp(self, dx=None, tangents=None):
        return (np.zeros_like(self.mask) if dx is None else dx) * self.mask

    def backward_tangent(self, dout, dout_dot, dx=None, tangents=None):
        return dout_dot * self.mask, {}


def _model(rng) -> hn.Sequential:
    """Every exported layer, a BatchNorm1d with momentum=None, and the stand-in Dropout: (N, 3) -> (N, 2)."""
    return hn.Sequential(every_exported_layer(rng), CoinDropout(0.3, rng=1), Linear(3, 3, rng=rng),
                         BatchNorm1d(3, momentum=None), Tanh(), Linear(3, 2, rng=rng))


WRAPPINGS = {
    "Checkpoint(model)": hn.Checkpoint,
    "segments=2": lambda m: hn.checkpoint_sequential(m, 2),
    "segments=4": lambda m: hn.checkpoint_sequential(m, 4),
    "every layer a segment": lambda m: hn.checkpoint_sequential(m, len(m)),
    "Checkpoints inside": lambda m: hn.Sequential(hn.Checkpoint(m[0]), *m.layers[1:3], hn.Checkpoint(m[3]),
                                                  *m.layers[4:]),
    "nested": lambda m: hn.Checkpoint(hn.checkpoint_sequential(m, 3)),
}


def _pair(wrap, seed=0):
    """The plain model and a checkpointed deep copy of it: same weights, buffers and generator states."""
    plain = _model(np.random.default_rng(seed))
    return plain, WRAPPINGS[wrap](copy.deepcopy(plain))


def _step(model, x, target):
    loss_fn = MSELoss()
    loss = loss_fn(model(x), target)
    dx = model.backward(loss_fn.backward())
    return loss, dx, {name: p.grad for name, p in model.named_parameters()}


# ---- names ----------------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", WRAPPINGS)
def test_wrapping_changes_no_parameter_name_state_dict_key_or_value(wrap):
    plain, ours = _pair(wrap)
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in plain.named_parameters()]
    assert list(ours.state_dict()) == list(plain.state_dict())
    assert all(np.array_equal(ours.state_dict()[k], v) for k, v in plain.state_dict().items())


def test_checkpoint_of_one_layer_names_its_parameters_as_the_layer_does():
    layer = Linear(3, 2, rng=0)
    assert [name for name, _ in hn.Checkpoint(layer).named_parameters()] == ["weight", "bias"]
    wrapped = hn.Sequential(Tanh(), hn.Checkpoint(layer))
    assert list(wrapped.state_dict()) == ["1.weight", "1.bias"]
    assert wrapped.parameters()[0] is layer.weight


def test_checkpoint_sequential_holds_the_same_layers_under_the_same_names():
    seq = hn.Sequential(*[Linear(3, 3, rng=i) for i in range(7)])
    ours = hn.checkpoint_sequential(seq, 3)
    assert ours.bounds == [(0, 3), (3, 5), (5, 7)]
    assert list(ours) == list(seq) and ours[4] is seq[4] and len(ours) == 7
    assert [p for p in ours.parameters()] == [p for p in seq.parameters()]
    assert "# segments 0–2, 3–4, 5–6; all but the last checkpointed" in repr(ours)


def test_a_saved_checkpointed_model_loads_into_the_plain_model_and_into_torch(tmp_path):
    def plain_model(seed):
        rng = np.random.default_rng(seed)
        return hn.Sequential(Linear(3, 4, rng=rng), BatchNorm1d(4), Tanh(), Linear(4, 4, rng=rng), ReLU(),
                             Linear(4, 2, rng=rng))

    ours = hn.checkpoint_sequential(plain_model(0), 3)
    rng = np.random.default_rng(1)
    _step(ours, rng.standard_normal((6, 3)), rng.standard_normal((6, 2)))   # move its running statistics
    hn.save(ours, tmp_path / "ckpt.npz")
    plain = plain_model(1)
    hn.load(plain, tmp_path / "ckpt.npz")
    assert all(np.array_equal(plain.state_dict()[k], v) for k, v in ours.state_dict().items())
    twin = torch_twin(plain_model(2)).eval()
    twin.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()}, strict=True)
    x = rng.standard_normal((5, 3))
    assert rel(twin(torch.as_tensor(x)).detach().numpy(), ours.eval()(x)) <= 1e-12


# ---- the same numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("wrap", WRAPPINGS)
def test_loss_input_gradient_and_every_parameter_gradient_equal_the_plain_models(wrap, train):
    plain, ours = _pair(wrap)
    plain.train(train), ours.train(train)
    rng = np.random.default_rng(2)
    for _ in range(2):                       # two steps: the second starts from moved statistics and generators
        x, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
        loss_p, dx_p, grads_p = _step(plain, x, target)
        loss_c, dx_c, grads_c = _step(ours, x, target)
        assert rel(loss_c, loss_p) <= TOL and rel(dx_c, dx_p) <= TOL
        assert list(grads_c) == list(grads_p)
        assert max(rel(grads_c[k], grads_p[k]) for k in grads_p) <= TOL
        assert all(np.array_equal(ours.state_dict()[k], v) for k, v in plain.state_dict().items())


@pytest.mark.parametrize("wrap", WRAPPINGS)
def test_jvp_hvp_and_hessian_equal_the_plain_models(wrap):
    plain, ours = _pair(wrap)
    rng = np.random.default_rng(3)
    x, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    tangents = {name: rng.standard_normal(p.shape) for name, p in plain.named_parameters()}
    dx = rng.standard_normal(x.shape)
    assert rel(hn.jvp(ours, x, dx, tangents)[1], hn.jvp(plain, x, dx, tangents)[1]) <= TOL
    dout, dout_dot = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    dx_dot_c, dots_c = ours.backward_tangent(dout, dout_dot, dx, tangents)
    dx_dot_p, dots_p = plain.backward_tangent(dout, dout_dot, dx, tangents)
    assert rel(dx_dot_c, dx_dot_p) <= TOL and list(dots_c) == list(dots_p)
    assert max(rel(dots_c[k], dots_p[k]) for k in dots_p) <= TOL
    v = rng.standard_normal(len(hn.parameters_to_vector(plain)))
    assert rel(hn.hvp(ours, MSELoss(), x, target, v), hn.hvp(plain, MSELoss(), x, target, v)) <= TOL
    small_p, small_c = hn.Sequential(Linear(3, 3, rng=0), BatchNorm1d(3), Tanh(), Linear(3, 2, rng=1)), None
    small_c = hn.checkpoint_sequential(copy.deepcopy(small_p), 2)
    h_p, h_c = (hn.hessian(m, MSELoss(), x, target) for m in (small_p, small_c))
    assert rel(h_c, h_p) <= TOL


def test_gradcheck_passes_through_checkpoints_in_both_modes_and_to_second_order():
    model = hn.checkpoint_sequential(hn.Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), Tanh(), Linear(4, 4, rng=1),
                                                   Sigmoid(), Linear(4, 2, rng=2)), 3)
    x = np.random.default_rng(4).standard_normal((5, 3))
    for train in (True, False):
        assert hn.gradcheck(model.train(train), x, check_forward=True, check_second_order=True)


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 12), data=st.data())
def test_any_number_of_segments_gives_the_plain_gradients(depth, data):
    segments = data.draw(st.integers(1, depth))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    plain = hn.Sequential(*[rng.choice([lambda: Linear(3, 3, rng=rng), Tanh, ReLU, lambda: BatchNorm1d(3)])()
                            for _ in range(depth)])
    ours = hn.checkpoint_sequential(copy.deepcopy(plain), segments)
    x, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    (loss_p, dx_p, grads_p), (loss_c, dx_c, grads_c) = _step(plain, x, target), _step(ours, x, target)
    assert rel(loss_c, loss_p) <= TOL and rel(dx_c, dx_p) <= TOL
    assert all(rel(grads_c[k], grads_p[k]) <= TOL for k in grads_p)


# ---- state moves once, randomness is replayed -------------------------------------------------------
def test_batchnorm_statistics_after_k_steps_equal_the_plain_models_and_torchs():
    rng = np.random.default_rng(5)
    plain = hn.Sequential(Linear(4, 6, rng=rng), BatchNorm1d(6), ReLU(), Linear(6, 6, rng=rng),
                          BatchNorm1d(6, momentum=None), Tanh(), Linear(6, 2, rng=rng))
    twin = torch_twin(plain)
    ours = hn.checkpoint_sequential(copy.deepcopy(plain), 3)
    opt_p, opt_c = SGD(plain.parameters(), lr=0.1), SGD(ours.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(twin.parameters(), lr=0.1)
    k = 5
    for _ in range(k):
        x, target = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
        for model, opt in ((plain, opt_p), (ours, opt_c)):
            _step(model, x, target)
            opt.step()
        opt_t.zero_grad()
        torch.nn.functional.mse_loss(twin(torch.as_tensor(x)), torch.as_tensor(target)).backward()
        opt_t.step()
    theirs = twin.state_dict()
    for key, value in plain.state_dict().items():
        assert np.array_equal(ours.state_dict()[key], value), key
        assert np.allclose(theirs[key].numpy(), value, rtol=1e-10, atol=1e-12), key
    assert ours.state_dict()["1.num_batches_tracked"] == k == ours.state_dict()["4.num_batches_tracked"]


def test_the_recompute_draws_the_same_dropout_mask_and_the_generator_moves_once():
    plain, ours = _pair("segments=4")
    rng = np.random.default_rng(6)
    x, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    drop_p, drop_c = plain[1], ours[1]
    masks = [drop_p(x).copy() / x for _ in range(2)]
    assert not np.array_equal(masks[0], masks[1])       # each forward draws a new mask: replay is needed
    drop_p.rng = copy.deepcopy(drop_c.rng)
    _, dx_p, grads_p = _step(plain, x, target)
    _, dx_c, grads_c = _step(ours, x, target)
    assert rel(dx_c, dx_p) <= TOL and all(rel(grads_c[k], grads_p[k]) <= TOL for k in grads_p)
    assert drop_c.rng.bit_generator.state == drop_p.rng.bit_generator.state   # drawn once per step


def test_the_library_dropout_is_replayed_too():
    plain = hn.Sequential(Linear(4, 8, rng=0), handnet.layers.Dropout(0.5), Tanh(), Linear(8, 2, rng=1))
    ours = hn.checkpoint_sequential(copy.deepcopy(plain), 2)
    rng = np.random.default_rng(7)
    x, target = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    (_, dx_p, grads_p), (_, dx_c, grads_c) = _step(plain, x, target), _step(ours, x, target)
    assert rel(dx_c, dx_p) <= TOL and all(rel(grads_c[k], grads_p[k]) <= TOL for k in grads_p)


def test_backward_replays_the_mode_of_the_forward_and_leaves_the_callers():
    plain, ours = _pair("segments=2")
    rng = np.random.default_rng(8)
    x, dout = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    plain(x), ours(x)
    plain.eval(), ours.eval()            # between forward and backward: the caches are still train mode's
    assert rel(ours.backward(dout), plain.backward(dout)) <= TOL
    assert not any(m.training for m in ours.modules())


def test_a_rule_changes_no_buffer_generator_or_mode():
    _, ours = _pair("nested")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 3))
    ours(x)
    state, rng_state = ours.state_dict(), ours.module[1].rng.bit_generator.state
    modes = [m.training for m in ours.modules()]
    ours.backward(rng.standard_normal((6, 2)))
    ours.jvp(rng.standard_normal(x.shape))
    ours.backward_tangent(rng.standard_normal((6, 2)), rng.standard_normal((6, 2)))
    assert all(np.array_equal(ours.state_dict()[k], v) for k, v in state.items())
    assert ours.module[1].rng.bit_generator.state == rng_state and [m.training for m in ours.modules()] == modes


# ---- memory ---------------------------------------------------------------------------------------------
def test_after_forward_the_checkpoint_holds_its_input_and_no_inner_cache():
    inner = hn.Sequential(Linear(4, 5, rng=0), BatchNorm1d(5), ReLU(), Linear(5, 2, rng=1))
    ckpt = hn.Checkpoint(inner)
    x = np.random.default_rng(10).standard_normal((6, 4))
    ckpt(x)
    assert ckpt.x is x and not any(cached_arrays(m) for m in inner.modules())
    assert [(r.class_name, r.attribute) for r in hn.saved_arrays(ckpt)] == [("Checkpoint", "x")]
    ckpt.backward(np.ones((6, 2)))
    assert not any(cached_arrays(m) for m in inner.modules())   # dropped again after the backward


class Centre(hn.Module):
    """y = x − μ with μ a constant kept as a plain array attribute, not a buffer (as a student may
    write it); it caches nothing."""

    def __init__(self, mu) -> None:
        super().__init__()
        self.mu = np.asarray(mu, dtype=float)

    def forward(self, x):
        return x - self.mu

    def backward(self, dout):
        return dout


def test_an_array_the_forward_leaves_alone_is_no_cache_and_stays():
    # Only what the forward binds is a cache: μ was there before it and is still needed after it.
    inner = hn.Sequential(Centre([1.0, 2.0, 3.0]), Linear(3, 2, rng=0))
    plain = copy.deepcopy(inner)
    ckpt = hn.Checkpoint(inner)
    x, dout = np.random.default_rng(11).standard_normal((4, 3)), np.ones((4, 2))
    for _ in range(2):                                   # a second step needs μ as much as the first
        np.testing.assert_array_equal(ckpt(x), plain(x))
        np.testing.assert_array_equal(ckpt.backward(dout), plain.backward(dout))
    np.testing.assert_array_equal(inner[0].mu, [1.0, 2.0, 3.0])
    assert inner[1].x is None                            # while Linear's cache is dropped, as always


class KeepsItsMask(hn.Module):
    """y = clip(x, −1, 1); its backward binds the mask it uses, 1[|x| ≤ 1], as an attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.x = self.mask = None

    def forward(self, x):
        self.x = np.asarray(x)
        return np.clip(self.x, -1, 1)

    def backward(self, dout):
        self.mask = np.abs(self.x) <= 1
        return dout * self.mask


def test_an_array_a_rule_binds_is_dropped_with_the_caches():
    ckpt = hn.Checkpoint(hn.Sequential(Linear(3, 3, rng=0), KeepsItsMask()))
    ckpt(np.random.default_rng(12).standard_normal((4, 3)))
    ckpt.backward(np.ones((4, 3)))
    assert [(r.class_name, r.attribute) for r in hn.saved_arrays(ckpt)] == [("Checkpoint", "x")]


def _deep(depth: int, width: int) -> hn.Sequential:
    rng = np.random.default_rng(0)
    return hn.Sequential(*[m for _ in range(depth) for m in (Linear(width, width, rng=rng), Tanh())])


def _peak_bytes_of_a_step(model, x) -> int:
    dout = np.ones(x.shape)
    model(x), model.backward(dout)         # warm up: every cache exists, as in the middle of training
    tracemalloc.start()
    model(x)
    model.backward(dout)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_checkpointed_step_at_depth_64_peaks_well_below_the_plain_one():
    # 64 blocks of Linear and Tanh, each holding one (N, D) array (Tanh's y is the next Linear's x);
    # a large batch on a narrow width, so that the caches and not the weights' gradients dominate.
    x = np.random.default_rng(11).standard_normal((1024, 16))
    plain, ours = _deep(64, 16), hn.checkpoint_sequential(_deep(64, 16), 8)    # √64 segments
    plain_peak, ours_peak = _peak_bytes_of_a_step(plain, x), _peak_bytes_of_a_step(ours, x)
    # held: 7 segment inputs + the last segment's 8 arrays, and one segment's 8 rebuilt ones: ~23 of 64
    assert ours_peak < 0.5 * plain_peak, (ours_peak, plain_peak)
    plain(x), ours(x)
    assert hn.saved_arrays(ours).total_bytes < 0.3 * hn.saved_arrays(plain).total_bytes


# ---- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("segments", [0, -1, 4, 2.0, True, "2", None])
def test_checkpoint_sequential_refuses_a_segment_count_out_of_range(segments):
    with pytest.raises(ValueError, match=r"segments must be an integer from 1 to the number of layers .*\(3\), got"):
        hn.checkpoint_sequential(hn.Sequential(Tanh(), ReLU(), Tanh()), segments)


def test_checkpoint_sequential_refuses_what_is_not_a_sequential():
    with pytest.raises(TypeError, match="seq must be a Sequential, got Linear; wrap a single module in Checkpoint"):
        hn.checkpoint_sequential(Linear(2, 2, rng=0), 1)


@pytest.mark.parametrize("module", [np.tanh, 3, [Tanh()]])
def test_checkpoint_refuses_what_is_not_a_module(module):
    with pytest.raises(TypeError, match="Checkpoint: module must be a Module"):
        hn.Checkpoint(module)


def test_checkpoint_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match="Checkpoint.backward was called before Checkpoint.forward"):
        hn.Checkpoint(Tanh()).backward(np.ones(3))


def test_a_layer_used_inside_and_outside_a_checkpoint_is_refused():
    layer = Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match="the same Linear is used at '0' and at '1'"):
        hn.Sequential(hn.Checkpoint(layer), layer)


def test_checkpointed_model_tangents_with_an_unknown_name_are_refused():
    ours = hn.checkpoint_sequential(hn.Sequential(Linear(2, 2, rng=0), Tanh(), Linear(2, 2, rng=1)), 2)
    ours(np.ones((3, 2)))
    with pytest.raises(ValueError, match="tangent for unknown parameter '1.weight'"):
        ours.jvp(None, {"1.weight": np.ones((2, 2))})


def test_fit_trains_a_checkpointed_model_as_it_trains_the_plain_one():
    rng = np.random.default_rng(12)
    X, y = rng.standard_normal((40, 4)), rng.standard_normal((40, 2))
    plain = hn.Sequential(Linear(4, 8, rng=rng), BatchNorm1d(8), Tanh(), Linear(8, 2, rng=rng))
    ours = hn.checkpoint_sequential(copy.deepcopy(plain), 2)
    histories = [hn.fit(m, MSELoss(), SGD(m.parameters(), lr=0.1), X, y, epochs=3, batch_size=8, rng=0)
                 for m in (plain, ours)]
    assert histories[0].loss == histories[1].loss
    assert all(np.array_equal(ours.state_dict()[k], v) for k, v in plain.state_dict().items())
