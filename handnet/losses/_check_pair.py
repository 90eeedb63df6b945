"""The input checks shared by the elementwise network losses (MSELoss, BCEWithLogitsLoss).

``check_target`` is the one check of a target: ``forward`` runs it on each batch and
``check_target`` (which ``fit`` calls on the whole training and validation sets before the first
step) runs the same code, so the two can never disagree.
"""

from __future__ import annotations

import numpy as np

from handnet._checks import as_float_array, check_finite


def check_pred(pred, who: str, pred_name: str = "pred") -> np.ndarray:
    """Return pred as a float array: at least one element, finite."""
    pred = as_float_array(pred, who, pred_name)
    if pred.size == 0:
        raise ValueError(f"{who}: {pred_name} must have at least one element, got shape {pred.shape}")
    check_finite(pred, who, pred_name)
    return pred


def check_target(target, pred_shape: tuple[int, ...], who: str, pred_name: str = "pred") -> np.ndarray:
    """Return target as a float array of pred's shape, finite; a bad entry is reported with its row.

    torch broadcasts a target of another shape (with a warning); a broadcast loss is almost
    always a bug — (N,) against (N, 1) silently becomes (N, N) — so we refuse it.
    """
    target = as_float_array(target, who, "target")
    if target.shape != tuple(pred_shape):
        raise ValueError(f"{who}: target must have the shape of {pred_name} {tuple(pred_shape)}, got {target.shape}")
    check_finite(target, who, "target", by_row=True)
    return target


def check_pair(pred, target, who: str, pred_name: str = "pred") -> tuple[np.ndarray, np.ndarray]:
    """Return (pred, target) as float arrays of pred's dtype: same shape, at least one element, finite."""
    pred = check_pred(pred, who, pred_name)
    return pred, check_target(target, pred.shape, who, pred_name).astype(pred.dtype, copy=False)
