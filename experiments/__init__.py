"""The experiments: each states a claim from matrix calculus or optimisation, measures it, and
writes DIR/NAME/report.md, DIR/NAME/metrics.json and its PNG plots.

Every experiment module has the same shape: a docstring whose first line is the title, whose
second paragraph is the claim and whose third is the why (the report quotes both); ``NAME`` and
the other constants at the top; and ``main(out_dir, *, quick=False, seed=0) -> dict``, which
measures, states the claim as a list of ``Check``s and writes the three through
``experiments._report.Report``, returning the metrics. A new experiment is registered below.
Run them with ``python -m experiments list | all | NAME… [--quick] [--out DIR] [--seed N]``.
The library never imports this package.
"""

EXPERIMENTS = [
    "ridge_gd_vs_normal",
    "ridge_scaling",
    "logistic_newton_vs_gd",
    "logistic_gd_rate",
    "mlp_toy",
    "backprop_layers",
    "identities",
    "hessian_surfaces",
    "jacobian_modes",
    "checkpointing",
    "newton_small_net",
]
