"""Round-robin timing with a settle before every timed call, and lazy imports of the rivals.

Why round-robin: the machine's speed drifts (frequency, other processes, the allocator's state).
If one implementation ran all its repetitions and then the next ran all of its own, the drift
would show up as a difference between them. Instead each repetition runs every implementation
once, in turn, so all of them see the same conditions; we report the median and the min..max
of each one's times.

Why settle: numpy (OpenBLAS), torch (its own OpenMP/MKL pool) and scipy (a second OpenBLAS)
each keep a pool of worker threads. After a call OpenBLAS's workers busy-wait for about 0.1 s
before they sleep; on 2 cores, a different pool started inside that window competes with them
for the cores, and its first products stall (we measured a 0.4 ms torch product taking
15 ms right after a numpy one). The other way round, a pool whose workers have gone to sleep
can take up to ~10 ms to wake. So before every timed call
  1. if the previous timed call used another library, we sleep ``settle`` seconds (0.15 s by
     default, longer than OpenBLAS's 0.1 s spin), so that no other pool is still spinning;
  2. whatever came before, we run one untimed 256×256 product in the library about to be timed,
     so that its workers are awake when the clock starts.
So every implementation starts with its own pool awake and every other pool quiet; an
implementation that follows one of its own library finds the pool awake already, and a sleep
would only let it doze off.

Why rotate, and repeat short workloads: the first call after a pause runs on cold caches and,
for a short workload, can be several times slower than the same call a moment later (a 12 µs
Cholesky was seen taking 74 µs there). A fixed order would put that cost on whoever comes
first, so each round starts one candidate later than the last; and a workload of a few
milliseconds or less is called several times in its slot and timed per call, as timeit does,
so that one cold call does not decide.

Why redo disturbed rounds: on a shared machine, when another process takes one of the 2 cores,
a threaded product waits for its descheduled worker and runs many times slower. So we count,
from the kernel's counters, how much CPU *other* processes used during each round; a round in
which they kept more than 5% of the cores busy is thrown away and run again once the machine
has been quiet for half a second (or after 5 s). The full run redoes at most as many rounds
as there are repetitions, so a machine that is never quiet costs it at most about twice the
time, and then its disturbed rounds are kept; ``--quick`` redoes none, to stay quick. The
JSON records how many rounds were redone and the share of the cores others took meanwhile.
"""

from __future__ import annotations

import importlib
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

SETTLE_SECONDS = 0.15        # > OpenBLAS's ~0.1 s of spinning after a call
SLOT_SECONDS = 0.02          # a candidate's slot lasts at least this long: short workloads are repeated in it
DISTURBED = 0.05             # a round is redone when other processes took more of the cores than this
REDO_WAIT_SECONDS = 5.0      # before a disturbed round is run again, wait up to this long for quiet
_WARM_SIZE = 256             # the product that wakes a pool: large enough to use every worker
_warm_numpy = np.ones((_WARM_SIZE, _WARM_SIZE))
_missing_reported: set[str] = set()


@dataclass(frozen=True)
class Timing:
    """How a workload is timed: ``repeats`` timed rounds, the ``settle`` sleep (seconds) when the
    library changes, and at most ``redo`` disturbed rounds thrown away and run again."""

    repeats: int
    settle: float = SETTLE_SECONDS
    redo: int = 0


@dataclass
class Candidate:
    """One implementation of a workload.

    ``run()`` does one repetition of the workload (an epoch, a step, a solve); ``library`` names
    the thread pool it uses ("numpy", "torch" or "scikit-learn"), which ``settle`` wakes first.
    """

    name: str
    library: str
    run: Callable[[], object]


def optional(name: str) -> ModuleType | None:
    """``import name``, or None (saying once that its rows are skipped) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if name not in _missing_reported:
            print(f"   {name} is not installed: its rows are skipped")
            _missing_reported.add(name)
        return None


def settle(library: str, seconds: float) -> None:
    """Sleep ``seconds`` (for the other pools to stop spinning), then wake the pool of ``library``."""
    if seconds > 0:
        time.sleep(seconds)
    if library == "torch":
        import torch
        torch.ones(_WARM_SIZE, _WARM_SIZE, dtype=torch.float64) @ torch.ones(_WARM_SIZE, _WARM_SIZE,
                                                                            dtype=torch.float64)
    else:  # numpy, and scikit-learn, whose products are numpy's
        _warm_numpy @ _warm_numpy


def busy_seconds() -> tuple[float, float] | None:
    """(CPU seconds the whole machine has spent busy since boot, CPU seconds of this process), or
    None where the kernel does not say (Linux's /proc/stat does)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [float(x) for x in f.readline().split()[1:9]]   # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    own = os.times()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), own.user + own.system


def others_share(before: tuple[float, float] | None, after: tuple[float, float] | None, wall: float) -> float | None:
    """The share of the machine's cores that *other* processes kept busy between two ``busy_seconds``:
    0 on a quiet machine; on 2 cores, 0.5 means another process took one core all along."""
    if before is None or after is None or wall <= 0:
        return None
    others = (after[0] - before[0]) - (after[1] - before[1])
    return max(others, 0.0) / (wall * (os.cpu_count() or 1))


def _wait_for_quiet(timeout: float) -> None:
    """Return once other processes left the cores idle for half a second, or after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = busy_seconds()
        time.sleep(0.5)
        others = others_share(before, busy_seconds(), 0.5)
        if others is None or others <= DISTURBED:
            return


def round_robin(candidates: list[Candidate], timing: Timing,
                warmup: int = 1) -> tuple[dict[str, list[float]], int]:
    """Wall times in seconds of one call, ``timing.repeats`` per candidate, taken in turn, and how
    many rounds were redone.

    Round r runs the k candidates in turn starting from candidate r mod k (the order rotates, so
    that none is always the first after a pause), each after a ``settle`` (which sleeps only when
    the library changes). ``warmup`` untimed rounds come first (first calls pay for allocation, lazy
    initialisation and cold caches). A short workload is called ``number`` times in a row in each
    slot, the same number for every candidate (so that training workloads stay in step), enough
    for the fastest to fill SLOT_SECONDS; its time is the slot's over ``number``, as timeit's. A
    timed round during which other processes kept more than DISTURBED of the cores busy is thrown
    away and run again once the machine is quiet (or after REDO_WAIT_SECONDS), at most
    ``timing.redo`` times in all; later disturbed rounds are kept.
    """
    times: dict[str, list[float]] = {c.name: [] for c in candidates}
    previous, done, redone, number = None, 0, 0, 1
    while done < warmup + timing.repeats:
        before, round_start, elapsed = busy_seconds(), time.perf_counter(), {}
        first = done % len(candidates)
        for c in candidates[first:] + candidates[:first]:
            settle(c.library, timing.settle if c.library != previous else 0.0)
            previous = c.library
            start = time.perf_counter()
            for _ in range(number):
                c.run()
            elapsed[c.name] = (time.perf_counter() - start) / number
        if done == warmup - 1 and timing.settle > 0:      # after the warm-up: how many calls fill a slot
            number = max(1, math.ceil(SLOT_SECONDS / min(elapsed.values())))
        others = others_share(before, busy_seconds(), time.perf_counter() - round_start)
        if done >= warmup and others is not None and others > DISTURBED and redone < timing.redo:
            redone += 1
            _wait_for_quiet(REDO_WAIT_SECONDS)
            continue
        if done >= warmup:
            for name, seconds in elapsed.items():
                times[name].append(seconds)
        done += 1
    return times, redone


def summary(seconds: list[float]) -> dict[str, float | list[float]]:
    """Median, min and max of a list of times (seconds), and the times themselves."""
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
            "times_s": list(seconds)}

