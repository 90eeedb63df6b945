"""What every experiment test starts from: one --quick run, and the checks every report must pass."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType


def run_quick(experiment: ModuleType, out: Path) -> tuple[Path, dict, dict]:
    """Run ``experiment.main(out, quick=True, seed=0)``.

    Returns (out, the metrics read back from metrics.json, the metrics ``main`` returned).
    """
    returned = experiment.main(out, quick=True, seed=0)
    return out, json.loads((out / "metrics.json").read_text(encoding="utf-8")), returned


def assert_report_complete(out: Path, plots: set[str] | None = None) -> str:
    """report.md states a claim and a verdict and embeds every PNG of the folder, each a real plot
    (not an empty canvas); metrics.json records the verdict; the PNGs are exactly ``plots`` when
    given. Returns the report's text."""
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "**Claim.**" in report and "**Verdict.**" in report
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    holds = "The numbers bear the claim out." in report
    assert metrics["claim_holds"] is holds
    pngs = sorted(out.glob("*.png"))
    assert pngs, "no plots written"
    if plots is not None:
        assert {p.name for p in pngs} == set(plots)
    for png in pngs:
        assert f"]({png.name})" in report, f"{png.name} is written but not embedded in the report"
        assert png.stat().st_size > 5_000, f"{png.name} looks empty"
    return report
