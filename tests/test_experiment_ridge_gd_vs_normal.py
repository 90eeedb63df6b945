"""The ridge_gd_vs_normal experiment in --quick mode: files written, and the numbers behind its claim."""

import numpy as np
import pytest

from experiments import ridge_gd_vs_normal
from handnet.data import diabetes, linear_regression
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick

TARGET = 1e-8   # the relative distance to the closed form the claim promises


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(ridge_gd_vs_normal, tmp_path_factory.mktemp("ridge_gd_vs_normal"))


def test_report_metrics_and_plots_are_written_and_the_claim_holds(run):
    out, metrics, returned = run
    assert_report_complete(out, plots={"convergence.png"})
    assert metrics["claim_holds"] is True and returned["claim_holds"] is True


def test_gd_ends_within_1e_8_of_the_closed_form_in_every_run(run):
    _, metrics, _ = run
    assert len(metrics["runs"]) == 12   # 3 λ × 2 steps × 2 data sets
    assert all(r["iterations"] is not None and 0 < r["final_distance"] <= TARGET for r in metrics["runs"])
    assert metrics["max_final_distance"] <= TARGET


def test_error_never_exceeds_the_theoretical_bound(run):
    _, metrics, _ = run
    every = metrics["runs"]
    assert all(r["bound_held"] for r in every)
    assert 0 < metrics["closest_to_bound"] <= 1
    # Reaching the target can take no more steps than the bound needs to reach it.
    assert all(r["iterations"] <= r["bound_iterations"] for r in every)


def problem(metrics: dict, r: dict) -> tuple[np.ndarray, np.ndarray]:
    """The (X, y) a run of the quick experiment minimised on, rebuilt here: diabetes centred (its
    intercept is unpenalised), the synthetic set as drawn with seed 0."""
    if r["data"] == "diabetes":
        ds = diabetes(seed=0)
        return ds.X_train - ds.X_train.mean(axis=0), ds.y_train - ds.y_train.mean()
    syn = metrics["synthetic"]
    ds = linear_regression(2 * syn["n"], syn["d"], condition_number=syn["kappa"], noise=0.1, test_size=0.5, seed=0)
    return ds.X_train, ds.y_train


def test_the_contraction_factor_is_the_largest_eigenvalue_of_i_minus_eta_h(run):
    # Independent of the code's 1 − μ/L and (κ − 1)/(κ + 1): the eigenvalues hᵢ of H = XᵀX/n + λI
    # from numpy, the step from them, and ρ = max |1 − η hᵢ|, the spectral norm of I − ηH.
    _, metrics, _ = run
    for r in metrics["runs"]:
        X, _ = problem(metrics, r)
        h = np.linalg.eigvalsh(X.T @ X / len(X) + r["lam"] * np.eye(X.shape[1]))   # ascending
        eta = 1 / h[-1] if r["step"] == "1/L" else 2 / (h[-1] + h[0])
        assert (r["mu"], r["L"]) == pytest.approx((h[0], h[-1]), rel=1e-9), r["data"]
        assert r["rho"] == pytest.approx(np.max(np.abs(1 - eta * h)), rel=1e-9), (r["data"], r["lam"], r["step"])


def test_an_independent_gradient_descent_takes_the_reported_number_of_iterations(run):
    # Plain numpy: w* by LU (np.linalg.solve), GD written out, its error checked against ρᵏ from the eigenvalues.
    _, metrics, _ = run
    r = next(r for r in metrics["runs"] if r["data"].startswith("synthetic") and r["lam"] == 10 and r["step"] != "1/L")
    X, y = problem(metrics, r)
    n, d = X.shape
    H = X.T @ X / n + r["lam"] * np.eye(d)
    h = np.linalg.eigvalsh(H)
    eta, rho = 2 / (h[-1] + h[0]), (h[-1] - h[0]) / (h[-1] + h[0])
    w_star = np.linalg.solve(H, X.T @ y / n)
    w, k = np.zeros(d), 0
    while np.linalg.norm(w - w_star) > TARGET * np.linalg.norm(w_star):
        w = w - eta * (X.T @ (X @ w - y) / n + r["lam"] * w)
        k += 1
        assert np.linalg.norm(w - w_star) <= (rho ** k + 1e-10) * np.linalg.norm(w_star)
    assert abs(k - r["iterations"]) <= 1, (k, r["iterations"])


def test_penalty_lowers_the_condition_number_as_kappa_plus_lam_over_one_plus_lam(run):
    # Synthetic XᵀX/n has eigenvalues from 1 to κ exactly, so H = XᵀX/n + λI has L/μ = (κ + λ)/(1 + λ).
    _, metrics, _ = run
    kappa = metrics["synthetic"]["kappa"]
    synthetic = [r for r in metrics["runs"] if r["data"].startswith("synthetic")]
    assert synthetic
    for r in synthetic:
        assert r["kappa"] == pytest.approx((kappa + r["lam"]) / (1 + r["lam"]), rel=1e-8)


def test_larger_lambda_needs_fewer_iterations(run):
    _, metrics, _ = run
    groups = {(r["data"], r["step"]) for r in metrics["runs"]}
    assert len(groups) == 4
    for data, step in groups:
        counts = [r["iterations"] for r in sorted(metrics["runs"], key=lambda r: r["lam"])
                  if (r["data"], r["step"]) == (data, step)]
        assert len(counts) == 3 and all(a > b for a, b in zip(counts, counts[1:])), (data, step, counts)
        assert metrics["iterations_by_lam"][f"{data}, {step}"] == counts


def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(tmp_path, monkeypatch):
    # A bound that promises twice the true rate, (1 − 2μ/L)ᵏ for the step 1/L: GD's error exceeds it.
    monkeypatch.setattr(ridge_gd_vs_normal, "STEPS", {"1/L": lambda L, mu: (1 / L, 1 - 2 * mu / L)})
    out, metrics, _ = run_quick(ridge_gd_vs_normal, tmp_path)
    assert_reported_as_failed(out, metrics, "never exceeds its bound")
