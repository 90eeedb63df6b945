"""The MLP workloads: a digits epoch at batch 64, and one wide step at batch 4096.

digits_mlp measures one epoch of SGD with momentum 0.9 (lr 0.01) on scikit-learn's digits
(``handnet.data.digits()``: standardised, the 1347 training samples) for the network
64-128-128-10, with and without BatchNorm1d after each hidden Linear, in float64 and float32:
handnet's plain loop, the same epoch through ``hn.fit`` (progress bar off; it also shuffles,
copies each batch and checks every output, gradient and parameter for NaN), torch eager and the
straight-line NumPy reference. The data are shuffled once, outside the timing; every
implementation then walks the same batches (views, no copies) in the same order.

wide_mlp measures one step of the same training on random data for 784-1024-1024-10 at batch
4096, where the matrix products dominate, against the GEMM bound too. Its +BN cases also time
handnet's network without BatchNorm in the same rounds ("handnet no BN"), so that
BatchNorm's share of the step (``checks``: ``batchnorm_share``, the ratio of the two medians
less 1) compares times taken side by side, not minutes apart in another case.

All implementations start from the same weights and take the same steps, repetition after
repetition; ``checks`` records how far the first layer's weights drifted apart by the end,
relative to the largest weight: rounding only (each library sums in its own order, and
float32 rounding grows over the steps).
"""

from __future__ import annotations

import numpy as np

import handnet as hn
from handnet.layers import Linear
from benchmarks._models import HandnetTrainer, handnet_model, trainers
from benchmarks._report import time_rows
from benchmarks._timing import Candidate, Timing, optional, round_robin
from benchmarks.reference import gemm_bound

DTYPES = {"float64": np.float64, "float32": np.float32}
WITHOUT_BN = "handnet no BN"   # the wide +BN cases' extra candidate, for BatchNorm's share
DIGITS = {"full": dict(n=None, hidden=128, batch=64), "quick": dict(n=None, hidden=128, batch=64),
          "smoke": dict(n=200, hidden=16, batch=64)}           # n=None: every training sample
WIDE = {"full": dict(dims=(784, 1024, 1024, 10), batch=4096), "quick": dict(dims=(784, 1024, 1024, 10), batch=512),
        "smoke": dict(dims=(20, 32, 32, 10), batch=64)}


def _cases():
    for batchnorm in (False, True):
        for dtype_name, dtype in DTYPES.items():
            yield (dtype_name + (" +BN" if batchnorm else "")), batchnorm, dtype


def _linear_state(model: hn.Sequential) -> list[bytes]:
    """The bytes of every Linear layer's weight and bias, in order: equal lists, equal Linear layers."""
    return [p.data.tobytes() for layer in model if isinstance(layer, Linear) for p in layer.parameters()]


def _agreement(trained: dict) -> dict[str, float]:
    """max |W₁ − W₁(handnet)| / max |W₁(handnet)| for every other trainer."""
    ref = trained["handnet"].first_weight()
    return {name: float(np.max(np.abs(t.first_weight() - ref)) / np.max(np.abs(ref)))
            for name, t in trained.items() if name != "handnet"}


def _candidates(trained: dict, numpy_batches: list, torch_batches: list | None) -> list[Candidate]:
    """One epoch over the batches for each trainer: the numpy ones first, torch last (fewer switches)."""
    def epoch(step, batches):
        return lambda: [step(X_b, y_b) for X_b, y_b in batches]
    out = [Candidate(name, "numpy", epoch(t.step, numpy_batches))
           for name, t in trained.items() if name != "torch eager"]
    if "torch eager" in trained:
        out.append(Candidate("torch eager", "torch", epoch(trained["torch eager"].step, torch_batches)))
    return out


def digits_mlp(mode: str, timing: Timing) -> tuple[str, list[dict], dict]:
    """Time one epoch on digits for every case; return (title, rows, checks)."""
    from handnet.data import digits
    size, torch = DIGITS[mode], optional("torch")
    ds = digits()
    order = np.random.default_rng(0).permutation(len(ds.X_train))[:size["n"]]
    X, y = ds.X_train[order], ds.y_train[order]
    dims = (X.shape[1], size["hidden"], size["hidden"], 10)
    bounds = [(i, min(i + size["batch"], len(X))) for i in range(0, len(X), size["batch"])]
    rows, checks = [], {}
    for case, batchnorm, dtype in _cases():
        Xd = X.astype(dtype)
        trained = trainers(dims, batchnorm, dtype, torch)
        fit_model = handnet_model(dims, batchnorm, dtype)          # the same initial weights
        fit_trainer = HandnetTrainer(fit_model)
        Xt, yt = trained["torch eager"].tensors(Xd, y) if torch else (None, None)
        candidates = _candidates(trained, [(Xd[a:b], y[a:b]) for a, b in bounds],
                                 [(Xt[a:b], yt[a:b]) for a, b in bounds] if torch else None)
        candidates.insert(1, Candidate("handnet hn.fit", "numpy", lambda: hn.fit(
            fit_model, fit_trainer.loss, fit_trainer.opt, Xd, y, epochs=1, batch_size=size["batch"], rng=0,
            progress=False)))
        times, redone = round_robin(candidates, timing)
        rows += time_rows("digits_mlp", case, times, {c.name: c.library for c in candidates})
        checks[case] = {"steps_per_epoch": len(bounds), "relative_weight_drift": _agreement(trained),
                        "rounds_redone": redone}
    title = (f"digits MLP {'-'.join(map(str, dims))}, one epoch of {len(X)} samples in batches of {size['batch']}, "
             f"SGD momentum 0.9")
    return title, rows, checks


def wide_mlp(mode: str, timing: Timing) -> tuple[str, list[dict], dict]:
    """Time one step at a large batch for every case, with the GEMM bound; return (title, rows, checks)."""
    size, torch = WIDE[mode], optional("torch")
    dims, n = size["dims"], size["batch"]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((n, dims[0])), rng.integers(0, dims[3], n)
    rows, checks = [], {}
    for case, batchnorm, dtype in _cases():
        Xd = X.astype(dtype)
        trained = trainers(dims, batchnorm, dtype, torch)
        Xt, yt = trained["torch eager"].tensors(Xd, y) if torch else (None, None)
        candidates = _candidates(trained, [(Xd, y)], [(Xt, yt)] if torch else None)
        candidates.insert(2, Candidate("GEMM bound", "numpy", gemm_bound(Xd, dims, dtype)))
        if batchnorm:                                              # the same network, the same weights, no BN
            without = HandnetTrainer(handnet_model(dims, False, dtype))
            same_linears = _linear_state(without.model) == _linear_state(trained["handnet"].model)
            start = without.first_weight()
            candidates.insert(1, Candidate(WITHOUT_BN, "numpy", lambda: without.step(Xd, y)))
        times, redone = round_robin(candidates, timing)
        rows += time_rows("wide_mlp", case, times, {c.name: c.library for c in candidates})
        checks[case] = {"relative_weight_drift": _agreement(trained), "rounds_redone": redone}
        if batchnorm:
            checks[case] |= {
                "batchnorm_share": float(np.median(times["handnet"]) / np.median(times[WITHOUT_BN]) - 1),
                "no_bn_layers": " ".join(type(layer).__name__ for layer in without.model),
                "no_bn_started_from_the_same_linears": same_linears,
                "no_bn_trained": not np.array_equal(without.first_weight(), start)}
    title = f"wide MLP {'-'.join(map(str, dims))}, one SGD step at batch {n}"
    return title, rows, checks
