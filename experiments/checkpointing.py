"""Gradient checkpointing: with about √n segments, a deep network holds O(√n) for about one extra forward.

Cut into s ≈ √n checkpointed segments, an n-layer network holds O(√n) arrays for its backward
instead of O(n), for about one extra forward pass, and its gradients are the plain model's exactly.

A plain backward reads every layer's cache of the forward, so it holds ∝ n between forward and
backward (``hn.saved_arrays`` lists it). ``hn.checkpoint_sequential(model, s)`` keeps the inputs
of s − 1 checkpointed segments and the caches of the last: about s + n/s arrays. Backward rebuilds
one segment at a time, n/s more at the peak. Both are least near s = √n, where they are ∝ √n; the
price is a second forward of every layer outside the last segment, 1 − (its length)/n of a
forward. Chen et al. (2016), who proposed the schedule, report it at scale: a 1,000-layer ResNet
in 7 GB instead of 48 GB, for about 30% more time.

The network: n blocks Linear(D, D)–Tanh on a batch (N, D). Each block holds one (N, D) array B
(Tanh's output y is the next Linear's input x: one buffer, counted once), so the plain model holds
n + 1 of them, its input included: s + n/s at s = 1.
"""

from __future__ import annotations

import time
import tracemalloc
from contextlib import nullcontext
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import handnet as hn
from experiments._report import Check, Report, paragraphs
from handnet.layers import Linear, Tanh
from handnet.losses import MSELoss

try:  # installed with scikit-learn; the matrices here are too small to share between BLAS threads
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

NAME = "checkpointing"
WIDTH = 32                        # D: narrow, so the caches (N·D each) and not the weights (D² each) dominate
BATCH = 512                       # N
DEPTHS = [4, 9, 16, 25, 36, 49, 64, 81, 100]      # n, the number of Linear–Tanh blocks
DEPTHS_QUICK = [4, 16, 36, 64]
REPEATS, REPEATS_QUICK = 15, 7    # turns of timing: a plain forward, a plain step, a checkpointed step
SLOPE = (0.4, 0.6)                # the fitted exponent of n that counts as √n
PEAK_RATIO = 0.5                  # tracemalloc's peak at √n segments, at the largest depth, at most this × plain
EXTRA_FORWARDS = (0.5, 1.5)       # measured extra time, in plain forwards, that counts as "about one"


def mlp(depth: int, seed: int) -> hn.Sequential:
    rng = np.random.default_rng(seed)
    return hn.Sequential(*[m for _ in range(depth) for m in (Linear(WIDTH, WIDTH, rng=rng), Tanh())])


def step(model, X, target) -> tuple[float, np.ndarray, list[np.ndarray]]:
    loss = MSELoss()
    value = loss(model(X), target)
    return value, model.backward(loss.backward()), [p.grad for p in model.parameters()]


def memory(model, X, target) -> tuple[int, int]:
    """Bytes held for backward after a forward (the ledger), and tracemalloc's peak over one step
    (above what was allocated before it; the step before it leaves every cache in place, as in training)."""
    step(model, X, target)
    tracemalloc.start()
    step(model, X, target)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    model(X)
    return hn.saved_arrays(model).total_bytes, peak


def timings(plain, ours, X, target, repeats: int) -> tuple[float, float, float]:
    """A plain forward, a plain step and a checkpointed step, ``repeats`` times in turn, so that a busy
    machine slows the three of a turn alike. Returns the fastest checkpointed step, and the medians over
    the turns of its ratio to the plain step and of the extra time in plain forwards."""
    def clock(f) -> float:
        start = time.perf_counter()
        f()
        return time.perf_counter() - start

    turns = np.array([[clock(lambda: plain(X)), clock(lambda: step(plain, X, target)),
                       clock(lambda: step(ours, X, target))] for _ in range(repeats)])
    forward, plain_step, ours_step = turns.T
    return ours_step.min(), np.median(ours_step / plain_step), np.median((ours_step - plain_step) / forward)


def max_relative_difference(ours, plain) -> float:
    """Over the loss, dx and every parameter gradient: max |ours − plain| / max |plain|."""
    pairs = [(np.asarray(ours[0]), np.asarray(plain[0])), (ours[1], plain[1])] + list(zip(ours[2], plain[2]))
    return max(float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) for a, b in pairs)


def run(depth: int, segments: int, X, target, repeats: int, seed: int) -> dict:
    """One model of ``depth`` blocks cut into ``segments`` (1: plain), against the plain model."""
    plain, ours = mlp(depth, seed), mlp(depth, seed)
    if segments > 1:
        ours = hn.checkpoint_sequential(ours, segments)
    difference = max_relative_difference(step(ours, X, target), step(plain, X, target))
    held, peak = memory(ours, X, target)
    last = ours.bounds[-1][1] - ours.bounds[-1][0] if segments > 1 else 2 * depth   # modules run only once
    row = dict(depth=depth, segments=segments, grad_difference=difference, held=held, peak=peak,
               theory_held=segments + depth / segments,                   # in arrays B
               theory_peak=segments + depth / segments * (2 if segments > 1 else 1),
               extra_forwards_theory=1 - last / (2 * depth))
    if repeats:
        fastest, ratio, extra = timings(plain, ours, X, target, repeats)
        row.update(step=float(fastest), step_ratio=float(ratio), extra_forwards=float(extra))
    return row


def slope(depths, values) -> float:
    """The exponent α of a least-squares fit values ∝ depthᵅ (on log–log axes)."""
    return float(np.polyfit(np.log(depths), np.log(values), 1)[0])


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    depths, repeats = (DEPTHS_QUICK, REPEATS_QUICK) if quick else (DEPTHS, REPEATS)
    rng = np.random.default_rng(seed)
    X, target = rng.standard_normal((BATCH, WIDTH)), rng.standard_normal((BATCH, WIDTH))
    array = X.nbytes                                     # B: one (N, D) float64 array
    n, root = depths[-1], round(np.sqrt(depths[-1]))
    sweep = sorted({1, 2, 3, 5, root, 2 * root, n // 3, n, 2 * n})     # 2n: every module its own segment
    with threadpool_limits(1) if threadpool_limits else nullcontext():
        rows = [run(n, s, X, target, repeats, seed) for s in sweep]
        scaling = [(run(d, 1, X, target, 0, seed), run(d, round(np.sqrt(d)), X, target, 0, seed)) for d in depths]
    at_root = next(r for r in rows if r["segments"] == root)

    plain_slope = slope(depths, [p["held"] for p, _ in scaling])
    root_slope = slope(depths, [c["held"] for _, c in scaling])
    worst = max(r["grad_difference"] for r in rows + [c for pair in scaling for c in pair])
    peak_ratio = at_root["peak"] / rows[0]["peak"]
    extra = at_root["extra_forwards"]
    checks = [  # (one-line claim, holds, what was measured)
        ("gradients equal the plain model's (≤ 1e-15 relative)", worst <= 1e-15,
         f"largest relative difference {worst:.1e}"),
        (f"held bytes at √n segments grow as nᵅ with α in {SLOPE}", SLOPE[0] <= root_slope <= SLOPE[1],
         f"α = {root_slope:.2f} (plain {plain_slope:.2f}); {at_root['held'] / 2**20:.2f} MiB against "
         f"{rows[0]['held'] / 2**20:.2f} MiB at n = {n}"),
        (f"tracemalloc's peak at √n segments ≤ {PEAK_RATIO} × plain at n = {n}", peak_ratio <= PEAK_RATIO,
         f"×{peak_ratio:.2f}: {at_root['peak'] / 2**20:.2f} against {rows[0]['peak'] / 2**20:.2f} MiB"),
        (f"extra time at √n segments is {EXTRA_FORWARDS[0]}–{EXTRA_FORWARDS[1]} forwards",
         EXTRA_FORWARDS[0] <= extra <= EXTRA_FORWARDS[1],
         f"{extra:.2f} forwards (theory {at_root['extra_forwards_theory']:.2f}); step ×{at_root['step_ratio']:.2f}"),
    ]

    fig, (ax_s, ax_n, ax_t) = plt.subplots(1, 3, figsize=(15, 4.2))
    s, mib = np.array([r["segments"] for r in rows]), 2.0 ** 20
    grid = np.geomspace(2, s.max(), 100)
    ax_s.plot(s, [r["held"] / mib for r in rows], "o", color="C0", label="held for backward (ledger)")
    ax_s.plot(grid, (grid + n / grid) * array / mib, "-", color="C0", lw=1, label="theory (s + n/s)·B")
    ax_s.plot(s, [r["peak"] / mib for r in rows], "s", color="C1", label="peak of a step (tracemalloc)")
    ax_s.plot(grid, (grid + 2 * n / grid) * array / mib, "-", color="C1", lw=1, label="theory (s + 2n/s)·B")
    ax_s.axvline(np.sqrt(n), color="grey", ls=":", label="s = √n")
    ax_s.set(xscale="log", xlabel="segments s (1: plain)", ylabel="MiB", title=f"n = {n} blocks")
    ax_s.legend(fontsize=8)
    for k, (label, colour) in enumerate([("plain", "C3"), ("√n segments", "C0")]):
        ax_n.plot(depths, [pair[k]["held"] / mib for pair in scaling], "o-", color=colour, label=f"{label}, ledger")
        ax_n.plot(depths, [pair[k]["peak"] / mib for pair in scaling], "s--", color=colour,
                  label=f"{label}, tracemalloc")
    ax_n.set(xscale="log", yscale="log", xlabel="depth n (blocks)", ylabel="MiB",
             title=f"ledger ∝ nᵅ: plain α = {plain_slope:.2f}, √n segments α = {root_slope:.2f}")
    ax_n.set_xticks(depths, [str(d) for d in depths], minor=False)
    ax_n.minorticks_off()
    ax_n.legend(fontsize=8)
    ax_t.plot(s, [r["extra_forwards"] for r in rows], "o", label="measured")
    ax_t.plot(s, [r["extra_forwards_theory"] for r in rows], "k_", ms=14, label="theory: 1 − (last segment)/n")
    ax_t.set(xscale="log", xlabel="segments s", ylabel="extra time, in plain forwards", title="the price")
    ax_t.legend(fontsize=8)

    # ---- the report: the claim, the checks, one table, the plot, the why ----
    claim, why, network = paragraphs(__doc__)[1:4]
    setup = (f"{network} Here N = {BATCH} and D = {WIDTH}, so B = {array // 1024} KiB; depths n = {depths}. "
             f"Times, on one BLAS thread: the fastest of {repeats} steps; ratios are medians over {repeats} turns "
             f"of a plain forward, a plain step and a checkpointed step. The published scale: Chen et al. (2016), "
             f"48 GB → 7 GB for a 1,000-layer ResNet, for about 30% more time.")
    report = Report(NAME, "Gradient checkpointing: memory against time", claim=claim,
                    checks=[Check(c, ok, m) for c, ok, m in checks], setup=setup, why=why)
    report.table(["segments s", "held (ledger, MiB)", "theory (s + n/s)·B", "peak (tracemalloc, MiB)",
                  "theory (s + 2n/s)·B", "step (ms)", "× plain", "extra forwards", "theory"],
                 [[r["segments"], r["held"] / mib, r["theory_held"] * array / mib, r["peak"] / mib,
                   r["theory_peak"] * array / mib, 1e3 * r["step"], r["step_ratio"], r["extra_forwards"],
                   r["extra_forwards_theory"]] for r in rows])
    report.figure(fig, "memory_and_time.png", "Left: memory against segments at the largest depth. Middle: against "
                  "depth, plain and at √n segments (log–log). Right: the extra time, in plain forwards.")
    metrics = dict(width=WIDTH, batch=BATCH, depths=depths, array_bytes=array, segments_sweep=rows,
                   scaling=[dict(depth=p["depth"], plain=p, root=c) for p, c in scaling], plain_slope=plain_slope,
                   root_slope=root_slope, peak_ratio=peak_ratio, max_grad_difference=worst,
                   step_ratio_at_root=at_root["step_ratio"], extra_forwards_at_root=at_root["extra_forwards"],
                   blas_threads_limited=threadpool_limits is not None,
                   published="Chen et al. 2016: 1,000-layer ResNet, 48 GB -> 7 GB, about 30% more time")
    return report.write(out_dir, metrics)
