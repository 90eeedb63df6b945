"""Command line: python -m experiments list | all | NAME… [--quick] [--out DIR] [--seed N]."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from experiments import EXPERIMENTS


def first_line(name: str) -> str:
    doc = importlib.import_module(f"experiments.{name}").__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def write_index(out: Path, results: dict[str, dict]) -> None:
    lines = ["# handnet experiments\n", "| experiment | claim holds | report |", "|---|---|---|"]
    for name, metrics in results.items():
        holds = "yes" if metrics.get("claim_holds") else "**no**"
        lines.append(f"| {first_line(name)} | {holds} | [{name}/report.md]({name}/report.md) |")
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    parser.add_argument("names", nargs="+", metavar="list | all | NAME", help="what to run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test (well under a minute)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)

    if args.names == ["list"]:
        for name in EXPERIMENTS:
            print(f"{name:24s} {first_line(name)}")
        return 0
    names = EXPERIMENTS if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; choose from {EXPERIMENTS}, 'all' or 'list'")

    results = {}
    for name in names:
        module = importlib.import_module(f"experiments.{name}")
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        results[name] = module.main(args.out / name, quick=args.quick, seed=args.seed)
        verdict = "claim holds" if results[name].get("claim_holds") else "CLAIM NOT BORNE OUT"
        print(f"   {verdict}; {time.perf_counter() - start:.1f} s; see {args.out / name / 'report.md'}", flush=True)
    if args.names == ["all"]:
        write_index(args.out, results)
        print(f"index: {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
