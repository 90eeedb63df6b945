"""The benchmarks run end to end at tiny sizes and write every row they promise.

No time or ratio is asserted: those depend on the machine. What is checked: each workload's
JSON has one row per implementation and case, with finite positive times (or byte counts);
the plot is written; and the implementations being compared computed the same thing (the
premise of every ratio), which at these sizes is a matter of rounding only.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from benchmarks import logistic, ridge
from benchmarks.__main__ import WORKLOADS, main, run

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
MLP_CASES = {"float64", "float32", "float64 +BN", "float32 +BN"}
NEWTON_GRAD_NORM = 1e-12   # ‖∇f‖ that handnet's Newton must reach where it is timed against scikit-learn


def expected_rows() -> dict[str, tuple[set[str], set[str]]]:
    """{workload: (its cases, its implementations)} for the smoke sizes and what is installed."""
    torch = {"torch eager"} if HAS_TORCH else set()
    sklearn = {"scikit-learn"} if HAS_SKLEARN else set()
    sizes = {name: {f"{n}×{d}" for n, d in module.SIZES["smoke"]} for name, module in
             (("ridge", ridge), ("logistic", logistic))}
    return {
        "digits_mlp": (MLP_CASES, {"handnet", "handnet hn.fit", "numpy reference"} | torch),
        "wide_mlp": (MLP_CASES, {"handnet", "numpy reference", "GEMM bound"} | torch),
        "ridge": (sizes["ridge"], {"handnet", "numpy solve"} | sklearn),
        "logistic_newton": (sizes["logistic"], {"handnet", "numpy loop"} | sklearn),
        "logistic_gd": (sizes["logistic"], {"handnet", "numpy loop"}),
        "memory": (MLP_CASES, {"handnet", "numpy reference"}),
    }


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmarks")
    run("smoke", out)
    return out, {name: json.loads((out / f"{name}.json").read_text(encoding="utf-8")) for name in WORKLOADS}


def test_every_workload_writes_one_row_per_case_and_implementation(smoke):
    _, results = smoke
    assert set(expected_rows()) == set(WORKLOADS)
    for name, (cases, impls) in expected_rows().items():
        rows = results[name]["rows"]
        assert {r["case"] for r in rows} == cases, name
        for case in cases:
            extra = {"handnet no BN"} if name == "wide_mlp" and case.endswith("+BN") else set()
            assert sorted(r["impl"] for r in rows if r["case"] == case) == sorted(impls | extra), (name, case)


def test_times_and_bytes_are_finite_and_positive(smoke):
    _, results = smoke
    for name, result in results.items():
        for r in result["rows"]:
            figures = [r["peak_bytes"], r["kept_bytes"]] if name == "memory" else \
                      [r["median_s"], r["min_s"], r["max_s"], *r["times_s"]]
            assert all(math.isfinite(x) and x > 0 for x in figures), (name, r["case"], r["impl"])
            assert r["handnet_ratio"] > 0
            assert all(math.isfinite(x) and x > 0 for x in r.get("paired_ratios", []))


def test_the_plot_is_written(smoke):
    out, _ = smoke
    assert (out / "ratios.png").stat().st_size > 5_000


def test_the_compared_implementations_compute_the_same_thing(smoke):
    _, results = smoke
    for name in ("digits_mlp", "wide_mlp"):
        for case in ("float64", "float64 +BN"):
            drift = results[name]["checks"][case]["relative_weight_drift"]
            assert max(drift.values()) < 1e-10, (name, case, drift)
    for case in ("float64 +BN", "float32 +BN"):                  # BatchNorm's share, from times taken side by side
        rows = {r["impl"]: r["median_s"] for r in results["wide_mlp"]["rows"] if r["case"] == case}
        check = results["wide_mlp"]["checks"][case]
        assert check["batchnorm_share"] == pytest.approx(rows["handnet"] / rows["handnet no BN"] - 1, rel=1e-12)
        # ... against the same network without BatchNorm, from the same weights, which really trained
        assert check["no_bn_layers"] == "Linear ReLU Linear ReLU Linear", case
        assert check["no_bn_started_from_the_same_linears"] and check["no_bn_trained"], case
    for case, check in results["logistic_newton"]["checks"].items():
        assert check["converged"] and check["only_full_steps"], case   # so the loop makes the same steps
        assert check["final_grad_norm"] <= NEWTON_GRAD_NORM, case   # the accuracy the speed is compared at
        assert check["relative_difference[numpy loop]"] < 1e-10, case
    for check in results["logistic_gd"]["checks"].values():
        assert check["relative_difference[numpy loop]"] < 1e-10
    if HAS_SKLEARN:
        for check in results["ridge"]["checks"].values():
            assert max(v for k, v in check.items() if k.startswith("relative_error")) < 1e-10


def test_the_command_line_runs_one_workload(tmp_path):
    assert main(["--smoke", "--only", "logistic_gd", "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.glob("*.json")] == ["logistic_gd.json"]
