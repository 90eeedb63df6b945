"""The input check shared by the elementwise network losses (MSELoss, BCEWithLogitsLoss)."""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_finite


def check_pair(pred, target, who: str, pred_name: str = "pred") -> tuple[np.ndarray, np.ndarray]:
    """Return (pred, target) as float arrays of pred's dtype: same shape, at least one element, finite.

    torch broadcasts a target of another shape (with a warning); a broadcast loss is almost
    always a bug — (N,) against (N, 1) silently becomes (N, N) — so we refuse it.
    """
    pred = as_float_array(pred, who, pred_name)
    target = as_float_array(target, who, "target").astype(pred.dtype, copy=False)
    if pred.shape != target.shape:
        raise ValueError(f"{who}: target must have the shape of {pred_name} {pred.shape}, got {target.shape}")
    if pred.size == 0:
        raise ValueError(f"{who}: {pred_name} must have at least one element, got shape {pred.shape}")
    check_finite(pred, who, pred_name)
    check_finite(target, who, "target")
    return pred, target
