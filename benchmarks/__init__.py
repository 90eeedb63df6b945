"""Benchmarks: how fast handnet is, against torch eager, scikit-learn, straight-line NumPy and the
GEMM bound.

Run ``python -m benchmarks`` (``--quick`` for smaller sizes, ``--only NAME…`` for some
workloads). Each workload prints a table — per case and implementation, the median time, the
min..max, and handnet's median ÷ this one (above 1: handnet is slower) — and writes
``benchmarks/results/NAME.json``; the run ends with ``benchmarks/results/ratios.png``.

The workloads (one module each):
  * ``mlp``: a digits epoch (64-128-128-10, batch 64) and one wide step (784-1024-1024-10,
    batch 4096), SGD with momentum, with and without BatchNorm, float64 and float32: handnet,
    torch eager, the straight-line NumPy reference (``reference``) and, for the wide step, the
    GEMM bound (the step's matrix products alone);
  * ``ridge``: the closed form of ridge regression against ``np.linalg.solve`` and scikit-learn;
  * ``logistic``: Newton's method and gradient descent on logistic regression against NumPy loops
    making the same iterations, and scikit-learn's newton-cholesky;
  * ``memory``: the peak memory of a wide training step, handnet against the reference.

How it is timed (``_timing``): in one process, round-robin — each round runs every
implementation in turn, starting one later than the round before, a workload of a few
milliseconds several times and timed per call — after a settle that keeps the thread pools of
numpy, torch and scipy from stalling one another on a small machine; a round that other
processes disturbed is run again (full runs only), and each workload says how much of the cores
others took. torch and
scikit-learn are imported lazily; when one is not installed its rows are skipped with a message.
This package is not part of the library: handnet never imports it.
"""
