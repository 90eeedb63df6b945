"""Forward mode: every layer's jvp against torch.func.jvp in float64, Jacobians built both ways,
and the losses' jvp and hvp against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handnet as hn
from handnet.layers import BatchNorm1d, Dropout, GELU, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from handnet.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropy
from tests.torch_compare import assert_close, functional_twin, torch_dropout_with_our_masks, torch_params


def compare_jvp_with_torch(module: hn.Module, x: np.ndarray, rng: np.random.Generator) -> None:
    """dy = ∂y/∂x·dx + Σ ∂y/∂θ·dθ equals torch.func.jvp: the input tangent alone, each parameter
    tangent alone, and all of them together."""
    module(x)
    f, params = functional_twin(module), torch_params(module)
    dx = rng.standard_normal(x.shape)
    tangents = {name: rng.standard_normal(p.shape) for name, p in module.named_parameters()}
    cases = [("input alone", dx, {})] + [(f"{name} alone", None, {name: t}) for name, t in tangents.items()]
    cases += [("all together", dx, tangents)]
    results = []
    for what, case_dx, case_tangents in cases:
        ours = module.jvp(case_dx, case_tangents)
        primal = (torch.as_tensor(x), params)
        tangent = (torch.as_tensor(np.zeros_like(x) if case_dx is None else case_dx),
                   {name: torch.as_tensor(case_tangents.get(name, np.zeros(p.shape)))
                    for name, p in module.named_parameters()})
        _, theirs = torch.func.jvp(lambda xt, pt: f(pt, xt), primal, tangent)
        results.append((what, ours, theirs))
    # A tangent that is zero by mathematics (a bias just before BatchNorm) is rounding noise in both
    # libraries: it passes within 1e-12 of the largest tangent of the pass, as in compare_with_torch.
    scale = max(float(np.abs(theirs.numpy()).max(initial=0.0)) for _, _, theirs in results)
    for what, ours, theirs in results:
        assert_close(ours, theirs, f"{type(module).__name__} jvp, {what}", zero_atol=1e-12 * scale)


SHAPES = [(1, 3, 4), (5, 5, 5), (7, 9, 2)]


@pytest.mark.parametrize("n,d,m", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_jvp_is_dx_Wt_plus_x_dWt_plus_db_as_torch(n, d, m, bias):
    rng = np.random.default_rng(n + d + m)
    compare_jvp_with_torch(Linear(d, m, bias=bias, rng=rng), rng.standard_normal((n, d)), rng)


def test_linear_jvp_with_leading_axes_matches_torch():
    rng = np.random.default_rng(1)
    compare_jvp_with_torch(Linear(4, 3, rng=rng), rng.standard_normal((2, 5, 4)), rng)


@pytest.mark.parametrize("layer", [ReLU, LeakyReLU, GELU, lambda: GELU("tanh"), Sigmoid, Tanh, Softmax],
                         ids=["ReLU", "LeakyReLU", "GELU", "GELU(tanh)", "Sigmoid", "Tanh", "Softmax"])
@pytest.mark.parametrize("shape", [(1, 4), (6, 3), (2, 3, 5)])
def test_activation_jvp_matches_torch(layer, shape):
    rng = np.random.default_rng(shape[-1])
    compare_jvp_with_torch(layer(), 3 * rng.standard_normal(shape), rng)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 5)])
def test_dropout_jvp_is_the_tangent_times_the_last_mask_as_torch(train, shape):
    rng = np.random.default_rng(len(shape) + train)
    layer = Dropout(0.4, rng=rng).train(train)
    with torch_dropout_with_our_masks(layer):   # train mode: torch is given our mask
        compare_jvp_with_torch(layer, rng.standard_normal(shape), rng)


@pytest.mark.parametrize("shape", [(1, 4), (6, 5), (2, 3, 7), (5, 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_jvp_flows_through_each_rows_statistics_as_torch(shape, affine):
    rng = np.random.default_rng(len(shape) + shape[-1] + affine)
    ln = LayerNorm(shape[-1], elementwise_affine=affine)
    if affine:
        ln.weight.data, ln.bias.data = rng.uniform(0.5, 2, shape[-1]), rng.standard_normal(shape[-1])
    compare_jvp_with_torch(ln, 2 + 3 * rng.standard_normal(shape), rng)


@pytest.mark.parametrize("n,d", [(2, 3), (5, 5), (32, 7)])
def test_batchnorm_train_mode_jvp_flows_through_the_batch_statistics_as_torch(n, d):
    rng = np.random.default_rng(n * d)
    bn = BatchNorm1d(d)
    bn.weight.data, bn.bias.data = rng.uniform(0.5, 2, d), rng.standard_normal(d)
    compare_jvp_with_torch(bn, 2 + 3 * rng.standard_normal((n, d)), rng)


@pytest.mark.parametrize("n,d", [(1, 3), (6, 4)])
def test_batchnorm_eval_mode_jvp_is_the_tangent_of_an_affine_map_as_torch(n, d):
    rng = np.random.default_rng(n + d)
    bn = BatchNorm1d(d)
    for _ in range(3):
        bn(1 + 2 * rng.standard_normal((8, d)))
    bn.eval()
    compare_jvp_with_torch(bn, rng.standard_normal((n, d)), rng)


@pytest.mark.parametrize("shape", [(1, 3, 6), (4, 3, 5)])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_on_N_D_L_jvp_matches_torch_in_train_and_eval_mode(shape, train):
    rng = np.random.default_rng(sum(shape) + train)
    bn = BatchNorm1d(shape[1])
    bn.weight.data, bn.bias.data = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    for _ in range(3):
        bn(1 + 2 * rng.standard_normal((6, shape[1], 4)))
    compare_jvp_with_torch(bn.train(train), 2 + 3 * rng.standard_normal(shape), rng)


def _mlp(rng, batchnorm=True):
    layers = [Linear(5, 6, rng=rng)] + ([BatchNorm1d(6)] if batchnorm else []) + [
        Tanh(), Linear(6, 4, rng=rng), ReLU(), Linear(4, 3, rng=rng), Softmax()]
    return hn.Sequential(*layers)


@pytest.mark.parametrize("train", [True, False])
def test_sequential_jvp_matches_torch_in_train_and_eval_mode(train):
    rng = np.random.default_rng(2)
    model = _mlp(rng)
    model(rng.standard_normal((9, 5)))
    model.train(train)
    compare_jvp_with_torch(model, rng.standard_normal((7, 5)), rng)


@pytest.mark.parametrize("train", [True, False])
def test_forward_and_reverse_jacobians_agree_with_each_other_and_with_jacfwd_and_jacrev(train):
    rng = np.random.default_rng(3)
    model = _mlp(rng).train(train)
    x = rng.standard_normal((4, 5))
    forward, reverse = hn.jacobian(model, x, mode="forward"), hn.jacobian(model, x, mode="reverse")
    f, params = functional_twin(model), torch_params(model)
    g = lambda xt: f(params, xt).reshape(-1)
    jacfwd = torch.func.jacfwd(g)(torch.as_tensor(x)).reshape(forward.shape)
    jacrev = torch.func.jacrev(g)(torch.as_tensor(x)).reshape(forward.shape)
    for what, J in [("reverse", reverse), ("jacfwd", jacfwd), ("jacrev", jacrev)]:
        assert_close(forward, J, f"forward-mode Jacobian against {what}")


def test_jvp_reads_the_last_forward_and_changes_nothing():
    rng = np.random.default_rng(4)
    model = _mlp(rng)
    x = rng.standard_normal((6, 5))
    model(x)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    caches = [dict(vars(m)) for m in model.modules()]
    model.jvp(rng.standard_normal(x.shape), {"0.weight": rng.standard_normal((6, 5))})
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert all(vars(m).keys() == c.keys() and all(vars(m)[k] is c[k] for k in c)
               for m, c in zip(model.modules(), caches))


def test_hn_jvp_is_a_forward_then_a_jvp():
    rng = np.random.default_rng(5)
    model, x, dx = _mlp(rng, batchnorm=False), rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    y, dy = hn.jvp(model, x, dx)
    np.testing.assert_array_equal(y, model(x))
    np.testing.assert_array_equal(dy, model.jvp(dx))


def test_jvp_keeps_float32():
    rng = np.random.default_rng(6)
    model = hn.Sequential(Linear(3, 4, rng=rng, dtype=np.float32), BatchNorm1d(4), Tanh())
    model(rng.standard_normal((5, 3)).astype(np.float32))
    assert model.jvp(rng.standard_normal((5, 3)).astype(np.float32)).dtype == np.float32


# ---- losses ----------------------------------------------------------------------------------
LOSSES = [
    ("mse", MSELoss, lambda rng: rng.standard_normal((5, 3)), F.mse_loss),
    ("bce", BCEWithLogitsLoss, lambda rng: rng.uniform(0, 1, (5, 3)), F.binary_cross_entropy_with_logits),
    ("ce labels", SoftmaxCrossEntropy, lambda rng: rng.integers(0, 3, 5), F.cross_entropy),
    ("ce probabilities", SoftmaxCrossEntropy, lambda rng: rng.dirichlet(np.ones(3), 5), F.cross_entropy),
]


@pytest.mark.parametrize("name,make,target,torch_fn", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_jvp_and_hvp_match_torch(name, make, target, torch_fn):
    rng = np.random.default_rng(7)
    pred, y, v = 3 * rng.standard_normal((5, 3)), target(rng), rng.standard_normal((5, 3))
    loss = make()
    loss(pred, y)
    fn = lambda p: torch_fn(p, torch.as_tensor(y))
    _, their_jvp = torch.func.jvp(fn, (torch.as_tensor(pred),), (torch.as_tensor(v),))
    _, their_hvp = torch.autograd.functional.hvp(fn, torch.as_tensor(pred), torch.as_tensor(v))
    assert_close(np.array(loss.jvp(v)), their_jvp, f"{name} jvp")
    assert_close(loss.hvp(v), their_hvp, f"{name} hvp")


# ---- gradcheck checks forward mode --------------------------------------------------------------
class _JvpOnePercentOff(Tanh):
    def jvp(self, dx=None, tangents=None):
        return 1.01 * super().jvp(dx, tangents)


class _WrongWeightTangent(Linear):
    def jvp(self, dx=None, tangents=None):
        tangents = dict(tangents or {})
        if "weight" in tangents:
            tangents["weight"] = tangents["weight"].T.reshape(tangents["weight"].shape)  # a plausible slip
        return super().jvp(dx, tangents)


def test_gradcheck_catches_a_jvp_one_percent_off():
    with pytest.raises(hn.GradcheckError, match="jvp along input"):
        hn.gradcheck(_JvpOnePercentOff(), np.random.default_rng(8).standard_normal((4, 3)))


def test_gradcheck_catches_a_wrong_parameter_tangent_and_names_it():
    with pytest.raises(hn.GradcheckError, match="weight"):
        hn.gradcheck(_WrongWeightTangent(3, 3, rng=0), np.random.default_rng(9).standard_normal((4, 3)))


def test_the_adjoint_check_catches_a_backward_and_jvp_that_disagree_by_less_than_the_tolerance():
    # 1e-6 off is within gradcheck's finite-difference tolerance, but ⟨w, Ju⟩ = ⟨Jᵀw, u⟩ is exact.
    class Slightly(Tanh):
        def jvp(self, dx=None, tangents=None):
            return (1 + 1e-6) * super().jvp(dx, tangents)

    with pytest.raises(hn.GradcheckError, match="jvp and backward disagree"):
        hn.gradcheck(Slightly(), np.random.default_rng(10).standard_normal((4, 3)), check_second_order=False)


# ---- bad input ---------------------------------------------------------------------------------
def test_jvp_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="jvp was called before"):
        Linear(2, 2).jvp(np.zeros((1, 2)))


def test_jvp_refuses_a_tangent_of_the_wrong_shape_or_an_unknown_name():
    model = hn.Sequential(Linear(2, 3, rng=0), Tanh())
    model(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        model.jvp(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="unknown parameter '0.wieght'"):
        model.jvp(None, {"0.wieght": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="'0.bias'"):
        model.jvp(None, {"0.bias": np.zeros(2)})


def test_jacobian_mode_must_be_forward_or_reverse():
    with pytest.raises(ValueError, match="mode"):
        hn.jacobian(Tanh(), np.zeros(3), mode="sideways")
