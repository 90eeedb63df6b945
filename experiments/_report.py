"""What every experiment writes: report.md (claim, tables, plots, verdict), metrics.json, PNG plots.

A report is built top to bottom, the way a reader meets it:

    report = Report("ridge_gd_vs_normal", "Gradient descent against the normal equations", claim="...")
    report.table(["λ", "iterations"], rows)
    report.figure(fig, "convergence.png", "‖w_k − w*‖ per iteration")
    report.verdict(holds, "GD reached the closed form to 1e-9 in every run")
    report.write(out_dir, metrics)

A claim that the numbers do not bear out is reported as such: ``verdict(False, ...)`` prints it
in bold at the top of the report and records ``"claim_holds": false`` in metrics.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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


class Report:
    """A markdown report assembled in order, plus the figures it embeds."""

    def __init__(self, name: str, title: str, claim: str) -> None:
        self.name = name
        self.title = title
        self.claim = claim
        self.parts: list[str] = []
        self.figures: list[tuple[plt.Figure, str]] = []
        self.holds: bool | None = None
        self.verdict_text = ""

    def text(self, markdown: str) -> None:
        self.parts.append(markdown.strip() + "\n")

    def table(self, header: list[str], rows: list[list]) -> None:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        # A "|" inside a cell (as in log|det A|) would end the cell: escape it.
        lines += ["| " + " | ".join(fmt(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
        self.parts.append("\n".join(lines) + "\n")

    def figure(self, fig: plt.Figure, filename: str, caption: str) -> None:
        self.figures.append((fig, filename))
        self.parts.append(f"![{caption}]({filename})\n\n*{caption}*\n")

    def verdict(self, holds: bool, explanation: str) -> None:
        self.holds = bool(holds)
        self.verdict_text = explanation

    def write(self, out_dir: Path, metrics: dict) -> dict:
        """Write report.md, metrics.json (with the verdict added) and every figure; return the metrics."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for fig, filename in self.figures:
            fig.savefig(out_dir / filename, dpi=110, bbox_inches="tight")
            plt.close(fig)
        if self.holds is None:
            raise RuntimeError(f"{self.name}: the report has no verdict; call verdict() before write()")
        word = "The numbers bear the claim out." if self.holds else "The numbers do NOT bear the claim out."
        head = [f"# {self.title}\n", f"**Claim.** {self.claim}\n", f"**Verdict.** **{word}** {self.verdict_text}\n"]
        (out_dir / "report.md").write_text("\n".join(head + self.parts), encoding="utf-8")
        metrics = dict(metrics, claim_holds=self.holds)
        (out_dir / "metrics.json").write_text(json.dumps(to_jsonable(metrics), indent=2) + "\n", encoding="utf-8")
        return metrics
