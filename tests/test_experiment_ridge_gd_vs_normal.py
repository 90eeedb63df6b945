"""The ridge_gd_vs_normal experiment in --quick mode: files written, and the numbers behind its claim."""


import pytest

from experiments import ridge_gd_vs_normal
from tests.experiment_runs import assert_report_complete, run_quick

TARGET = 1e-8   # the relative distance to the closed form the claim promises


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_quick(ridge_gd_vs_normal, tmp_path_factory.mktemp("ridge_gd_vs_normal"))


def test_report_metrics_and_plots_are_written_and_the_claim_holds(run):
    out, metrics, returned = run
    assert_report_complete(out)
    assert {p.name for p in out.glob("*.png")} == {"convergence.png", "scaling.png"}
    assert metrics["claim_holds"] is True and returned["claim_holds"] is True


def test_gd_ends_within_1e_8_of_the_closed_form_in_every_run(run):
    _, metrics, _ = run
    every = metrics["runs"] + metrics["sweep"]
    assert len(metrics["runs"]) == 12 and len(metrics["sweep"]) == 5   # 3 λ × 2 steps × 2 data sets; 5 (n, d)
    assert all(r["reached"] and 0 < r["final_distance"] <= TARGET for r in every)
    assert metrics["max_final_distance"] <= TARGET


def test_error_never_exceeds_the_theoretical_bound(run):
    _, metrics, _ = run
    every = metrics["runs"] + metrics["sweep"]
    assert all(r["bound_held"] for r in every)
    assert 0 < metrics["closest_to_bound"] <= 1
    # Reaching the target can take no more steps than the bound needs to reach it.
    assert all(r["iterations"] <= r["bound_iterations"] for r in every)


def test_the_bounds_contraction_factors_are_those_of_the_two_steps(run):
    _, metrics, _ = run
    for r in metrics["runs"]:
        kappa = r["L"] / r["mu"]
        expected = 1 - 1 / kappa if r["step"] == "1/L" else (kappa - 1) / (kappa + 1)
        assert r["rho"] == pytest.approx(expected, rel=1e-12)


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
    assert metrics["fewer_iterations_with_larger_lam"] is True


def test_every_run_has_both_timings(run):
    _, metrics, _ = run
    assert all(r["gd_seconds"] > 0 and r["closed_form_seconds"] > 0 for r in metrics["runs"] + metrics["sweep"])
    assert all(r["eig_seconds"] > 0 for r in metrics["sweep"])
    assert set(metrics["time_exponents"]) == {f"{k}_vs_{a}" for a in "nd" for k in ("gd", "closed_form", "eig")}
