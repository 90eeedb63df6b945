"""erf, erfc and the normal CDF of handnet.functional against the standard library and torch.

Both references are within a unit or two in the last place of the true value, so agreeing with
them to a relative 1e-15 (about 5 units) everywhere, the tails included, says ours is too.
"""

import math

import numpy as np
import pytest
import torch

from handnet.functional import erf, erfc, normal_cdf

TOL = 1e-15


def _points():
    """Random points on every scale, both signs, every centre of the series and every midpoint
    between two (where |h| is largest), and both sides of the switch to the continued fraction at 4."""
    rng = np.random.default_rng(0)
    tiny_to_large = 10.0 ** rng.uniform(-300, 1.4, 2000)
    centres_and_midpoints = np.arange(0, 4 + 1 / 128, 1 / 64)
    return np.concatenate([rng.uniform(-6, 6, 20000), rng.uniform(-27, 27, 4000), tiny_to_large, -tiny_to_large,
                           centres_and_midpoints, -centres_and_midpoints, np.nextafter(4.0, [0.0, 8.0]), [5e-324]])


def _max_rel_err(ours, reference):
    keep = np.abs(reference) >= np.finfo(np.float64).tiny   # relative error means nothing once subnormal
    return float((np.abs(ours - reference)[keep] / np.abs(reference)[keep]).max())


@pytest.mark.parametrize("ours,reference", [(erf, math.erf), (erfc, math.erfc)], ids=["erf", "erfc"])
def test_erf_and_erfc_agree_with_the_standard_library_to_1e_15_relative_everywhere(ours, reference):
    x = _points()
    assert _max_rel_err(ours(x), np.array([reference(v) for v in x])) <= TOL


@pytest.mark.parametrize("ours,reference", [(erf, torch.erf), (erfc, torch.erfc)], ids=["erf", "erfc"])
def test_erf_and_erfc_agree_with_torch_to_1e_15_relative_everywhere(ours, reference):
    x = _points()
    assert _max_rel_err(ours(x), reference(torch.from_numpy(x)).numpy()) <= TOL


def test_erfc_keeps_its_digits_where_one_minus_erf_has_none():
    # erfc(6) ≈ 2.15e-17 is below half a unit of 1, so 1 − erf(6) is exactly 0.
    x = np.array([6.0, 10.0, 20.0, 26.0])
    assert np.all(1 - erf(x) == 0)
    assert _max_rel_err(erfc(x), np.array([math.erfc(v) for v in x])) <= TOL


def test_normal_cdf_is_accurate_deep_in_the_left_tail_where_the_textbook_formula_is_not():
    # Φ(−8) ≈ 6.2e-16: ½(1 + erf(−8/√2)) is a difference of two numbers near 1 and keeps no digit of it.
    # The reference gets the same rounded argument −x·√½: erfc(t) amplifies a change of t by 2t².
    x = np.array([-8.0, -20.0, -37.0, 0.5, 3.0])
    exact = np.array([0.5 * math.erfc(-v * math.sqrt(0.5)) for v in x])
    assert _max_rel_err(normal_cdf(x), exact) <= TOL
    textbook = 0.5 * (1 + erf(x[:1] / np.sqrt(2)))
    assert abs(textbook[0] - exact[0]) / exact[0] > 1e-3


def test_special_values_signs_dtypes_and_shapes():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(erf(x), [0.0, -0.0, 1.0, -1.0, np.nan])
    assert np.signbit(erf(x)[1])
    np.testing.assert_array_equal(erfc(x), [1.0, 1.0, 0.0, 2.0, np.nan])
    np.testing.assert_array_equal(normal_cdf(x), [0.5, 0.5, 1.0, 0.0, np.nan])
    y = np.random.default_rng(1).uniform(-5, 5, (3, 4))
    np.testing.assert_array_equal(erf(-y), -erf(y))                    # odd, exactly
    assert erf(y.astype(np.float32)).dtype == np.float32 and erf(y).shape == (3, 4)
    assert erf(np.array(0.5)).shape == () and erf([1, 2]).dtype == np.float64
