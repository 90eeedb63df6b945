"""Property: any Sequential built from our layers computes what torch computes, values and gradients."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import handnet as hn
from handnet.layers import BatchNorm1d, GELU, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from tests.torch_compare import compare_backward_tangent_with_torch, compare_with_torch

ACTIVATIONS = [ReLU, LeakyReLU, GELU, lambda: GELU("tanh"), Sigmoid, Tanh]


@st.composite
def networks(draw):
    """A random MLP: widths, activations, optional BatchNorm and bias, a Softmax head or not."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    widths = draw(st.lists(st.integers(1, 9), min_size=2, max_size=5))
    layers = []
    for d_in, d_out in zip(widths, widths[1:]):
        layers.append(Linear(d_in, d_out, bias=draw(st.booleans()), rng=rng))
        if draw(st.booleans()):
            layers.append(BatchNorm1d(d_out))
        layers.append(draw(st.sampled_from(ACTIVATIONS))())
    if draw(st.booleans()):
        layers.append(Softmax())
    batch = draw(st.integers(2, 12))
    train = draw(st.booleans())
    return hn.Sequential(*layers), rng.standard_normal((batch, widths[0])), train, rng


def well_posed(model: hn.Sequential, x: np.ndarray) -> bool:
    """False when a derivative is not defined, so that two correct libraries may disagree.

    That is a ReLU or LeakyReLU input at its kink (|x| < 1e-9: torch and we both take the slope
    of the left side there, but rounding decides which side of 0 a value falls), or a feature that is constant over the
    batch entering BatchNorm in train mode (x̂ = 0/√ε, the same situation one layer later).
    Random networks of width 1 produce both when a ReLU is dead on the whole batch.
    """
    for layer in model:
        if isinstance(layer, (ReLU, LeakyReLU)) and np.any(np.abs(x) < 1e-9):
            return False
        if isinstance(layer, BatchNorm1d) and layer.training and np.any(x.std(axis=0) < 1e-6):
            return False
        x = layer.forward(x)
    return True


@settings(max_examples=60, deadline=None)
@given(networks())
def test_random_sequential_matches_torch_forward_and_all_gradients(case):
    model, x, train, rng = case
    model.train(train)
    for x_step in (x, rng.standard_normal(x.shape)):  # two steps, so running statistics move twice
        assume(well_posed(model, x_step))
        compare_with_torch(model, x_step, rng=rng)


@settings(max_examples=40, deadline=None)
@given(networks())
def test_random_sequential_jvp_and_second_order_rule_match_torch(case):
    from tests.test_forward_mode import compare_jvp_with_torch

    model, x, train, rng = case
    model.train(train)
    assume(well_posed(model, x))
    compare_jvp_with_torch(model, x, rng)
    compare_backward_tangent_with_torch(model, x, rng=rng)
