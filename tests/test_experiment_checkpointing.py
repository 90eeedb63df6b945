"""The checkpointing experiment in --quick mode: it writes its report, the gradients are the plain
model's, and the memory numbers behind the claim hold (the times are reported, never asserted)."""

import numpy as np
import pytest

from experiments import checkpointing
from tests.experiment_runs import assert_report_complete, run_quick


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(checkpointing, tmp_path_factory.mktemp("experiments") / checkpointing.NAME)


def test_writes_report_metrics_and_its_plot(run):
    out, metrics, returned = run
    report = assert_report_complete(out, plots={"memory_and_time.png"})
    assert returned["claim_holds"] is metrics["claim_holds"] is all(c["holds"] for c in metrics["checks"])
    assert "48 GB → 7 GB" in report and "Chen et al. (2016)" in report


def test_every_checkpointed_model_has_the_plain_gradients_exactly(run):
    _, metrics, _ = run
    rows = metrics["segments_sweep"] + [r for pair in metrics["scaling"] for r in (pair["plain"], pair["root"])]
    assert max(r["grad_difference"] for r in rows) == metrics["max_grad_difference"] <= 1e-15


def test_the_ledger_holds_s_plus_n_over_s_arrays_to_within_one(run):
    _, metrics, _ = run
    B, n = metrics["array_bytes"], metrics["depths"][-1]
    for r in metrics["segments_sweep"]:
        assert r["depth"] == n and r["held"] % B == 0          # whole (N, D) arrays, each counted once
        assert abs(r["held"] / B - r["theory_held"]) <= 1, r
    plain = metrics["segments_sweep"][0]
    assert plain["segments"] == 1 and plain["held"] == (n + 1) * B


def test_held_bytes_grow_as_root_n_at_root_n_segments_and_as_n_plain(run):
    _, metrics, _ = run
    depths = metrics["depths"]
    root = [pair["root"]["held"] for pair in metrics["scaling"]]
    plain = [pair["plain"]["held"] for pair in metrics["scaling"]]
    assert [pair["root"]["segments"] for pair in metrics["scaling"]] == [round(np.sqrt(d)) for d in depths]
    assert metrics["root_slope"] == pytest.approx(np.polyfit(np.log(depths), np.log(root), 1)[0])
    assert 0.4 <= metrics["root_slope"] <= 0.6 and metrics["plain_slope"] > 0.9
    assert all(r < p for r, p in zip(root[1:], plain[1:]))


def test_tracemallocs_peak_at_root_n_segments_is_at_most_half_the_plain_models(run):
    _, metrics, _ = run
    sweep = metrics["segments_sweep"]
    at_root = next(r for r in sweep if r["segments"] == round(np.sqrt(metrics["depths"][-1])))
    assert metrics["peak_ratio"] == pytest.approx(at_root["peak"] / sweep[0]["peak"]) and metrics["peak_ratio"] <= 0.5
    assert at_root["peak"] >= at_root["held"]    # the peak adds the rebuilt segment to what is held


def test_the_time_numbers_are_reported_with_their_theory(run):
    _, metrics, _ = run
    for r in metrics["segments_sweep"]:
        assert r["step"] > 0 and np.isfinite(r["extra_forwards"])
        assert 0 <= r["extra_forwards_theory"] < 1
    assert metrics["segments_sweep"][0]["extra_forwards_theory"] == 0


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpointing, "PEAK_RATIO", 0.01)     # no schedule holds 1% of the plain peak
    out, metrics, _ = run_quick(checkpointing, tmp_path)
    assert metrics["claim_holds"] is False
    assert "do NOT bear the claim out" in assert_report_complete(out)
