"""Peak memory of one training step at a large batch: handnet against the straight-line reference.

Measured with ``tracemalloc``, which sees every NumPy array buffer (NumPy reports its
allocations to it; torch does not, so torch has no row here), for the network and batch of
the wide MLP workload. Tracing starts before a first step and covers a second one:
  * peak: the highest traced memory during the second step — its working memory (activations,
    caches, gradients, temporaries) on top of what the first step left;
  * kept between steps: what the first step left allocated — the momentum buffers for both,
    and for handnet also each parameter's ``.grad`` and the caches of the last forward, which
    each layer keeps until its next forward replaces them.
The data and the initial weights exist before tracing starts and count in neither.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from benchmarks._models import trainers
from benchmarks._timing import Timing
from benchmarks.mlp import DTYPES, WIDE, _cases


def _step_memory(step, X: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(peak during the second of two calls of step(X, y), kept between them), in bytes."""
    tracemalloc.start()
    try:
        step(X, y)                       # creates the momentum buffers (and handnet's .grad, caches)
        kept, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        step(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, kept


def memory(mode: str, timing: Timing) -> tuple[str, list[dict], dict]:
    """Measure the step's memory for every case (``timing`` does not apply)."""
    size = WIDE[mode]
    dims, n = size["dims"], size["batch"]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((n, dims[0])), rng.integers(0, dims[3], n)
    rows = []
    for case, batchnorm, dtype in _cases():
        Xd = X.astype(dtype)
        case_rows = []
        for name, trainer in trainers(dims, batchnorm, dtype, torch=None).items():
            peak, kept = _step_memory(trainer.step, Xd, y)
            case_rows.append({"group": "memory", "case": case, "impl": name, "library": "numpy",
                              "peak_bytes": peak, "kept_bytes": kept})
        for r in case_rows:
            r["handnet_ratio"] = case_rows[0]["peak_bytes"] / r["peak_bytes"]
        rows += case_rows
    one_activation = n * dims[1]
    checks = {f"one (N, H) activation, MiB [{name}]": one_activation * np.dtype(dtype).itemsize / 2**20
              for name, dtype in DTYPES.items()}
    return f"Memory of one training step of {'-'.join(map(str, dims))} at batch {n} (tracemalloc)", rows, checks
