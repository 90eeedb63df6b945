"""The logistic_newton_vs_gd experiment in --quick mode: files written, and the numbers behind its claim."""

import numpy as np
import pytest

from experiments import logistic_newton_vs_gd
from handnet import optim
from handnet.losses import Logistic
from tests.experiment_runs import assert_report_complete, run_quick

TOL = 1e-8   # the gradient-norm tolerance both minimisers must reach


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(logistic_newton_vs_gd, tmp_path_factory.mktemp("logistic_newton_vs_gd"))


def test_report_metrics_and_plots_are_written_and_the_claim_holds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots={"grad_norm.png", "successive.png"})
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


def test_newtons_quadratic_constants_are_stored_and_level_off(run):
    _, metrics, _ = run
    for data in metrics["datasets"]:
        newton = data["runs"]["Newton"]
        g, C = np.array(newton["grad_norms"]), np.array(newton["constants"])
        assert len(C) == newton["iterations"]
        assert np.allclose(C, g[1:] / g[:-1] ** 2, rtol=1e-12)
        assert C[-1] / C[-2] == pytest.approx(1, abs=0.1), (data["data"], C)   # C_k levels off near w*


def test_coefficients_lie_within_the_distance_strong_convexity_allows_of_scikit_learns(run):
    # μ‖w − w*‖ ≤ ‖∇f(w)‖ with μ = λ: ours have ‖∇f‖ ≤ 1e-8, scikit-learn's ≤ 1e-10 (by our gradient).
    _, metrics, _ = run
    bound = (TOL + 1e-10) / 1e-3
    assert metrics["sklearn_distance_bound"] == pytest.approx(bound)
    for data in metrics["datasets"]:
        assert data["sklearn_grad_norm"] <= 1e-10   # scikit-learn minimises the same f
        for method in ("Newton", "GD"):
            r = data["runs"][method]
            assert r["sklearn_distance"] <= bound, (data["data"], method)
            assert r["sklearn_distance_over_bound"] == pytest.approx(r["sklearn_distance"] / bound)
    assert metrics["sklearn_same_f"] is True and metrics["sklearn_within_bound"] is True


def test_gd_contracts_by_one_minus_h_over_l_not_the_worst_case_one_minus_mu_over_l(run):
    # h, the Hessian's smallest eigenvalue at w* on the row space of X, recomputed here by projecting
    # onto the span of X's rows: GD's factor over its last quarter is 1 − h/L, and 1 − μ/L bounds it.
    _, metrics, _ = run
    for (name, X, y), data in zip(logistic_newton_vs_gd.datasets(quick=True, seed=0), metrics["datasets"]):
        c = data["conditioning"]
        assert c["mu"] == 1e-3 and c["L"] == pytest.approx(np.linalg.eigvalsh(X.T @ X)[-1] / (4 * len(X)) + 1e-3)
        objective = Logistic(X, y, 1e-3)
        w_star = optim.newton(objective, np.zeros(X.shape[1]), tol=TOL).x
        H = objective.hessian(w_star)
        eigenvalues = np.linalg.eigvalsh(H)
        assert (c["hessian_min"], c["hessian_max"]) == pytest.approx((eigenvalues[0], eigenvalues[-1]), rel=1e-6)
        P = X.T @ np.linalg.pinv(X.T)                                # (d, d) projector onto the row space
        rows = np.linalg.eigvalsh(P @ H @ P)
        h = rows[rows > 1e-12][0]
        assert c["row_space_min"] == pytest.approx(h, rel=1e-6), name
        assert c["worst_case_factor"] >= c["measured_factor"]
        assert c["measured_factor"] == pytest.approx(1 - h / c["L"], abs=1e-3), name
    # make_classification has redundant columns: the Hessian's smallest eigenvalue is λ, GD's h far above it
    mc = metrics["datasets"][1]["conditioning"]
    assert mc["rank"] < metrics["datasets"][1]["d"] and mc["hessian_min"] == pytest.approx(1e-3)
    assert mc["h_over_lam"] > 10


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # GD/Newton iteration ratios are about 3900 and 46 in quick mode: demanding 10 000 must fail, and say so.
    monkeypatch.setattr(logistic_newton_vs_gd, "SPEEDUP", 10_000)
    _, metrics, returned = run_quick(logistic_newton_vs_gd, tmp_path / logistic_newton_vs_gd.NAME)
    assert returned["claim_holds"] is False and metrics["newton_fewer_iterations"] is False
    report = (tmp_path / logistic_newton_vs_gd.NAME / "report.md").read_text(encoding="utf-8")
    assert "do NOT bear the claim out" in report
