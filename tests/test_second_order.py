"""Second order for networks: exact Hessian-vector products, Hessians and Gauss–Newton matrices
against torch in float64, their identities, and Newton and Levenberg–Marquardt on a network."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handnet as hn
from handnet.layers import BatchNorm1d, Dropout, GELU, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from handnet.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropy
from handnet.optim import gradient_descent, levenberg_marquardt, newton
from tests.torch_compare import (assert_close, compare_backward_tangent_with_torch, functional_twin,
                                 torch_dropout_with_our_masks)

TORCH_LOSSES = {MSELoss: F.mse_loss, SoftmaxCrossEntropy: F.cross_entropy,
                BCEWithLogitsLoss: F.binary_cross_entropy_with_logits}


def _torch_loss_of_vector(model, loss, X, y):
    """θ (P,) ↦ torch's loss of torch's twin of ``model`` with parameters θ: for torch's Hessian."""
    f = functional_twin(model)
    shapes = [(name, p.shape) for name, p in model.named_parameters()]

    def of(theta):
        params, start = {}, 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            params[name] = theta[start:start + size].reshape(shape)
            start += size
        return TORCH_LOSSES[type(loss)](f(params, torch.as_tensor(X)), torch.as_tensor(y))

    return of


def _task(loss_cls, rng, n=8, d=3, out=2):
    X = rng.standard_normal((n, d))
    if loss_cls is SoftmaxCrossEntropy:
        return X, rng.integers(0, out, n)
    if loss_cls is BCEWithLogitsLoss:
        return X, rng.integers(0, 2, (n, out)).astype(float)
    return X, rng.standard_normal((n, out))


ACTIVATIONS = [ReLU, Tanh, Sigmoid, LeakyReLU, GELU]


def _mlp(rng, activation, batchnorm=None, d=3, hidden=4, out=2):
    layers = [Linear(d, hidden, rng=rng)]
    if batchnorm is not None:
        bn = BatchNorm1d(hidden)
        bn.weight.data, bn.bias.data = rng.uniform(0.5, 2, hidden), rng.standard_normal(hidden) * 0.1
        layers.append(bn)
    layers += [activation(), Linear(hidden, out, rng=rng)]
    model = hn.Sequential(*layers)
    if batchnorm == "eval":
        for _ in range(3):
            model(rng.standard_normal((10, d)))
        model.eval()
    return model


CASES = [(act, bn, loss) for act in ACTIVATIONS for bn in (None, "train", "eval")
         for loss in (MSELoss, SoftmaxCrossEntropy, BCEWithLogitsLoss)]


@pytest.mark.parametrize("activation,batchnorm,loss_cls", CASES,
                         ids=[f"{a.__name__}-{b}-{c.__name__}" for a, b, c in CASES])
def test_hessian_and_hvp_equal_torchs_hessian(activation, batchnorm, loss_cls):
    rng = np.random.default_rng(len(activation.__name__) + 3 * (batchnorm is not None))
    model, loss = _mlp(rng, activation, batchnorm), loss_cls()
    X, y = _task(loss_cls, rng)
    theirs = torch.autograd.functional.hessian(_torch_loss_of_vector(model, loss, X, y),
                                               torch.as_tensor(hn.parameters_to_vector(model)))
    H = hn.hessian(model, loss, X, y)
    assert_close(H, theirs, "Hessian", tol=1e-8)
    v = rng.standard_normal(len(H))
    assert_close(hn.hvp(model, loss, X, y, v), theirs.numpy() @ v, "Hessian-vector product", tol=1e-8)


def test_hessian_through_train_mode_dropout_is_the_hessian_for_the_one_mask_it_drew():
    # hn.hessian runs one forward, so it draws one mask: every column is of the same network. To give
    # torch that mask, the draw is repeated from a copy of the generator as it was before.
    rng = np.random.default_rng(19)
    model, loss = hn.Sequential(Linear(3, 5, rng=rng), Tanh(), Dropout(0.4, rng=7), Linear(5, 2, rng=rng)), MSELoss()
    X, y = _task(MSELoss, rng)
    generator = copy.deepcopy(model[2].rng)
    H = hn.hessian(model, loss, X, y)
    model[2].rng = generator
    model(X)
    with torch_dropout_with_our_masks(model):
        theirs = torch.autograd.functional.hessian(_torch_loss_of_vector(model, loss, X, y),
                                                   torch.as_tensor(hn.parameters_to_vector(model)))
    assert_close(H, theirs, "Hessian with dropout", tol=1e-8)


def test_hessian_through_train_mode_batchnorm_couples_the_samples():
    # With batch statistics, moving one sample's layer-1 output moves every sample's loss, so the
    # Hessian differs from the one with those statistics frozen (eval mode at the same values).
    rng = np.random.default_rng(11)
    model, loss = _mlp(rng, Tanh, "train"), MSELoss()
    X, y = _task(MSELoss, rng)
    H_train = hn.hessian(model, loss, X, y)
    bn = model[1]
    bn(model[0](X))                                   # the running statistics: not the batch's
    assert np.abs(H_train - hn.hessian(model.eval(), loss, X, y)).max() > 1e-3 * np.abs(H_train).max()


@pytest.mark.parametrize("batchnorm", [None, "train", "eval"])
def test_hvp_is_hessian_times_v_and_the_hessian_is_symmetric_before_symmetrising(batchnorm):
    rng = np.random.default_rng(12)
    model, loss = _mlp(rng, Tanh, batchnorm), SoftmaxCrossEntropy()
    X, y = _task(SoftmaxCrossEntropy, rng)
    P = len(hn.parameters_to_vector(model))
    columns = np.array([hn.hvp(model, loss, X, y, e) for e in np.eye(P)]).T     # raw H eⱼ
    assert np.abs(columns - columns.T).max() <= 1e-12 * np.abs(columns).max()
    v = rng.standard_normal(P)
    np.testing.assert_allclose(hn.hvp(model, loss, X, y, v), hn.hessian(model, loss, X, y) @ v, rtol=1e-10,
                               atol=1e-12 * np.abs(columns).max())


@pytest.mark.parametrize("loss_cls", [MSELoss, SoftmaxCrossEntropy, BCEWithLogitsLoss])
@pytest.mark.parametrize("batchnorm", [None, "train"])
def test_gauss_newton_is_Jt_HL_J_from_torchs_jacobian_and_positive_semidefinite(loss_cls, batchnorm):
    rng = np.random.default_rng(13)
    model, loss = _mlp(rng, Tanh, batchnorm), loss_cls()
    X, y = _task(loss_cls, rng)
    f, theta = functional_twin(model), torch.as_tensor(hn.parameters_to_vector(model))
    shapes = [(name, p.shape) for name, p in model.named_parameters()]

    def outputs(t):
        params, start = {}, 0
        for name, shape in shapes:
            params[name] = t[start:start + int(np.prod(shape))].reshape(shape)
            start += int(np.prod(shape))
        return f(params, torch.as_tensor(X))

    out = outputs(theta).detach()
    J = torch.autograd.functional.jacobian(outputs, theta).reshape(out.numel(), -1)
    H_L = torch.autograd.functional.hessian(lambda o: TORCH_LOSSES[loss_cls](o, torch.as_tensor(y)), out)
    H_L = H_L.reshape(out.numel(), out.numel())
    G = hn.gauss_newton(model, loss, X, y)
    assert_close(G, J.T @ H_L @ J, "Gauss–Newton matrix", tol=1e-8)
    assert np.linalg.eigvalsh(G).min() >= -1e-12 * np.abs(G).max()
    v = rng.standard_normal(len(G))
    assert_close(hn.gnvp(model, loss, X, y, v), G @ v, "Gauss–Newton-vector product", tol=1e-10)


def test_gauss_newton_equals_the_hessian_for_a_linear_model_with_mse():
    # The network is linear in θ, so J does not depend on θ and the Hessian is exactly Jᵀ H_L J.
    rng = np.random.default_rng(14)
    model, loss = hn.Sequential(Linear(3, 2, rng=rng)), MSELoss()
    X, y = _task(MSELoss, rng)
    np.testing.assert_allclose(hn.gauss_newton(model, loss, X, y), hn.hessian(model, loss, X, y), atol=1e-14)


def test_curvature_leaves_the_model_as_it_found_it():
    rng = np.random.default_rng(15)
    model, loss = _mlp(rng, Tanh, "train"), MSELoss()
    X, y = _task(MSELoss, rng)
    model(X)
    before = model.state_dict()
    caches = [dict(vars(m)) for m in model.modules()]
    objective = hn.ModelObjective(model, loss, X, y)
    w = hn.parameters_to_vector(model) + 0.1
    for call in (lambda: hn.hessian(model, loss, X, y), lambda: hn.gauss_newton(model, loss, X, y),
                 lambda: objective.value(w), lambda: objective.grad(w), lambda: objective.value_and_grad(w),
                 lambda: objective.hessian(w)):
        call()
        assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
        assert all(p.grad is None for p in model.parameters())
        assert all(all(vars(m)[k] is c[k] for k in c) for m, c in zip(model.modules(), caches))


def test_parameters_to_vector_uses_torchs_order_and_vector_to_parameters_keeps_the_objects():
    rng = np.random.default_rng(16)
    model = _mlp(rng, Tanh, "train")
    twin = functional_twin(model)   # noqa: F841  (built from the same state dict: same names)
    theirs = torch.nn.utils.parameters_to_vector(
        [torch.as_tensor(p.data) for p in model.parameters()]).numpy()
    np.testing.assert_array_equal(hn.parameters_to_vector(model), theirs)
    objects = model.parameters()
    v = rng.standard_normal(len(theirs))
    hn.vector_to_parameters(v, model)
    assert all(a is b for a, b in zip(objects, model.parameters()))
    np.testing.assert_array_equal(hn.parameters_to_vector(model), v)


def test_model_objective_value_and_gradient_agree_with_a_forward_and_backward_and_finite_differences():
    rng = np.random.default_rng(17)
    model, loss = _mlp(rng, Sigmoid, "train"), SoftmaxCrossEntropy()
    X, y = _task(SoftmaxCrossEntropy, rng)
    objective = hn.ModelObjective(model, loss, X, y)
    w = hn.parameters_to_vector(model)
    assert objective.value(w) == loss(model(X), y)
    f, g = objective.value_and_grad(w)                         # one forward and backward for both
    assert f == objective.value(w)
    np.testing.assert_array_equal(g, objective.grad(w))
    np.testing.assert_allclose(objective.grad(w), hn.numerical_gradient(objective.value, w), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(objective.hessian(w), hn.numerical_jacobian(objective.grad, w), rtol=1e-5,
                               atol=1e-8)


def test_a_penalty_added_to_grad_and_value_and_grad_of_a_model_objective_is_added_once_to_each():
    # ModelObjective's grad and value_and_grad share a helper, not each other: a subclass that adds
    # λw to both must see it once in each (grad calling value_and_grad would add it twice).
    class Penalised(hn.ModelObjective):
        def value(self, w):
            return super().value(w) + 0.5 * float(w @ w)

        def grad(self, w):
            return super().grad(w) + w

        def value_and_grad(self, w):
            f, g = super().value_and_grad(w)
            return f + 0.5 * float(w @ w), g + w

    rng = np.random.default_rng(19)
    model, loss = _mlp(rng, Tanh, "train"), MSELoss()
    X, y = _task(MSELoss, rng)
    plain, penalised = hn.ModelObjective(model, loss, X, y), Penalised(model, loss, X, y)
    w = hn.parameters_to_vector(model)
    np.testing.assert_array_equal(penalised.grad(w), plain.grad(w) + w)
    f, g = penalised.value_and_grad(w)
    assert f == plain.value(w) + 0.5 * float(w @ w)
    np.testing.assert_array_equal(g, plain.grad(w) + w)


# ---- minimisers on networks -------------------------------------------------------------------
def test_newton_on_a_linear_model_with_mse_converges_in_one_step():
    rng = np.random.default_rng(18)
    model = hn.Sequential(Linear(3, 2, rng=rng))
    X, y = _task(MSELoss, rng, n=20)
    result = newton(hn.ModelObjective(model, MSELoss(), X, y), hn.parameters_to_vector(model))
    assert result.converged and result.n_iter == 1


def _teacher_task():
    """A 1-3-1 tanh network fitted to a teacher of the same shape: a minimum with zero residual exists."""
    X = np.linspace(-2, 2, 40)[:, None]
    teacher = hn.Sequential(Linear(1, 3, rng=100), Tanh(), Linear(3, 1, rng=101))
    teacher[0].weight.data *= 3
    return X, teacher(X), hn.parameters_to_vector(teacher)


def test_newton_on_a_small_tanh_network_converges_quadratically_at_the_end():
    # Started near the teacher (Newton's method is local). Quadratic convergence means the order
    # p = log(g_{k+1}/g_k) / log(g_k/g_{k-1}) of the last steps is about 2 (1 would be linear).
    X, y, w_teacher = _teacher_task()
    rng = np.random.default_rng(2)
    model = hn.Sequential(Linear(1, 3, rng=rng), Tanh(), Linear(3, 1, rng=rng))
    result = newton(hn.ModelObjective(model, MSELoss(), X, y), w_teacher + 0.2 * rng.standard_normal(len(w_teacher)),
                    max_iter=100, tol=1e-10)
    assert result.converged, result.message
    g = np.log(result.history["grad_norm"][-3:])
    assert (g[2] - g[1]) / (g[1] - g[0]) >= 1.8
    assert result.history["step_size"][-1] == 1.0 and len(result.history["damping"]) == result.n_iter


def test_levenberg_marquardt_reaches_a_gradient_below_1e_8_on_a_small_regression_network():
    X, y, _ = _teacher_task()
    rng = np.random.default_rng(2)
    model = hn.Sequential(Linear(1, 3, rng=rng), Tanh(), Linear(3, 1, rng=rng))
    result = levenberg_marquardt(hn.ModelObjective(model, MSELoss(), X, y), hn.parameters_to_vector(model),
                                 tol=1e-8, max_iter=300)
    assert result.converged, result.message
    assert result.history["grad_norm"][-1] <= 1e-8 and len(result.history["mu"]) == result.n_iter


def test_levenberg_marquardt_survives_the_singular_gauss_newton_matrix_of_softmax_cross_entropy():
    # Shifting all logits together changes nothing, so G is singular and, in floating point, has
    # eigenvalues of about −1e-17: once μ falls below them Cholesky of G + μI fails. That μ must count
    # as a rejected step, not crash.
    model = hn.Sequential(Linear(1, 2, rng=0))
    objective = hn.ModelObjective(model, SoftmaxCrossEntropy(), np.array([[-1.0], [1.0]]), np.array([0, 1]))
    result = levenberg_marquardt(objective, hn.parameters_to_vector(model), max_iter=40)
    assert min(result.history["mu"]) < 1e-16                   # it went through the range that failed
    assert result.fun < 1e-8 * objective.value(hn.parameters_to_vector(model))


def test_levenberg_marquardt_on_least_squares_lands_on_the_normal_equations():
    from handnet.losses import LeastSquares

    rng = np.random.default_rng(21)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    objective = LeastSquares(X, y)
    result = levenberg_marquardt(objective, np.zeros(4))
    assert result.converged and hn.relative_error(result.x, objective.solve()) <= 1e-8


# ---- bad input ---------------------------------------------------------------------------------
def test_gradient_descent_on_a_network_needs_an_explicit_learning_rate():
    rng = np.random.default_rng(22)
    model = _mlp(rng, Tanh)
    X, y = _task(MSELoss, rng)
    with pytest.raises(ValueError, match="explicit lr"):
        gradient_descent(hn.ModelObjective(model, MSELoss(), X, y), hn.parameters_to_vector(model))


def test_curvature_refuses_a_vector_of_the_wrong_length_and_a_loss_without_hvp():
    from handnet.losses.loss import Loss

    class NoHessian(Loss):
        def forward(self, pred, target):
            self.pred = pred
            return float(np.sum(pred))

        def backward(self):
            return np.ones_like(self.pred)

    rng = np.random.default_rng(23)
    model = _mlp(rng, Tanh)
    X, y = _task(MSELoss, rng)
    with pytest.raises(ValueError, match="shape"):
        hn.hvp(model, MSELoss(), X, y, np.zeros(3))
    for call in (hn.hessian, hn.gauss_newton):
        with pytest.raises(TypeError, match="no hvp"):
            call(model, NoHessian(), X, y)


def test_levenberg_marquardt_refuses_an_objective_without_gauss_newton():
    from handnet.losses import Logistic

    with pytest.raises(TypeError, match="gauss_newton"):
        levenberg_marquardt(Logistic(np.eye(2), np.array([0, 1])), np.zeros(2))


# ---- each layer's second-order rule against torch ----------------------------------------------
@pytest.mark.parametrize("layer", [lambda: Linear(4, 3, rng=0), lambda: Linear(4, 3, bias=False, rng=0), ReLU,
                                   lambda: LeakyReLU(0.2), GELU, lambda: GELU("tanh"), Sigmoid, Tanh, Softmax,
                                   lambda: BatchNorm1d(4), lambda: LayerNorm(4), lambda: Dropout(0.4, rng=0)],
                         ids=["Linear", "Linear(bias=False)", "ReLU", "LeakyReLU", "GELU", "GELU(tanh)", "Sigmoid",
                              "Tanh", "Softmax", "BatchNorm1d", "LayerNorm", "Dropout"])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("n", [2, 7])
def test_layer_backward_tangent_equals_torch_jvp_of_vjp(layer, train, n):
    rng = np.random.default_rng(n + 10 * train)
    module = layer().train(train)
    if isinstance(module, (BatchNorm1d, LayerNorm)):
        module.weight.data, module.bias.data = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
        module(rng.standard_normal((9, 4)))           # running statistics away from (0, 1), for eval mode
    with torch_dropout_with_our_masks(module):       # Dropout in train mode: torch is given our mask
        compare_backward_tangent_with_torch(module, 1 + 2 * rng.standard_normal((n, 4)), rng=rng)


@pytest.mark.parametrize("shape", [(1, 3, 6), (4, 3, 5)])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_on_N_D_L_backward_tangent_equals_torch_jvp_of_vjp(shape, train):
    rng = np.random.default_rng(sum(shape) + 10 * train)
    bn = BatchNorm1d(shape[1])
    bn.weight.data, bn.bias.data = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    bn(rng.standard_normal((7, shape[1], 3)))            # running statistics away from (0, 1), for eval mode
    compare_backward_tangent_with_torch(bn.train(train), 1 + 2 * rng.standard_normal(shape), rng=rng)


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_backward_tangent_with_leading_axes_matches_torch(affine):
    rng = np.random.default_rng(31 + affine)
    ln = LayerNorm(5, elementwise_affine=affine)
    if affine:
        ln.weight.data, ln.bias.data = rng.uniform(0.5, 2, 5), rng.standard_normal(5)
    compare_backward_tangent_with_torch(ln, 2 + 3 * rng.standard_normal((2, 3, 5)), rng=rng)


@pytest.mark.parametrize("loss_cls", [MSELoss, SoftmaxCrossEntropy])
def test_hessian_through_layernorm_and_gelu_equals_torchs(loss_cls):
    # LayerNorm couples the features of each row: moving one moves every gradient of its row.
    rng = np.random.default_rng(20)
    ln = LayerNorm(4)
    ln.weight.data, ln.bias.data = rng.uniform(0.5, 2, 4), 0.1 * rng.standard_normal(4)
    model, loss = hn.Sequential(Linear(3, 4, rng=rng), ln, GELU(), Linear(4, 2, rng=rng)), loss_cls()
    X, y = _task(loss_cls, rng)
    theirs = torch.autograd.functional.hessian(_torch_loss_of_vector(model, loss, X, y),
                                               torch.as_tensor(hn.parameters_to_vector(model)))
    assert_close(hn.hessian(model, loss, X, y), theirs, "Hessian through LayerNorm", tol=1e-8)


def test_linear_backward_tangent_with_leading_axes_matches_torch():
    rng = np.random.default_rng(30)
    compare_backward_tangent_with_torch(Linear(4, 3, rng=rng), rng.standard_normal((2, 5, 4)), rng=rng)
