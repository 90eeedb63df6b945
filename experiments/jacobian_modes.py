"""Jacobians by forward and reverse mode: forward mode takes n passes, reverse mode m, and the fewer wins.

Building the full Jacobian of an MLP f: ℝⁿ → ℝᵐ takes n passes in forward mode (one jvp per
input) and m in reverse mode (one backward per output); the two Jacobians agree to 1e-12, and the
mode with far fewer passes is the faster: forward when n ≪ m, reverse when m ≪ n. So for one output
of many inputs, a scalar loss of many parameters, reverse mode is the cheap one, and the statement
found in some course notes, "forward mode is efficient for n inputs and 1 output", is backwards.

A jvp pushes a tangent ẋ forward through the chain and returns J ẋ: with ẋ = eⱼ, the j-th column
of J, so the n columns take n jvps. A backward pulls a cotangent v back and returns vᵀJ: with
v = eᵢ, the i-th row, so the m rows take m backwards. Either pass is a few products the size of
the weights (a Linear layer's jvp is ẋWᵀ, its backward dout W and doutᵀx), so on one network the
two kinds cost about as much as a forward, and with the one forward each build starts with, the
ratio of the times is about (m + 1)/(n + 1). Training is the case
m = 1: a loss is one number of P parameters, one backward gives its whole gradient and forward
mode would need P jvps, which is why backpropagation is reverse mode. Forward mode is efficient
for few inputs and many outputs, the opposite of the course notes' sentence. Both modes sum the
same products in a different order, so their Jacobians differ by rounding alone.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

import handnet as hn
from experiments._timing import best_time
from experiments._report import Check, Report, num, paragraphs
from handnet.layers import Linear, Tanh

NAME = "jacobian_modes"
SIZES = (1, 4, 16, 64, 256)   # n (inputs) and m (outputs), each over this grid
SIZES_QUICK = (1, 8, 64)
HIDDEN = 64                   # h, the width of both hidden layers
REPEATS = 5                   # a time is the best of this many builds of the Jacobian
TOLERANCE = 1e-12             # largest relative error accepted between the two Jacobians
MARGIN = 5.0                  # at the corners of the grid the fewer passes must win by this factor


class CountedMLP(hn.Sequential):
    """Linear(n, h) → Tanh → Linear(h, h) → Tanh → Linear(h, m), counting its jvps and backwards.

    ``hn.jacobian`` puts the module's attributes back as they were after every build; ``passes``
    is the same Counter before and after, so the counts it gathered survive.
    """

    def __init__(self, n: int, m: int, rng: np.random.Generator) -> None:
        super().__init__(Linear(n, HIDDEN, rng=rng), Tanh(), Linear(HIDDEN, HIDDEN, rng=rng), Tanh(),
                         Linear(HIDDEN, m, rng=rng))
        self.passes: Counter = Counter()

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        self.passes["forward"] += 1
        return super().jvp(dx, tangents)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.passes["reverse"] += 1
        return super().backward(dout)


def cell(n: int, m: int, rng: np.random.Generator) -> dict:
    """Both Jacobians (m, n) of one MLP at one input row (1, n): passes, seconds, their disagreement."""
    model, x = CountedMLP(n, m, rng), rng.standard_normal((1, n))
    jacobians, passes, seconds = {}, {}, {}
    for mode in ("forward", "reverse"):
        model.passes.clear()
        jacobians[mode] = hn.jacobian(model, x, mode=mode)
        passes[mode] = model.passes[mode]
        seconds[mode] = best_time(lambda: hn.jacobian(model, x, mode=mode), REPEATS)
    return dict(n=n, m=m, forward_passes=passes["forward"], reverse_passes=passes["reverse"],
                forward_seconds=seconds["forward"], reverse_seconds=seconds["reverse"],
                ratio=seconds["reverse"] / seconds["forward"],
                relative_error=hn.relative_error(jacobians["forward"], jacobians["reverse"]))


def heat_map(cells: list[dict], sizes: tuple[int, ...]) -> plt.Figure:
    ratio = np.array([[c["ratio"] for c in cells if c["n"] == n] for n in sizes])   # (n, m)
    reach = float(np.max(np.abs(np.log10(ratio))))       # symmetric in log: 1 sits in the middle
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    image = ax.imshow(ratio, cmap="RdBu_r", norm=LogNorm(10 ** -reach, 10 ** reach), origin="lower")
    for i in range(len(sizes)):
        for j in range(len(sizes)):
            r = ratio[i, j]
            ax.text(j, i, f"{r:.0f}" if r >= 10 else f"{r:.2g}", ha="center", va="center", fontsize=9,
                    color="white" if abs(np.log10(r)) > 0.6 * reach else "black")
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_yticks(range(len(sizes)), sizes)
    ax.set_xlabel("m, outputs (reverse mode's passes)")
    ax.set_ylabel("n, inputs (forward mode's passes)")
    fig.colorbar(image, ax=ax, label="reverse time / forward time")
    ax.set_title("red: forward mode faster; blue: reverse mode faster")
    fig.tight_layout()
    return fig


def main(out_dir: Path, *, quick: bool = False, seed: int = 0) -> dict:
    sizes = SIZES_QUICK if quick else SIZES
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    cells = [cell(n, m, rng) for n in sizes for m in sizes]
    seconds = time.perf_counter() - start
    at = {(c["n"], c["m"]): c for c in cells}
    low, high = sizes[0], sizes[-1]
    wide, tall = at[low, high], at[high, low]   # n ≪ m; and m ≪ n, the course notes' case
    worst = max(c["relative_error"] for c in cells)

    def times(c: dict) -> str:
        return f"forward {num(c['forward_seconds'] * 1e3, 3)} ms, reverse {num(c['reverse_seconds'] * 1e3, 3)} ms"

    checks = [
        Check("forward mode takes n passes in every cell", all(c["forward_passes"] == c["n"] for c in cells),
              f"{sum(c['forward_passes'] == c['n'] for c in cells)} of {len(cells)} cells"),
        Check("reverse mode takes m passes in every cell", all(c["reverse_passes"] == c["m"] for c in cells),
              f"{sum(c['reverse_passes'] == c['m'] for c in cells)} of {len(cells)} cells"),
        Check(f"the two Jacobians agree to {num(TOLERANCE)} (relative)", worst <= TOLERANCE,
              f"largest relative error {num(worst, 2)}"),
        Check(f"n = {low}, m = {high}: forward mode is at least {num(MARGIN)}× faster", wide["ratio"] >= MARGIN,
              f"{times(wide)}: {num(wide['ratio'], 3)}×"),
        Check(f"n = {high}, m = {low} (many inputs, one output): reverse mode is at least {num(MARGIN)}× faster",
              1 / tall["ratio"] >= MARGIN, f"{times(tall)}: {num(1 / tall['ratio'], 3)}×"),
    ]
    claim, why = paragraphs(__doc__)[1:3]
    report = Report(NAME, "Jacobians by forward and reverse mode: n passes against m", claim=claim, checks=checks,
                    why=why,
                    setup=f"f = Linear(n, {HIDDEN}) → Tanh → Linear({HIDDEN}, {HIDDEN}) → Tanh → Linear({HIDDEN}, m) "
                    f"at one input row, n and m each in {{{', '.join(map(str, sizes))}}}; weights and input drawn "
                    f"with seed {seed}. `hn.jacobian` builds the (m, n) Jacobian after one forward; its passes are "
                    f"counted, and its time is the best of {REPEATS} builds. Time is checked at the two corners "
                    f"only, where the pass counts differ most; near the diagonal noise decides. The table gives both "
                    f"times in ms, forward / reverse.")
    ms = lambda c: f"{num(c['forward_seconds'] * 1e3, 3)} / {num(c['reverse_seconds'] * 1e3, 3)}"
    report.table(["n \\ m", *map(str, sizes)], [[str(n), *(ms(at[n, m]) for m in sizes)] for n in sizes])
    report.figure(heat_map(cells, sizes), "speed_ratio.png",
                  "Reverse time over forward time in each cell of the grid")
    metrics = dict(sizes=sizes, hidden=HIDDEN, repeats=REPEATS, tolerance=TOLERANCE, margin=MARGIN, seed=seed,
                   seconds=seconds, cells=cells, max_relative_error=worst)
    return report.write(out_dir, metrics)
