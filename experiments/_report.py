"""What every experiment writes: report.md, metrics.json and its PNG plots.

A report is a lesson, not an audit. It reads top to bottom:

    # title
    **Claim.** a line or two
    **Verdict.** The numbers bear the claim out.      (or: do NOT bear the claim out)
    | check | measured | holds |                       one row per one-line claim
    **Setup.** one short paragraph: what was run
    at most two tables, then the plots
    **Why.** one short fixed paragraph

An experiment states its claim as a list of ``Check``s, each a one-line claim, whether the
numbers bear it out and what was measured; the claim holds when every check does. The claim and
the why are fixed text, written once (the module docstring is a good home for both, see
``paragraphs``), never assembled from the numbers: the numbers go in the checks and the tables.

    from experiments._report import Check, Report, paragraphs

    CLAIM, WHY = paragraphs(__doc__)[1:3]
    checks = [
        Check("GD ends within 1e-8 of w* in every run", worst <= 1e-8, f"largest distance {num(worst, 2)}"),
        Check("a larger λ needs fewer iterations", fewer, f"iterations {counts}"),
    ]
    report = Report(NAME, "Ridge regression: GD against the closed form", claim=CLAIM, checks=checks,
                    setup="n = 200, d = 10, κ = 100; GD from w₀ = 0.", why=WHY)
    report.table(["λ", "iterations"], rows)                      # at most two
    report.figure(fig, "convergence.png", "‖wₖ − w*‖ per iteration")
    return report.write(out_dir, metrics)

``write`` adds ``"claim_holds"`` (every check holds) and ``"checks"`` (a list of
``{"claim", "holds", "measured"}``) to metrics.json and returns the metrics. A claim the numbers
do not bear out is reported as such: the verdict says so in bold, the failed check is marked
**no**, and ``claim_holds`` is false. A check that could not be made (torch missing, say) is a
check that does not hold, with ``measured`` saying why.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

MAX_TABLES = 2   # besides the checks table


@dataclass(frozen=True)
class Check:
    """One line of the claim: ``claim`` in words, whether it ``holds``, what was ``measured``."""

    claim: str
    holds: bool
    measured: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", bool(self.holds))


def paragraphs(doc: str | None) -> list[str]:
    """The paragraphs of a docstring, each on one line: ``paragraphs(__doc__)[1]`` is the claim."""
    return [" ".join(p.split()) for p in (doc or "").strip().split("\n\n")]


def to_jsonable(value):
    """numpy scalars and arrays, tuples and nested dicts → plain JSON; NaN and inf → null."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


def fmt(x) -> str:
    """A number as a table cell: integers as they are, floats to 4 significant digits."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            return str(x)
        return f"{x:.3e}" if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5) else f"{x:.4g}"
    return str(x)


def num(x: float, digits: int = 6) -> str:
    """A number in prose, to ``digits`` significant digits: ``num(1e-8)`` is "1e-8", ``num(0.5)`` is
    "0.5", ``num(2.345e-7, 2)`` is "2.3e-7" (``:g`` without the exponent's padding zero)."""
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{m.group(1).replace('+', '')}{m.group(2)}", f"{x:.{digits}g}")


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # A "|" inside a cell (as in log|det A|) would end the cell: escape it.
    lines += ["| " + " | ".join(fmt(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class Report:
    """A report in the shape above: claim, checks as the verdict, setup, ≤ 2 tables, plots, why."""

    def __init__(self, name: str, title: str, *, claim: str, checks: list[Check], setup: str, why: str) -> None:
        if not checks or not all(isinstance(c, Check) for c in checks):
            raise ValueError(f"{name}: a report needs a non-empty list of Check, one per line of the claim")
        self.name, self.title, self.claim, self.checks = name, title, claim, list(checks)
        self.setup, self.why = setup, why
        self.holds = all(c.holds for c in self.checks)
        self.tables: list[str] = []
        self.figures: list[tuple[plt.Figure, str, str]] = []

    def table(self, header: list[str], rows: list[list]) -> None:
        if len(self.tables) == MAX_TABLES:
            raise ValueError(f"{self.name}: a report has at most {MAX_TABLES} tables besides its checks")
        self.tables.append(markdown_table(header, rows))

    def figure(self, fig: plt.Figure, filename: str, caption: str) -> None:
        self.figures.append((fig, filename, caption))

    def markdown(self) -> str:
        word = "The numbers bear the claim out." if self.holds else "The numbers do NOT bear the claim out."
        checks = markdown_table(["check", "measured", "holds"],
                                [[c.claim, c.measured, "yes" if c.holds else "**no**"] for c in self.checks])
        parts = [f"# {self.title}\n", f"**Claim.** {self.claim}\n", f"**Verdict.** **{word}**\n", checks,
                 f"**Setup.** {self.setup}\n", *self.tables]
        parts += [f"![{Path(filename).stem}]({filename})\n\n*{caption}*\n" for _, filename, caption in self.figures]
        parts.append(f"**Why.** {self.why}\n")
        return "\n".join(parts)

    def write(self, out_dir: Path, metrics: dict) -> dict:
        """Write report.md, metrics.json (with the verdict and the checks added) and every figure;
        return the metrics as written."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for fig, filename, _ in self.figures:
            fig.savefig(out_dir / filename, dpi=110, bbox_inches="tight")
            plt.close(fig)
        (out_dir / "report.md").write_text(self.markdown(), encoding="utf-8")
        metrics = dict(metrics, claim_holds=self.holds, checks=[asdict(c) for c in self.checks])
        (out_dir / "metrics.json").write_text(json.dumps(to_jsonable(metrics), indent=2) + "\n", encoding="utf-8")
        return metrics
