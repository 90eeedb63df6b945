"""The logistic_newton_vs_gd experiment in --quick mode: files written, and the numbers behind its claim."""


import pytest

from experiments import logistic_newton_vs_gd
from tests.experiment_runs import assert_report_complete, run_quick

TOL = 1e-8   # the gradient-norm tolerance both minimisers must reach


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(logistic_newton_vs_gd, tmp_path_factory.mktemp("logistic_newton_vs_gd"))


def test_report_metrics_and_plots_are_written_and_the_claim_holds(run):
    out, metrics, returned = run
    assert_report_complete(out)
    assert {p.name for p in out.glob("*.png")} == {"grad_norm.png", "successive.png"}
    assert metrics["claim_holds"] is True and returned["claim_holds"] is True
    assert [d["data"] for d in metrics["datasets"]] == ["breast_cancer", "make_classification"]


def test_both_minimisers_reach_the_gradient_tolerance(run):
    _, metrics, _ = run
    for data in metrics["datasets"]:
        for method in ("Newton", "GD"):
            r = data["runs"][method]
            assert r["converged"] and r["final_grad_norm"] <= TOL, (data["data"], method, r["message"])
    assert metrics["all_converged"] is True


def test_newton_takes_at_least_ten_times_fewer_iterations_than_gd(run):
    _, metrics, _ = run
    for data in metrics["datasets"]:
        newton, gd = data["runs"]["Newton"]["iterations"], data["runs"]["GD"]["iterations"]
        assert 0 < 10 * newton <= gd, (data["data"], newton, gd)
        assert data["iteration_ratio"] == pytest.approx(gd / newton)


def test_newtons_last_steps_are_full_and_quadratic_while_gd_is_linear(run):
    _, metrics, _ = run
    for data in metrics["datasets"]:
        newton, gd = data["runs"]["Newton"], data["runs"]["GD"]
        assert newton["step_sizes"][-2:] == [1.0, 1.0]
        g = newton["grad_norms"]
        assert newton["last_order"] >= 1.5
        assert g[-1] <= 100 * g[-2] ** 2        # ‖∇_K‖ ≤ C‖∇_{K−1}‖² with a modest C
        assert 0.9 <= gd["last_order"] <= 1.1   # the order estimate tells linear from quadratic


def test_coefficients_agree_with_scikit_learn(run):
    _, metrics, _ = run
    for data in metrics["datasets"]:
        assert data["sklearn_grad_norm"] <= 1e-10   # scikit-learn minimises the same f
        for method in ("Newton", "GD"):
            assert data["runs"][method]["sklearn_difference"] <= 1e-5, (data["data"], method)
    assert metrics["sklearn_agrees"] is True
