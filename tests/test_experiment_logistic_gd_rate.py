"""The logistic_gd_rate experiment in --quick mode: GD's rate near w* is 1 − h/L, the worst case only bounds it."""

import numpy as np
import pytest

from experiments import logistic_gd_rate, logistic_newton_vs_gd
from handnet import optim
from handnet.losses import Logistic
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(logistic_gd_rate, tmp_path_factory.mktemp("logistic_gd_rate"))


def test_report_metrics_and_plots_are_written_and_the_claim_holds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots={"gd_rate.png"})
    assert metrics["claim_holds"] is True and returned["claim_holds"] is True


def test_gd_contracts_by_one_minus_h_over_l_not_the_worst_case_one_minus_mu_over_l(run):
    # h, the Hessian's smallest eigenvalue at w* on the row space of X, recomputed here by projecting
    # onto the span of X's rows: GD's factor over its last quarter is 1 − h/L, and 1 − μ/L bounds it.
    _, metrics, _ = run
    for (name, X, y), c in zip(logistic_newton_vs_gd.datasets(quick=True, seed=0), metrics["datasets"]):
        assert c["mu"] == 1e-3 and c["L"] == pytest.approx(np.linalg.eigvalsh(X.T @ X)[-1] / (4 * len(X)) + 1e-3)
        objective = Logistic(X, y, 1e-3)
        H = objective.hessian(optim.newton(objective, np.zeros(X.shape[1]), tol=1e-8).x)
        assert c["hessian_min"] == pytest.approx(np.linalg.eigvalsh(H)[0], rel=1e-6)
        P = X.T @ np.linalg.pinv(X.T)                                # (d, d) projector onto the row space
        rows = np.linalg.eigvalsh(P @ H @ P)
        h = rows[rows > 1e-12][0]
        assert c["h"] == pytest.approx(h, rel=1e-6), name
        assert c["measured_factor"] <= c["worst_case_factor"]
        assert c["steps_measured"] == pytest.approx(np.log(10) / -np.log(1 - h / c["L"]), rel=0.15), name


def test_make_classifications_dependent_columns_hide_gds_curvature_from_the_local_condition_number(run):
    # Its smallest Hessian eigenvalue is λ, from directions GD never moves in; GD's h is far above it.
    _, metrics, _ = run
    mc = metrics["datasets"][1]
    assert mc["data"] == "make_classification" and mc["rank"] < mc["d"]
    assert mc["hessian_min"] == pytest.approx(1e-3) and mc["h"] > 10e-3
    assert mc["steps_worst_case"] >= 10 * mc["steps_measured"]


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.setattr(logistic_gd_rate, "GD_MAX_ITER", 100)   # far too few for breast_cancer
    out, metrics, _ = run_quick(logistic_gd_rate, tmp_path)
    assert_reported_as_failed(out, metrics, "GD converges")
