"""The identities and hessian_surfaces experiments in --quick mode: files written, claims borne out."""

import sys

import pytest

from experiments import hessian_surfaces, identities
from tests.experiment_runs import assert_report_complete, assert_reported_as_failed, run_quick


@pytest.fixture(scope="module")
def identities_run(tmp_path_factory):
    out, metrics, _ = run_quick(identities, tmp_path_factory.mktemp("identities"))
    return out, metrics


@pytest.fixture(scope="module")
def hessians_run(tmp_path_factory):
    out, metrics, _ = run_quick(hessian_surfaces, tmp_path_factory.mktemp("hessian_surfaces"))
    return out, metrics


@pytest.mark.parametrize("run", ["identities_run", "hessians_run"])
def test_experiment_writes_report_metrics_and_plots(run, request):
    out, metrics = request.getfixturevalue(run)
    assert_report_complete(out)
    assert metrics["claim_holds"] is True


def test_every_general_identity_agrees_with_finite_differences_below_1e_8(identities_run):
    _, metrics = identities_run
    general = [r for r in metrics["rows"] if not r["symmetric_only"]]
    assert len(general) >= 15
    assert max(r["fd_error"] for r in general) < 1e-8
    assert max(r["torch_error"] for r in general) < 1e-12
    assert metrics["claim_holds"]


def test_symmetric_only_formula_is_rejected_for_a_general_matrix(identities_run):
    _, metrics = identities_run
    textbook = [r for r in metrics["rows"] if r["symmetric_only"]]
    assert textbook and all(r["fd_error"] > 1e-3 for r in textbook)
    assert metrics["textbook_error"] == min(r["fd_error"] for r in textbook)


def test_hessian_eigenvalues_classify_minimum_and_saddle(hessians_run):
    _, metrics = hessians_run
    kinds = {f["function"]: f["kind"] for f in metrics["functions"]}
    assert kinds == {"x² + 2y²": "minimum", "x² − y²": "saddle", "x² + xy + 2y²": "minimum"}
    assert all(f["hessian_fd_error"] < 1e-8 for f in metrics["functions"])


def test_newton_takes_one_step_on_the_minima_and_gd_takes_more_the_larger_l_over_mu(hessians_run):
    _, metrics = hessians_run
    minima = sorted((f for f in metrics["functions"] if f["kind"] == "minimum"), key=lambda f: f["condition_number"])
    for f in minima:
        assert f["newton_converged"] and f["newton_iterations"] == 1
        assert f["gd_converged"] and f["gd_iterations"] > 1
    assert minima[0]["condition_number"] < minima[1]["condition_number"]
    assert minima[0]["gd_iterations"] < minima[1]["gd_iterations"]


def test_plain_newton_lands_on_the_saddle_and_damped_newton_goes_downhill(hessians_run):
    _, metrics = hessians_run
    saddle = next(f for f in metrics["functions"] if f["kind"] == "saddle")
    assert max(abs(v) for v in saddle["plain_newton_step"]) < 1e-12
    assert saddle["newton_final_value"] < saddle["start_value"]
    assert saddle["gd_final_value"] < saddle["start_value"]
    # away from the saddle along the eigenvector of the negative eigenvalue (±y for x² − y²)
    start_y = abs(metrics["start"][1])
    assert abs(saddle["newton_final"][1]) > start_y and abs(saddle["gd_final"][1]) > start_y
    assert metrics["claim_holds"]


def test_linear_layer_rows_cover_dw_dx_and_db(identities_run):
    _, metrics = identities_run
    names = [r["name"] for r in metrics["rows"]]
    assert {"linear layer: dW = doutᵀx", "linear layer: dx = dout W", "linear layer: db = Σₙ doutₙ"} <= set(names)


def test_identities_depend_on_the_seed(tmp_path):
    _, first, _ = run_quick(identities, tmp_path / "a")
    second = identities.main(tmp_path / "b", quick=True, seed=1)
    assert [r["fd_error"] for r in first["rows"]] != [r["fd_error"] for r in second["rows"]]


@pytest.mark.parametrize("experiment,constant,value,check", [
    (identities, "TOLERANCE", 1e-14, "central differences"),   # finite differences cannot reach 1e-14
    (hessian_surfaces, "SADDLE_ITER", 0, "go downhill"),         # no step taken: nothing goes downhill
])
def test_a_claim_the_numbers_do_not_bear_out_is_reported_as_such(experiment, constant, value, check, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr(experiment, constant, value)
    out, metrics, _ = run_quick(experiment, tmp_path)
    assert_reported_as_failed(out, metrics, check)


def test_without_torch_the_identities_say_so_and_do_not_claim_agreement_with_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)   # `import torch` now raises ImportError
    out, metrics, _ = run_quick(identities, tmp_path)
    assert_reported_as_failed(out, metrics, "torch autograd")
    assert all(r["torch_error"] is None for r in metrics["rows"])
    assert "torch is not installed" in (out / "report.md").read_text(encoding="utf-8")
