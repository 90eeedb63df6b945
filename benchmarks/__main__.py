"""Command line: python -m benchmarks [--quick | --smoke] [--only NAME…] [--repeats N] [--out DIR]."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from benchmarks import logistic, memory, mlp, ridge
from benchmarks._report import environment, print_checks, plot_ratios, print_table, write_json
from benchmarks._timing import DISTURBED, Timing, busy_seconds, optional, others_share

WORKLOADS = {
    "digits_mlp": mlp.digits_mlp,
    "wide_mlp": mlp.wide_mlp,
    "ridge": ridge.ridge,
    "logistic_newton": logistic.logistic_newton,
    "logistic_gd": logistic.logistic_gd,
    "memory": memory.memory,
}
# full: 15 rounds, up to 15 disturbed ones redone; quick: 3, none redone; smoke: 1, no settle (times mean nothing)
TIMING = {"full": Timing(repeats=15, redo=15), "quick": Timing(repeats=3), "smoke": Timing(repeats=1, settle=0.0)}
RESULTS = Path(__file__).parent / "results"


@contextlib.contextmanager
def _torch_threads(mode: str):
    """In smoke mode (no settle), run torch on one thread: with no pool of its own to wake, it cannot
    stall behind numpy's spinning workers, and the smoke run stays a few seconds long."""
    torch = optional("torch") if mode == "smoke" else None
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(mode: str = "full", out: Path = RESULTS, *, repeats: int | None = None,
        only: list[str] | None = None) -> dict[str, dict]:
    """Run the workloads (all, or those in ``only``) at the sizes of ``mode`` ("full", "quick" or
    "smoke"); print their tables, write OUT/NAME.json and OUT/ratios.png; return {name: result}.
    Smoke mode (tiny sizes, one repetition, no settle) is for the tests: its times mean nothing."""
    timing = TIMING[mode]
    if repeats is not None:
        timing = Timing(repeats, timing.settle, min(timing.redo, repeats))
    results, all_rows = {}, []
    with _torch_threads(mode):
        for name in only or WORKLOADS:
            start, busy = time.perf_counter(), busy_seconds()
            print(f"== {name}", flush=True)
            title, rows, checks = WORKLOADS[name](mode, timing)
            wall = time.perf_counter() - start
            others = others_share(busy, busy_seconds(), wall)
            env = environment(timing, mode) | {"wall_s": wall, "other_processes_cpu_share": others}
            write_json(out, name, title, rows, env, checks)
            print_table(title, rows)
            print_checks(checks)
            print(f"  {wall:.1f} s" + ("" if others is None else
                                      f"; other processes kept {others:.0%} of the cores busy meanwhile"
                                      + (" (the times are disturbed)" if others > DISTURBED else "")), flush=True)
            results[name] = {"title": title, "rows": rows, "checks": checks}
            all_rows += rows
    print(f"\nwrote {out}/*.json and {plot_ratios(out, all_rows)}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true",
                       help="smaller sizes, 3 repetitions, no round redone (well under a minute)")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition, no settle: for the tests")
    parser.add_argument("--only", nargs="+", choices=list(WORKLOADS), metavar="NAME",
                        help=f"run only these workloads, from {list(WORKLOADS)}")
    parser.add_argument("--repeats", type=int, help="timed repetitions per implementation (default: 15, quick 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder (default: benchmarks/results)")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    start = time.perf_counter()
    run(mode, args.out, repeats=args.repeats, only=args.only)
    print(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
