"""The ridge_scaling experiment in --quick mode: GD's iterations depend on κ alone; every stage is timed."""

import pytest

from experiments import ridge_scaling
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(ridge_scaling, tmp_path_factory.mktemp("ridge_scaling"))


def test_report_metrics_and_plots_are_written_and_the_claim_holds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots={"scaling.png"})
    assert metrics["claim_holds"] is True and returned["claim_holds"] is True


def test_the_bound_depends_on_kappa_alone_and_gd_needs_most_of_it_at_every_size(run):
    _, metrics, _ = run
    sweep = metrics["sweep"]
    assert [(r["n"], r["d"]) for r in sweep] == [(200, 10), (800, 10), (400, 5), (400, 10), (400, 20)]
    assert all(r["kappa"] == pytest.approx(100, rel=1e-8) for r in sweep)   # the data have κ = 100 exactly
    # (1 − 1/κ)ᵏ ≤ 1e-8 first at k = ⌈ln 1e-8 / ln 0.99⌉ = 1833, whatever n and d
    assert {r["bound_iterations"] for r in sweep} == {1833}
    assert all(0.7 * 1833 <= r["iterations"] <= 1833 and r["final_distance"] <= 1e-8 for r in sweep)


def test_every_stage_is_timed_and_fitted_but_no_time_is_asserted(run):
    # Wall times are reported, never asserted: a test must not depend on how busy the machine is.
    _, metrics, _ = run
    stages = {"gd", "closed_form", "form", "factor", "solve", "eig"}
    assert all(set(r["seconds"]) == stages for r in metrics["sweep"])
    assert set(metrics["time_exponents"]) == stages
    assert all(set(e) == {"n", "d"} for e in metrics["time_exponents"].values())


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # No spread allowed: GD would have to take exactly the bound's iterations, and it takes fewer
    # (κ = 4 keeps the run short).
    monkeypatch.setattr(ridge_scaling, "SPREAD", 0.0)
    monkeypatch.setattr(ridge_scaling, "KAPPA", 4.0)
    out, metrics, _ = run_quick(ridge_scaling, tmp_path)
    assert_reported_as_failed(out, metrics, "iterations lie within")
