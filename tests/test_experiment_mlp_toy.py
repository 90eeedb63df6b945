"""The mlp_toy experiment in quick mode: it writes its report, and the numbers behind its claim hold."""

from __future__ import annotations

import pytest

from experiments import mlp_toy
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(mlp_toy, tmp_path_factory.mktemp("experiments") / mlp_toy.NAME)


def test_writes_report_metrics_and_every_plot_it_embeds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots={"curves.png", "boundaries.png"})
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


def test_epochs_to_target_is_the_first_epoch_at_or_above_the_target():
    assert mlp_toy.epochs_to_reach([0.5, 0.97, 0.96, 0.98], 0.97) == 2
    assert mlp_toy.epochs_to_reach([0.5, 0.9], 0.97) is None


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # One epoch is too few for plain SGD on moons (it needs about 16): the verdict must say so.
    monkeypatch.setattr(mlp_toy, "EPOCHS_QUICK", {"moons": 1, "circles": 1, "digits": 1})
    out, metrics, _ = run_quick(mlp_toy, tmp_path)
    assert_reported_as_failed(out, metrics, "every configuration ends at or above")
