"""The report every experiment writes: checks as the verdict, a failed one reported as failed, the shape kept."""

import json

import matplotlib.pyplot as plt
import pytest

from experiments._report import Check, Report, paragraphs


def small_report(*checks: Check) -> Report:
    return Report("demo", "A demo", claim="Two things hold.", checks=list(checks), setup="Nothing run.",
                  why="Because.")


def test_a_failed_check_makes_the_claim_fail_in_the_report_and_in_metrics(tmp_path):
    report = small_report(Check("the first thing holds", True, "1 of 1"), Check("the second holds", False, "0 of 1"))
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    report.figure(fig, "line.png", "A line")
    returned = report.write(tmp_path, {"x": 1})
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert "**The numbers do NOT bear the claim out.**" in text
    assert "| the second holds | 0 of 1 | **no** |" in text and "| the first thing holds | 1 of 1 | yes |" in text
    assert metrics["claim_holds"] is False and returned["claim_holds"] is False and metrics["x"] == 1
    assert metrics["checks"][1] == {"claim": "the second holds", "holds": False, "measured": "0 of 1"}
    assert "](line.png)" in text and (tmp_path / "line.png").exists()


def test_a_report_has_at_most_two_tables_besides_its_checks_and_needs_a_check():
    report = small_report(Check("it holds", True, "yes"))
    report.table(["a"], [[1]])
    report.table(["b"], [[2]])
    with pytest.raises(ValueError, match="at most 2 tables"):
        report.table(["c"], [[3]])
    with pytest.raises(ValueError, match="Check"):
        small_report()


def test_the_claim_and_the_why_are_the_docstrings_second_and_third_paragraphs():
    doc = """Title.

    The claim, on
    two lines.

    The why.
    """
    assert paragraphs(doc) == ["Title.", "The claim, on two lines.", "The why."]
