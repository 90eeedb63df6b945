"""The mlp_toy experiment in quick mode: it writes its report, and the numbers behind its claim hold."""

from __future__ import annotations

import numpy as np
import pytest

from experiments import mlp_toy
from tests.experiment_runs import assert_report_complete, run_quick

PLOTS = ["curves_moons.png", "curves_circles.png", "curves_digits.png", "boundaries.png"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(mlp_toy, tmp_path_factory.mktemp("experiments") / mlp_toy.NAME)


def test_writes_report_metrics_and_every_plot_it_embeds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots=set(PLOTS))
    assert returned["claim_holds"] is True and metrics["claim_holds"] is True


def test_all_twelve_configurations_reach_the_target_test_accuracy(run):
    _, metrics, _ = run
    runs = metrics["runs"]
    assert {(r["dataset"], r["batchnorm"], r["optimizer"]) for r in runs} == {
        (d, bn, opt) for d in ("moons", "circles", "digits") for bn in (False, True) for opt in ("SGD", "Adam")}
    targets = {"moons": 0.97, "circles": 0.95, "digits": 0.95}
    assert metrics["targets"] == targets
    for r in runs:
        assert min(r["final_test_accuracy"]) >= targets[r["dataset"]], r["final_test_accuracy"]
        # the final accuracy is the last point of the test curve: the curve and the table agree
        assert r["histories"][0]["test_accuracy"][-1] == pytest.approx(r["final_test_accuracy"][0], abs=1e-12)
        assert len(r["histories"][0]["train_loss"]) == r["epochs"]


def test_batchnorm_never_slower_and_adam_faster_than_sgd_without_batchnorm(run):
    _, metrics, _ = run
    by = {(r["dataset"], r["batchnorm"], r["optimizer"]): r["epochs_to_target"] for r in metrics["runs"]}
    for d in ("moons", "circles", "digits"):
        for opt in ("SGD", "Adam"):
            for plain, bn in zip(by[d, False, opt], by[d, True, opt]):
                assert bn is not None and (plain is None or bn <= plain), (d, opt, plain, bn)
        for sgd, adam in zip(by[d, False, "SGD"], by[d, False, "Adam"]):
            assert adam is not None and (sgd is None or adam < sgd), (d, sgd, adam)
    assert metrics["batchnorm_never_slower"] and metrics["adam_faster_without_batchnorm"]


def test_batchnorms_speed_ups_and_the_optimizer_gap_are_computed_from_the_median_epochs(run):
    out, metrics, _ = run
    by = {(r["dataset"], r["batchnorm"], r["optimizer"]): r["epochs_to_target"] for r in metrics["runs"]}
    effects = {e["dataset"]: e for e in metrics["batchnorm_effect"]}
    assert sorted(effects) == ["circles", "digits", "moons"]
    for d, e in effects.items():
        median = {(bn, opt): float(np.median(by[d, bn, opt])) for bn in (False, True) for opt in ("SGD", "Adam")}
        assert e["batchnorm_speedup_sgd"] == pytest.approx(median[False, "SGD"] / median[True, "SGD"])
        assert e["batchnorm_speedup_adam"] == pytest.approx(median[False, "Adam"] / median[True, "Adam"])
        assert e["gap_without_batchnorm"] == pytest.approx(median[False, "SGD"] / median[False, "Adam"])
        # the gap with BatchNorm is the gap without times Adam's speed-up over SGD's
        assert e["gap_with_batchnorm"] == pytest.approx(
            e["gap_without_batchnorm"] * e["batchnorm_speedup_adam"] / e["batchnorm_speedup_sgd"])
        assert e["gap_narrows"] is (e["gap_with_batchnorm"] < e["gap_without_batchnorm"])
    report = (out / "report.md").read_text(encoding="utf-8")
    narrowed = sum(e["gap_narrows"] for e in effects.values())
    assert f"narrowed the gap on {narrowed} of 3" in report or (narrowed == 3 and "on every data set" in report)


def test_epochs_to_target_is_the_first_epoch_at_or_above_the_target():
    assert mlp_toy.epochs_to_reach([0.5, 0.97, 0.96, 0.98], 0.97) == 2
    assert mlp_toy.epochs_to_reach([0.5, 0.9], 0.97) is None


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # One epoch is too few for plain SGD on moons (it needs about 16): the verdict must say so.
    monkeypatch.setattr(mlp_toy, "EPOCHS_QUICK", {"moons": 1, "circles": 1, "digits": 1})
    returned = mlp_toy.main(tmp_path / mlp_toy.NAME, quick=True, seed=0)
    assert returned["claim_holds"] is False and not returned["all_reach_target"]
    assert "do NOT bear the claim out" in (tmp_path / mlp_toy.NAME / "report.md").read_text(encoding="utf-8")
