"""What every experiment test starts from: one --quick run, and the checks every report must pass."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

WORDS = 800   # a report is a lesson, not an audit: about 600 words, and a test stops it growing past this


def run_quick(experiment: ModuleType, out: Path) -> tuple[Path, dict, dict]:
    """Run ``experiment.main(out, quick=True, seed=0)``.

    Returns (out, the metrics read back from metrics.json, the metrics ``main`` returned).
    """
    returned = experiment.main(out, quick=True, seed=0)
    return out, json.loads((out / "metrics.json").read_text(encoding="utf-8")), returned


def assert_report_complete(out: Path, plots: set[str] | None = None) -> str:
    """report.md has the house shape — claim, verdict, a checks table naming every check of
    metrics.json, setup, at most two more tables, why — and embeds every PNG of the folder, each a
    real plot (not an empty canvas); metrics.json's verdict is its checks'; the PNGs are exactly
    ``plots`` when given. Returns the report's text."""
    report = (out / "report.md").read_text(encoding="utf-8")
    for part in ("**Claim.**", "**Verdict.**", "**Setup.**", "**Why.**"):
        assert part in report, f"the report has no {part}"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    checks = metrics["checks"]
    assert checks and all(set(c) == {"claim", "holds", "measured"} for c in checks)
    assert metrics["claim_holds"] is all(c["holds"] for c in checks)
    assert metrics["claim_holds"] is ("The numbers bear the claim out." in report)
    assert all(f"| {c['claim']} |" in report for c in checks)
    assert report.count("\n|---") <= 3, "at most two tables besides the checks"
    assert len(report.split()) <= WORDS, f"{len(report.split())} words"
    pngs = sorted(out.glob("*.png"))
    assert pngs, "no plots written"
    if plots is not None:
        assert {p.name for p in pngs} == set(plots)
    for png in pngs:
        assert f"]({png.name})" in report, f"{png.name} is written but not embedded in the report"
        assert png.stat().st_size > 5_000, f"{png.name} looks empty"
    return report


def assert_reported_as_failed(out: Path, metrics: dict, claim_part: str) -> None:
    """The verdict says the claim is not borne out, and the check whose claim contains
    ``claim_part`` is the one marked as failed (among, perhaps, others)."""
    report = assert_report_complete(out)
    assert metrics["claim_holds"] is False
    assert "do NOT bear the claim out" in report
    failed = [c for c in metrics["checks"] if not c["holds"]]
    assert any(claim_part in c["claim"] for c in failed), [c["claim"] for c in failed]
    assert all(f"| {c['claim']} | {c['measured']} | **no** |" in report for c in failed)
