"""The backprop_layers experiment in quick mode: it writes its report, our gradients match torch's and
finite differences layer by layer, and the deep sigmoid net's gradients vanish where BatchNorm's do not."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from experiments import backprop_layers
from tests.experiment_runs import assert_report_complete, run_quick

PLOTS = ["differences.png", "grad_norms.png", "grad_profile.png"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("torch")
    return run_quick(backprop_layers, tmp_path_factory.mktemp("experiments") / backprop_layers.NAME)


def test_writes_report_metrics_and_every_plot_it_embeds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots=set(PLOTS))
    assert returned["claim_holds"] is True and metrics["claim_holds"] is True


def test_every_layer_gradient_equals_torch_to_1e_10_and_finite_differences_to_1e_6(run):
    _, metrics, _ = run
    layers = metrics["layers"]
    kinds = [r["layer"] for r in layers]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Tanh", "Linear", "Sigmoid", "Linear",
                     "SoftmaxCrossEntropy"]
    assert metrics["reference"] == "torch"
    assert metrics["loss"] == pytest.approx(metrics["torch_loss"], rel=1e-12)
    for r in layers:
        assert set(r["torch_difference"]) == set(r["fd_difference"]) == set(r["grad_norm"])
        assert max(r["torch_difference"].values()) <= 1e-10, r
        assert max(r["fd_difference"].values()) <= 1e-6, r
        assert r["grad_norm"]["input"] > 0
    assert metrics["max_torch_difference"] <= 1e-10 and metrics["max_fd_difference"] <= 1e-6
    assert layers[1]["output_mean"] == pytest.approx(0, abs=1e-12)   # BatchNorm with γ = 1, β = 0: mean 0, std 1
    assert layers[1]["output_std"] == pytest.approx(1, abs=1e-3)


def test_deep_sigmoid_gradient_vanishes_and_batchnorm_keeps_every_layer_within_half_of_the_last(run):
    _, metrics, _ = run
    nets = metrics["nets"]
    assert metrics["depth"] + 1 == len(nets["sigmoid"]["grad_norms"][0])    # one norm per Linear layer
    sigmoid = np.array(nets["sigmoid"]["grad_norms"])                        # (epochs, layers)
    assert np.all(sigmoid[:, 0] / sigmoid[:, -1] < 1e-3)
    assert np.all(np.diff(sigmoid, axis=1) > 0)                     # shrinking at every layer on the way down
    bn = np.array(nets["ReLU + BatchNorm"]["grad_norms"])
    assert np.all(bn / bn[:, -1:] >= 0.5)
    assert metrics["sigmoid_max_first_over_last"] == pytest.approx((sigmoid[:, 0] / sigmoid[:, -1]).max())
    assert metrics["batchnorm_min_ratio"] == pytest.approx((bn / bn[:, -1:]).min())
    assert metrics["checks"] == dict(torch=True, finite_differences=True, sigmoid_vanishes=True, batchnorm_keeps=True)


def test_finite_difference_errors_are_absolute_rounding_divided_by_each_tensors_largest_entry(run):
    # A central difference errs by about ε_mach·|L|/ε in absolute terms; the report's relative differences
    # are those absolute errors over max |∂L/∂T|, largest where the tensor's entries are smallest.
    _, metrics, _ = run
    fd = metrics["finite_differences"]
    assert fd["rounding_estimate"] == pytest.approx(np.finfo(np.float64).eps * metrics["loss"] / metrics["fd_eps"])
    for r in metrics["layers"]:
        for name, relative in r["fd_difference"].items():
            assert r["fd_absolute"][name] == pytest.approx(relative * r["grad_max"][name], rel=1e-9)
    assert fd["max_absolute"] <= 10 * fd["rounding_estimate"]
    assert fd["worst"]["relative"] == metrics["max_fd_difference"]
    assert fd["worst"]["largest_entry"] == fd["smallest_largest_entry"] < 1e-3


def test_the_deep_sigmoid_nets_forward_signal_collapses_by_the_same_factor_as_its_gradient(run):
    _, metrics, _ = run
    sigmoid, bn = metrics["nets"]["sigmoid"], metrics["nets"]["ReLU + BatchNorm"]
    spread = np.array(sigmoid["spread_init"])                    # one per hidden layer
    assert len(spread) == metrics["depth"] and spread[-1] < 1e-4
    assert np.all(0.1 < spread[1:] / spread[:-1]) and np.all(spread[1:] / spread[:-1] < 0.2)   # about (1/4)·√(1/3)
    assert sigmoid["spread_factor_init"] == pytest.approx((spread[-1] / spread[0]) ** (1 / (len(spread) - 1)))
    assert sigmoid["most_common_prediction_share"] == 1.0 and sigmoid["test_accuracy"] < 0.2   # one class for all
    # BatchNorm: unit spread before the ReLU, √(1/2 − 1/(2π)) ≈ 0.58 after it, at every layer
    assert np.all(np.abs(np.array(bn["spread_init"]) - np.sqrt(0.5 - 0.5 / np.pi)) < 0.1)


def test_first_over_last_is_layer_one_over_two_times_the_per_layer_factor_to_the_fifth(run):
    _, metrics, _ = run
    for kind, net in metrics["nets"].items():
        norms = np.array(net["grad_norms"])                      # (epochs, layers)
        factor = np.array(net["per_layer_factor"])
        assert np.allclose(factor ** (norms.shape[1] - 2), norms[:, 1] / norms[:, -1], rtol=1e-9), kind
        assert np.allclose(np.array(net["first_over_second"]) * factor ** (norms.shape[1] - 2),
                           net["first_over_last"], rtol=1e-9), kind
    sigmoid = metrics["nets"]["sigmoid"]
    assert 0.1 < sigmoid["per_layer_factor"][-1] < 0.2                  # about (1/4)·√(1/3) ≈ 0.144
    assert sigmoid["first_over_second"][-1] > 2 * sigmoid["per_layer_factor"][-1]   # layer 1's input is the pixels
    assert sigmoid["input_size_first_over_second"] > 2


def test_without_torch_the_layers_are_checked_against_finite_differences_only(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)   # `import torch` now raises ImportError
    _, metrics, returned = run_quick(backprop_layers, tmp_path / backprop_layers.NAME)
    assert metrics["reference"] == "finite differences" and metrics["max_torch_difference"] is None
    assert all(r["torch_difference"] is None for r in metrics["layers"])
    assert metrics["max_fd_difference"] <= 1e-6
    assert returned["claim_holds"] is True
    assert "torch is not installed" in (tmp_path / backprop_layers.NAME / "report.md").read_text(encoding="utf-8")


def test_relative_difference_is_on_the_scale_of_the_reference():
    assert backprop_layers.relative_difference(np.array([1.0, 2.0]), np.array([1.0, 4.0])) == 0.5
    assert backprop_layers.relative_difference(np.zeros(2), np.zeros(2)) == 0.0


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # The sigmoid net's first/last ratio is about 3e-5: a bound of 1e-6 must fail, and say so.
    monkeypatch.setattr(backprop_layers, "SIGMOID_BOUND", 1e-6)
    monkeypatch.setattr(backprop_layers, "EPOCHS_QUICK", 1)
    _, metrics, returned = run_quick(backprop_layers, tmp_path / backprop_layers.NAME)
    assert returned["claim_holds"] is False and metrics["checks"]["sigmoid_vanishes"] is False
    assert "do NOT bear the claim out" in (tmp_path / backprop_layers.NAME / "report.md").read_text(encoding="utf-8")
