"""The newton_small_net experiment in --quick mode: files written, and the numbers behind its claim."""

import pytest

from experiments import newton_small_net
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick

METHODS = ("GD", "Adam", "Newton", "LM")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(newton_small_net, tmp_path_factory.mktemp("experiments") / newton_small_net.NAME)


def test_writes_report_metrics_and_both_plots_and_the_claim_holds(run):
    out, metrics, returned = run
    report = assert_report_complete(out, plots={"convergence.png", "spectra.png"})
    assert metrics["claim_holds"] is True and returned["claim_holds"] is True
    assert "1.03e-8 after 100 epochs" in report and "0.000659 after 10000 epochs" in report   # published, beside ours


def test_the_three_tasks_have_the_sizes_the_report_names(run):
    _, metrics, _ = run
    tasks = metrics["tasks"]
    # 2-3-1: 2·3 + 3 + 3 + 1; 2-4-2: 2·4 + 4 + 4·2 + 2; 1-20-1: 20 + 20 + 20 + 1
    assert {t: tasks[t]["n_parameters"] for t in tasks} == {"XOR": 13, "moons": 22, "sinc": 61}
    assert {t: tasks[t]["n_points"] for t in tasks} == {"XOR": 4, "moons": 75, "sinc": 100}


def test_lm_reaches_the_target_loss_in_a_tenth_of_the_first_order_iterations(run):
    _, metrics, _ = run
    for task in ("XOR", "sinc"):
        runs = metrics["tasks"][task]["runs"]
        lm = runs["LM"]["to_target"]
        assert lm is not None
        for method in ("GD", "Adam"):
            assert runs[method]["to_target"] is None or 10 * lm <= runs[method]["to_target"], (task, method)


def test_on_sinc_lm_ends_at_least_a_hundred_times_below_adam(run):
    _, metrics, _ = run
    runs = metrics["tasks"]["sinc"]["runs"]
    assert runs["Adam"]["final_loss"] >= 100 * runs["LM"]["final_loss"]
    assert metrics["sinc_gap"] == pytest.approx(runs["Adam"]["final_loss"] / runs["LM"]["final_loss"])


def test_newton_damps_exactly_where_its_hessian_is_not_positive_definite(run):
    _, metrics, _ = run
    pairs = metrics["damping"]                      # (τ_k, λ_min(H(w_k))) at sampled iterates
    indefinite = [(tau, lam) for tau, lam in pairs if lam < 0]
    assert indefinite and all(tau > -lam for tau, lam in indefinite)   # H + τI is positive definite
    assert all(lam > 0 for tau, lam in pairs if tau == 0)              # Cholesky succeeded: H was
    assert metrics["tasks"]["sinc"]["runs"]["Newton"]["damped_steps"] == metrics["tasks"]["sinc"]["runs"]["Newton"][
        "iterations"]                                                   # on sinc H is indefinite at every step


def test_newton_converges_on_moons_with_undamped_last_steps(run):
    _, metrics, _ = run
    newton = metrics["tasks"]["moons"]["runs"]["Newton"]
    assert newton["final_grad_norm"] <= newton_small_net.TOL
    assert metrics["newton_moons_undamped_tail"] >= 2


def test_second_order_end_points_are_minima_and_xor_keeps_nine_flat_directions(run):
    _, metrics, _ = run
    for task in ("XOR", "moons"):
        for method in ("Newton", "LM"):
            end = metrics["tasks"][task]["runs"][method]["end"]
            assert end["kind"] == "minimum" and end["negative"] == 0, (task, method)
    # 13 parameters fit 4 points exactly: at a zero-loss point H = (2/N) JᵀJ, J being 4 × 13, so H has
    # rank ≤ 4 and at least 13 − 4 = 9 zero eigenvalues, the directions of the valley of minima
    for method in ("Newton", "LM"):
        assert metrics["tasks"]["XOR"]["runs"][method]["end"]["flat"] == 9
        assert metrics["tasks"]["XOR"]["runs"][method]["final_loss"] < 1e-20


def test_every_start_is_indefinite_and_every_sinc_end_keeps_negative_curvature(run):
    _, metrics, _ = run
    for task, t in metrics["tasks"].items():
        assert t["start"]["negative"] > 0 and t["start"]["kind"] == "not stationary", task
    assert all(metrics["tasks"]["sinc"]["runs"][m]["end"]["negative"] > 0 for m in METHODS)


def test_gd_plateau_on_xor_is_a_saddle_near_the_loss_of_predicting_one_half(run):
    _, metrics, _ = run
    plateau = metrics["tasks"]["XOR"]["plateau"]
    start = metrics["tasks"]["XOR"]["start"]
    assert plateau["kind"] == "saddle" and plateau["negative"] >= 1
    assert plateau["relative_min"] < -1e-3                         # clearly negative, not rounding
    assert plateau["grad_norm"] <= newton_small_net.GRAD_SMALL * start["grad_norm"]
    assert plateau["loss"] == pytest.approx(0.25, abs=0.03)        # predicting ½ for all four points: f = ¼


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # Three LM steps reach neither XOR's target loss nor sinc's: the verdict must say so.
    budget = {t: dict(GD=50, Adam=50, Newton=3, LM=3) for t in newton_small_net.TASKS}
    monkeypatch.setattr(newton_small_net, "ITERATIONS_QUICK", budget)
    out, metrics, _ = run_quick(newton_small_net, tmp_path)
    assert_reported_as_failed(out, metrics, "LM reaches loss")
