"""The experiments: each states a claim from matrix calculus or optimisation, measures it, and
writes DIR/NAME/report.md, DIR/NAME/metrics.json and its PNG plots.

Every experiment module has a docstring with its claim, its constants at the top, and
``main(out_dir, *, quick=False, seed=0) -> dict`` that writes the three and returns the metrics.
Run them with ``python -m experiments list | all | NAME… [--quick] [--out DIR] [--seed N]``.
The library never imports this package.
"""

EXPERIMENTS = [
    "ridge_gd_vs_normal",
    "logistic_newton_vs_gd",
    "mlp_toy",
    "backprop_layers",
    "identities",
    "hessian_surfaces",
    "checkpointing",
]
