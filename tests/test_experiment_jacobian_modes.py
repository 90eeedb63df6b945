"""The jacobian_modes experiment in --quick mode: n jvps against m backwards, one Jacobian either way."""

import pytest

from experiments import jacobian_modes
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(jacobian_modes, tmp_path_factory.mktemp("jacobian_modes"))


def test_report_metrics_and_plot_are_written_and_the_checks_that_do_not_time_hold(run):
    # The two timing checks are left out: whether they hold depends on how busy the machine is.
    out, metrics, returned = run
    assert_report_complete(out, plots={"speed_ratio.png"})
    assert returned["claim_holds"] is metrics["claim_holds"]
    untimed = [c for c in metrics["checks"] if "faster" not in c["claim"]]
    assert len(untimed) == 3 and all(c["holds"] for c in untimed)


def test_forward_mode_takes_n_jvps_and_reverse_mode_m_backwards_in_every_cell(run):
    _, metrics, _ = run
    cells = metrics["cells"]
    assert [(c["n"], c["m"]) for c in cells] == [(n, m) for n in (1, 8, 64) for m in (1, 8, 64)]
    assert all(c["forward_passes"] == c["n"] and c["reverse_passes"] == c["m"] for c in cells)


def test_the_jacobians_built_by_columns_and_by_rows_agree_to_rounding(run):
    _, metrics, _ = run
    assert all(c["relative_error"] <= 1e-12 for c in metrics["cells"])
    assert metrics["max_relative_error"] == max(c["relative_error"] for c in metrics["cells"])


def test_every_cell_is_timed_both_ways_but_no_time_is_asserted(run):
    _, metrics, _ = run
    for c in metrics["cells"]:
        assert c["forward_seconds"] > 0 and c["reverse_seconds"] > 0
        assert c["ratio"] == pytest.approx(c["reverse_seconds"] / c["forward_seconds"])


def test_a_tie_in_time_is_reported_as_a_failed_claim(tmp_path, monkeypatch):
    # Every build timed at 1 s: neither mode is faster at either corner, whatever the machine does.
    monkeypatch.setattr(jacobian_modes, "best_time", lambda fn, repeats=1: 1.0)
    out, metrics, _ = run_quick(jacobian_modes, tmp_path)
    assert_reported_as_failed(out, metrics, "forward mode is at least")
    assert_reported_as_failed(out, metrics, "reverse mode is at least")
    assert all(c["holds"] for c in metrics["checks"] if "faster" not in c["claim"])

