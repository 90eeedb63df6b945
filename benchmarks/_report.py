"""Rows, tables, JSON and the plot: how every workload reports what it measured.

A *row* is one implementation on one case of a workload: a dict with ``group``, ``case``,
``impl``, ``library``, the times (``median_s``, ``min_s``, ``max_s``, ``times_s``, seconds) and
``handnet_ratio`` = handnet's median ÷ this row's median (above 1: handnet is slower), and
``paired_ratios``: handnet's time ÷ this row's in each repetition (the two ran one after the
other, so these see the same conditions; their range shows how far the ratio can be trusted).
Memory rows hold bytes (``peak_bytes``, ``kept_bytes``) instead of times, and the ratio of peaks.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from benchmarks._timing import Timing, summary

HANDNET = "handnet"


def time_rows(group: str, case: str, times: dict[str, list[float]], libraries: dict[str, str]) -> list[dict]:
    """One row per implementation of ``times`` (from ``round_robin``), with the ratio to handnet's median."""
    rows = [{"group": group, "case": case, "impl": name, "library": libraries[name], **summary(seconds)}
            for name, seconds in times.items()]
    base = next(r for r in rows if r["impl"] == HANDNET)
    for r in rows:
        r["handnet_ratio"] = base["median_s"] / r["median_s"]
        r["paired_ratios"] = [a / b for a, b in zip(base["times_s"], r["times_s"])]
    return rows


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError


def print_table(title: str, rows: list[dict]) -> None:
    """Print the rows of one workload: each case, each implementation, its figures and the ratio."""
    print(f"\n{title}")
    memory = "peak_bytes" in rows[0]
    figures = ("peak", "kept between") if memory else ("median", "min..max")
    paired = "" if memory else f" {'paired min..max':>16s}"
    print(f"  {'case':13s} {'implementation':16s} {figures[0]:>10s} {figures[1]:>22s} {'handnet ÷ this':>15s}{paired}")
    last_case = None
    for r in rows:
        case, last_case = ("" if r["case"] == last_case else r["case"]), r["case"]
        if memory:
            first, second = f"{r['peak_bytes'] / 2**20:.1f} MiB", f"{r['kept_bytes'] / 2**20:.1f} MiB"
            paired = ""
        else:
            first, second = _duration(r["median_s"]), f"{_duration(r['min_s'])}..{_duration(r['max_s'])}"
            paired = "" if r["impl"] == HANDNET else f"{min(r['paired_ratios']):.2f}..{max(r['paired_ratios']):.2f}"
        line = f"  {case:13s} {r['impl']:16s} {first:>10s} {second:>22s} {r['handnet_ratio']:15.2f} {paired:>16s}"
        print(line.rstrip())


def print_checks(checks: dict) -> None:
    """Print a workload's checks, one line per case, numbers to 2 significant digits."""
    def show(value) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k} {show(v)}" for k, v in value.items())
        return f"{value:.2g}" if isinstance(value, float) else str(value)
    for key, value in checks.items():
        print(f"  check {key}: {show(value)}")


def environment(timing: Timing, mode: str) -> dict:
    """What the numbers depend on: versions, cores, glibc's allocator settings, the mode and its ``Timing``."""
    import importlib.metadata as md
    versions = {}
    for package in ("numpy", "torch", "scikit-learn", "scipy"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    return {"mode": mode, "repeats": timing.repeats, "settle_s": timing.settle, "redo_at_most": timing.redo,
            "cpu_count": os.cpu_count(),
            "malloc_environment": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},   # glibc's tunings
            "machine": platform.machine(), "python": platform.python_version(), "versions": versions}


def write_json(out: Path, group: str, title: str, rows: list[dict], env: dict, checks: dict) -> Path:
    """Write ``out/GROUP.json``: the title, the environment, the rows and the workload's checks."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{group}.json"
    path.write_text(json.dumps({"group": group, "title": title, "environment": env, "checks": checks,
                                "rows": rows}, indent=1, default=float), encoding="utf-8")
    return path


def plot_ratios(out: Path, rows: list[dict]) -> Path:
    """One bar per (workload, case, rival): handnet's median time ÷ the rival's, on a log axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [r for r in rows if r["impl"] != HANDNET and "median_s" in r]
    labels = [f"{r['group']} {r['case']}: {r['impl']}" for r in bars]
    ratios = np.array([r["handnet_ratio"] for r in bars])
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(bars) + 1.5))
    ax.barh(range(len(bars)), ratios, color=["C3" if x > 1 else "C2" for x in ratios])
    ax.set_yticks(range(len(bars)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("handnet's median time ÷ this implementation's (above 1: handnet is slower)")
    ax.set_title("handnet against torch eager, scikit-learn, the NumPy reference, the GEMM bound\n"
                 "and (wide +BN) its own network without BatchNorm", fontsize=9)
    fig.tight_layout()
    path = out / "ratios.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
