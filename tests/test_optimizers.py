"""SGD and Adam against torch.optim: the same gradients must give the same weights, step for step.

Each case builds a small network and torch's twin holding the same weights, then for several steps
computes our gradients on a fresh random batch, hands the *same* gradients to torch, steps both
optimizers and compares every parameter (relative error ≤ 1e-12).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handnet as hn
from handnet.layers import BatchNorm1d, Linear, SoftmaxCrossEntropy, Tanh
from handnet.optim import SGD, Adam
from tests.torch_compare import assert_close, torch_twin

STEPS = 6
TOL = 1e-12


def small_model(seed: int = 0) -> hn.Sequential:
    rng = np.random.default_rng(seed)
    return hn.Sequential(Linear(4, 6, rng=rng), BatchNorm1d(6), Tanh(), Linear(6, 3, rng=rng))


def run_against_torch(make_ours, make_theirs, *, skip_at: tuple[int, int] | None = None) -> None:
    """Step both optimizers STEPS times on the same gradients and compare all parameters after each.

    ``skip_at=(step, i)`` leaves parameter i without a gradient (None) at that step, in both.
    """
    rng = np.random.default_rng(1)
    model = small_model()
    twin = torch_twin(model)
    ours, theirs = make_ours(model.parameters()), make_theirs(twin.parameters())
    ce = SoftmaxCrossEntropy()
    names = [name for name, _ in model.named_parameters()]
    twin_params = dict(twin.named_parameters())
    for step in range(STEPS):
        x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
        ce(model(x), y)
        model.backward(ce.backward())
        for i, (name, p) in enumerate(model.named_parameters()):
            if skip_at == (step, i):
                p.grad = None
            twin_params[name].grad = None if p.grad is None else torch.tensor(p.grad)
        ours.step()
        theirs.step()
        for name, p in model.named_parameters():
            assert_close(p.data, twin_params[name], f"{name} after step {step}", TOL)
    assert names == list(twin_params)


SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "weight_decay": dict(lr=0.1, weight_decay=0.01),
    "momentum_and_weight_decay": dict(lr=0.05, momentum=0.8, weight_decay=0.1),
    "nesterov": dict(lr=0.1, momentum=0.9, nesterov=True),
    "nesterov_with_weight_decay": dict(lr=0.1, momentum=0.5, weight_decay=0.05, nesterov=True),
    "dampening": dict(lr=0.1, momentum=0.9, dampening=0.3),
}


@pytest.mark.parametrize("kwargs", SGD_CASES.values(), ids=SGD_CASES.keys())
def test_sgd_matches_torch_step_for_step(kwargs):
    run_against_torch(lambda p: SGD(p, **kwargs), lambda p: torch.optim.SGD(p, **kwargs))


ADAM_CASES = {
    "defaults": dict(),
    "large_lr_and_betas": dict(lr=0.05, betas=(0.5, 0.9), eps=1e-6),
    "weight_decay_is_l2_not_adamw": dict(lr=0.01, weight_decay=0.1),
    "tiny_eps": dict(lr=0.01, eps=1e-14),
}


@pytest.mark.parametrize("kwargs", ADAM_CASES.values(), ids=ADAM_CASES.keys())
def test_adam_matches_torch_step_for_step(kwargs):
    run_against_torch(lambda p: Adam(p, **kwargs), lambda p: torch.optim.Adam(p, **kwargs))


@pytest.mark.parametrize("name, make_ours, make_theirs", [
    ("sgd", lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("adam", lambda p: Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
])
def test_parameter_without_grad_is_skipped_and_its_state_kept_as_torch_does(name, make_ours, make_theirs):
    # parameter 0 has no gradient at step 0 (so its state starts a step late), parameter 2 at step 3
    run_against_torch(make_ours, make_theirs, skip_at=(0, 0))
    run_against_torch(make_ours, make_theirs, skip_at=(3, 2))


def test_sgd_first_step_is_minus_lr_times_gradient_plus_decay():
    # Worked by hand: θ = [1, −2], g = [0.5, 0.5], λ = 0.1: d = [0.6, 0.3]; θ − 0.5·d = [0.7, −2.15].
    p = hn.Parameter([1.0, -2.0])
    p.grad = np.array([0.5, 0.5])
    SGD([p], lr=0.5, momentum=0.9, weight_decay=0.1).step()
    np.testing.assert_allclose(p.data, [0.7, -2.15], rtol=0, atol=1e-15)


def test_adam_first_step_moves_each_coordinate_by_lr_whatever_the_gradient_scale():
    # At t = 1, m̂ = g and √v̂ = |g|, so the step is lr·g/(|g| + ε) ≈ lr·sign(g).
    p = hn.Parameter([0.0, 0.0, 0.0])
    p.grad = np.array([1e-3, -5.0, 1e4])
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_params_may_be_a_generator_and_the_update_is_in_place():
    p = hn.Parameter(np.ones(3))
    data = p.data
    opt = SGD((q for q in [p]), lr=1.0)
    p.grad = np.ones(3)
    opt.step()
    assert opt.params == [p] and p.data is data
    np.testing.assert_array_equal(data, np.zeros(3))


def test_zero_grad_sets_grads_to_none_so_step_changes_nothing():
    p = hn.Parameter(np.ones(3))
    p.grad = np.ones(3)
    opt = Adam([p], lr=1.0)
    opt.zero_grad()
    assert p.grad is None
    opt.step()
    np.testing.assert_array_equal(p.data, np.ones(3))
    assert opt.state == {}


BAD_ARGUMENTS = [
    (lambda p: SGD(p, lr=-0.1), "lr"),
    (lambda p: SGD(p, lr=float("nan")), "lr"),
    (lambda p: SGD(p, lr="0.1"), "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), "momentum"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda p: SGD(p, lr=0.1, dampening=1.5), "dampening"),
    (lambda p: Adam(p, lr=-1e-3), "lr"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), "betas[0]"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), "betas[1]"),
    (lambda p: Adam(p, betas=0.9), "betas"),
    (lambda p: Adam(p, eps=-1e-8), "eps"),
    (lambda p: Adam(p, eps=0.0), "eps"),    # 0/0 at a coordinate whose gradient has always been 0
    (lambda p: Adam(p, weight_decay=-0.1), "weight_decay"),
]


@pytest.mark.parametrize("make, argument", BAD_ARGUMENTS)
def test_bad_hyperparameter_raises_value_error_naming_it(make, argument):
    with pytest.raises(ValueError, match=argument.replace("[", r"\[").replace("]", r"\]")):
        make([hn.Parameter(np.zeros(2))])


@pytest.mark.parametrize("opt", [SGD, Adam])
@pytest.mark.parametrize("params, message", [
    ([], "empty"),
    ([np.zeros(2)], r"params\[0\] must be a Parameter"),
    (hn.Parameter(np.zeros(2)), "single Parameter"),
])
def test_bad_params_raise_value_error(opt, params, message):
    with pytest.raises(ValueError, match=message):
        opt(params, lr=0.1)


@pytest.mark.parametrize("opt", [SGD, Adam])
def test_a_module_instead_of_its_parameters_is_refused_saying_what_to_pass(opt):
    with pytest.raises(ValueError, match=r"pass model\.parameters\(\)"):
        opt(Linear(2, 2), lr=0.1)
    with pytest.raises(ValueError, match=r"pass model\.parameters\(\)"):
        opt(3, lr=0.1)


def test_a_parameter_listed_twice_is_refused():
    p = hn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps)])
def test_a_gradient_of_the_wrong_shape_stops_the_step_before_any_parameter_moves(make):
    a, b = hn.Parameter(np.ones(2)), hn.Parameter(np.ones(3))
    opt = make([a, b])
    a.grad, b.grad = np.full(2, 0.5), np.ones(4)          # b's gradient is misshapen
    with pytest.raises(ValueError, match=r"params\[1\]"):
        opt.step()
    np.testing.assert_array_equal(a.data, np.ones(2))
    assert opt.state == {}


def optimizer_state(opt) -> list:
    """Every number an optimizer holds, copied: its parameters and each one's state."""
    return [(p.data.copy(), {k: np.array(v, copy=True) for k, v in opt.state.get(p, {}).items()}) for p in opt.params]


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)],
                         ids=["sgd_momentum", "adam"])
@pytest.mark.parametrize("bad", [
    np.array([1.0, np.nan, 0.0]), np.array([np.inf, 0.0, 0.0]), np.array([0.0, -np.inf, 0.0]),
    np.array([1 + 2j, 0, 0]), np.array(["a", "b", "c"]), [1.0, 2.0, 3.0], np.ones(4),
], ids=["nan", "inf", "-inf", "complex", "str", "list", "wrong_shape"])
def test_a_bad_gradient_on_a_later_parameter_leaves_every_parameter_and_all_state_as_it_was(make, bad):
    a, b = hn.Parameter(np.ones(2)), hn.Parameter(np.ones(3))
    opt = make([a, b])
    a.grad, b.grad = np.full(2, 0.5), np.full(3, -0.5)
    opt.step()                                        # one good step, so that there is state to keep
    before = optimizer_state(opt)
    a.grad, b.grad = np.full(2, 0.25), bad
    with pytest.raises(ValueError, match=r"params\[1\] \(shape \(3,\)\).*nothing was updated"):
        opt.step()
    after = optimizer_state(opt)
    for (data0, state0), (data1, state1) in zip(before, after):
        np.testing.assert_array_equal(data1, data0)
        assert state1.keys() == state0.keys()
        for key in state0:
            np.testing.assert_array_equal(state1[key], state0[key], err_msg=key)
    a.grad, b.grad = np.full(2, 0.25), np.full(3, 0.25)
    opt.step()                                        # and the optimizer goes on as if nothing happened
    assert all(np.all(np.isfinite(p.data)) for p in (a, b))


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float32, 1e30)])
def test_a_finite_gradient_whose_squares_overflow_is_accepted_not_taken_for_inf(dtype, big):
    # The step checks g·g first; that overflows here although every entry is finite.
    p = hn.Parameter(np.zeros(3, dtype))
    p.grad = np.array([big, -big, 1.0], dtype)
    SGD([p], lr=1 / big).step()
    np.testing.assert_allclose(p.data, [-1.0, 1.0, -1 / big], rtol=1e-6)
