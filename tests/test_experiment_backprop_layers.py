"""The backprop_layers experiment in quick mode: it writes its report, our gradients match torch's and
finite differences layer by layer, and the deep sigmoid net's gradients vanish where BatchNorm's do not."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from experiments import backprop_layers
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(backprop_layers, tmp_path_factory.mktemp("experiments") / backprop_layers.NAME)


def test_writes_report_metrics_and_every_plot_it_embeds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots={"grad_norms.png"})
    assert returned["claim_holds"] is True and metrics["claim_holds"] is True


def test_every_layer_gradient_equals_torch_to_1e_10_and_finite_differences_to_1e_6(run):
    _, metrics, _ = run
    layers = metrics["layers"]
    assert [r["layer"] for r in layers] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Tanh", "Linear", "Sigmoid",
                                            "Linear", "SoftmaxCrossEntropy"]
    for r in layers:
        assert r["torch_error"] <= 1e-10 and r["fd_error"] <= 1e-6, r
        assert r["grad_norm"] > 0
    assert metrics["max_torch_error"] <= 1e-10 and metrics["max_fd_error"] <= 1e-6


def test_deep_sigmoid_gradient_vanishes_and_batchnorm_keeps_every_layer_within_half_of_the_last(run):
    _, metrics, _ = run
    nets = metrics["nets"]
    assert metrics["depth"] + 1 == len(nets["sigmoid"]["grad_norms"][0])    # one norm per Linear layer
    assert len(nets["sigmoid"]["grad_norms"]) == metrics["epochs"]          # one row per epoch, from fit's callback
    sigmoid = np.array(nets["sigmoid"]["grad_norms"])                        # (epochs, layers)
    assert np.all(sigmoid[:, 0] / sigmoid[:, -1] < 1e-3)
    assert np.all(np.diff(sigmoid, axis=1) > 0)                     # shrinking at every layer on the way down
    assert 0.1 < nets["sigmoid"]["per_layer_factor"][-1] < 0.2      # about (1/4)·√(1/3) ≈ 0.144 per layer
    bn = np.array(nets["ReLU + BatchNorm"]["grad_norms"])
    assert np.all(bn / bn[:, -1:] >= 0.5)
    assert metrics["sigmoid_max_first_over_last"] == pytest.approx((sigmoid[:, 0] / sigmoid[:, -1]).max())
    assert metrics["batchnorm_min_ratio"] == pytest.approx((bn / bn[:, -1:]).min())


def test_without_torch_the_report_says_so_and_the_torch_check_fails(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)   # `import torch` now raises ImportError
    monkeypatch.setattr(backprop_layers, "EPOCHS_QUICK", 1)
    out, metrics, _ = run_quick(backprop_layers, tmp_path)
    assert_reported_as_failed(out, metrics, "torch autograd")
    assert all(r["torch_error"] is None for r in metrics["layers"]) and metrics["max_fd_error"] <= 1e-6
    assert "torch is not installed" in (out / "report.md").read_text(encoding="utf-8")


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # The sigmoid net's first/last ratio is about 3e-5: a bound of 1e-6 must fail, and say so.
    monkeypatch.setattr(backprop_layers, "SIGMOID_BOUND", 1e-6)
    monkeypatch.setattr(backprop_layers, "EPOCHS_QUICK", 1)
    out, metrics, _ = run_quick(backprop_layers, tmp_path)
    assert_reported_as_failed(out, metrics, "sigmoid net")
