"""Per-image segmentation metrics on hard (thresholded) masks.

Dice, IoU, precision, recall and HD95 (95th percentile of the symmetric surface
distances, MedPy convention, pixels).  Conventions for empty masks: both empty ->
dice = iou = precision = recall = 1, hd95 = 0; exactly one empty -> dice = iou = 0 and
hd95 = the image diagonal (a bounded worst case instead of infinity).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
from scipy import ndimage


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, structure=ndimage.generate_binary_structure(2, 1),
                                          border_value=0)


def hd95(pred: np.ndarray, gt: np.ndarray) -> float:
    pred, gt = pred.astype(bool), gt.astype(bool)
    if not pred.any() and not gt.any():
        return 0.0
    if not pred.any() or not gt.any():
        return float(np.hypot(*gt.shape))
    sp, sg = _surface(pred), _surface(gt)
    dt_g = ndimage.distance_transform_edt(~sg)
    dt_p = ndimage.distance_transform_edt(~sp)
    d = np.concatenate([dt_g[sp], dt_p[sg]])
    return float(np.percentile(d, 95))


def confusion(pred: np.ndarray, gt: np.ndarray):
    pred, gt = pred.astype(bool), gt.astype(bool)
    tp = int(np.count_nonzero(pred & gt))
    fp = int(np.count_nonzero(pred & ~gt))
    fn = int(np.count_nonzero(~pred & gt))
    return tp, fp, fn


def image_metrics(pred: np.ndarray, gt: np.ndarray, with_hd95: bool = True) -> Dict[str, float]:
    tp, fp, fn = confusion(pred, gt)
    both_empty = tp + fp + fn == 0
    dice = 1.0 if both_empty else 2 * tp / (2 * tp + fp + fn)
    iou = 1.0 if both_empty else tp / (tp + fp + fn)
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0)
    out = {"dice": dice, "iou": iou, "precision": precision, "recall": recall}
    if with_hd95:
        out["hd95"] = hd95(pred, gt)
    return out


def mean_metrics(rows) -> Dict[str, float]:
    keys = [k for k in ("dice", "iou", "hd95", "precision", "recall") if rows and k in rows[0]]
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}
