"""Penalised: value, gradient, Hessian and Gauss–Newton of f + ½Σλᵢwᵢ² + ½μ(Σ_S wᵢ)² against torch, its
curvature constants, and when it lets the inner objective's verdict "no minimiser" through."""

import numpy as np
import pytest
import torch

import handnet as hn
from handnet.layers import Linear, Tanh
from handnet.losses import Logistic, MSELoss
from handnet.sklearn.penalised import Penalised
from tests.torch_compare import compare_objective_with_torch


def logistic_problem(seed=0, n=30, d=4):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.standard_normal((n, d - 1)), np.ones(n)]
    return X, (rng.uniform(size=n) < 0.5).astype(float), rng


def test_value_gradient_and_hessian_equal_torch_autograd_of_the_formula():
    X, y, rng = logistic_problem()
    lam, centred, mu = np.array([0.3, 0.0, 0.1, 0.0]), np.array([1, 3]), 0.7
    ours = Penalised(Logistic(X, y), lam, centred=centred, mu=mu)
    Xt, yt, lt = torch.as_tensor(X), torch.as_tensor(y), torch.as_tensor(lam)

    def theirs(w):
        bce = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w, yt)
        return bce + 0.5 * (lt * w * w).sum() + 0.5 * mu * w[centred].sum() ** 2

    w = rng.standard_normal(4)
    compare_objective_with_torch(ours, theirs, w)


def test_gauss_newton_adds_the_same_curvature_to_the_networks_gauss_newton_matrix():
    rng = np.random.default_rng(1)
    model = hn.Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    inner = hn.ModelObjective(model, MSELoss(), rng.standard_normal((10, 3)), rng.standard_normal((10, 2)))
    lam = rng.uniform(size=inner.n_features)
    ours, w = Penalised(inner, lam, centred=[0, 5], mu=0.2), hn.parameters_to_vector(model)
    extra = np.diag(lam)
    extra[np.ix_([0, 5], [0, 5])] += 0.2
    np.testing.assert_allclose(ours.gauss_newton(w), inner.gauss_newton(w) + extra, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours.hessian(w), inner.hessian(w) + extra, rtol=1e-13, atol=1e-15)


def test_curvature_constants_bound_the_hessian_eigenvalues_everywhere():
    X, y, rng = logistic_problem(2)
    ours = Penalised(Logistic(X, y, lam=0.05), np.array([0.2, 0.4, 0.0, 0.1]), centred=[0, 1], mu=0.3)
    for w in [np.zeros(4), *rng.standard_normal((3, 4))]:
        eigenvalues = np.linalg.eigvalsh(ours.hessian(w))
        assert eigenvalues[-1] <= ours.lipschitz * (1 + 1e-12)
        assert eigenvalues[0] >= ours.strong_convexity * (1 - 1e-12)
    assert ours.strong_convexity == 0.05                       # λ of the inner objective + min λᵢ = 0


def test_separable_classes_have_a_minimiser_once_the_weights_are_penalised():
    X = np.array([[1.0, 1.0], [2.0, 1.0], [-1.0, 1.0], [-2.0, 1.0]])     # separable by the first column
    y, w = np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.0])
    assert Penalised(Logistic(X, y), np.zeros(2)).no_minimiser(w) is not None
    assert Penalised(Logistic(X, y), np.array([0.1, 0.0])).no_minimiser(w) is None


@pytest.mark.parametrize("lam", [np.ones(3), -np.ones(4), np.array([1.0, np.nan, 0.0, 0.0])])
def test_a_penalty_of_the_wrong_shape_or_sign_is_refused(lam):
    X, y, _ = logistic_problem()
    with pytest.raises(ValueError, match="lam must hold 4 finite numbers ≥ 0"):
        Penalised(Logistic(X, y), lam)
