"""Inference with the server's exact preprocessing, and test-split evaluation.

Preprocessing (must match the Deno server, see the model card contract): x/255; channel
rule (luma 0.299/0.587/0.114 or replicate); bilinear resize (antialiased, as
src/imaging/resize.ts and PIL) so the long side equals ``resize.long_side`` when set and different; (x-mean)/std; centred zero padding to a
multiple of ``pad_multiple`` (extra pixel bottom/right); run; crop; sigmoid; bilinear
resize of the probability back to the original size; foreground = prob > threshold.
Metrics: per image on hard masks, then averaged (``metrics.py``); per-image CSV.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import data, metrics


def resized_shape(h: int, w: int, long_side: Optional[int]):
    if not long_side or max(h, w) == long_side:
        return h, w
    s = long_side / max(h, w)
    return (long_side, max(1, round(w * s))) if h >= w else (max(1, round(h * s)), long_side)


def preprocess(img: np.ndarray, inp: Dict):
    """uint8 HxWxC -> (tensor 1xCxHpxWp, (top, left, h, w) of the valid region)."""
    x = torch.from_numpy(data.to_channels(img, inp["channels"])).permute(2, 0, 1)[None]
    h, w = x.shape[-2:]
    rh, rw = resized_shape(h, w, (inp.get("resize") or {}).get("long_side"))
    if (rh, rw) != (h, w):
        x = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(inp["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(inp["std"], dtype=torch.float32).view(1, -1, 1, 1)
    x = (x - mean) / std
    m = inp.get("pad_multiple", 16)
    (pt, pb), (pl, pr) = data.pad_amounts(rh, m), data.pad_amounts(rw, m)
    x = F.pad(x, (pl, pr, pt, pb), value=0.0)
    return x.contiguous(), (pt, pl, rh, rw)


@torch.no_grad()
def predict_prob(model, img: np.ndarray, inp: Dict, device="cpu") -> np.ndarray:
    """Foreground probability (HxW float32) at the image's original size."""
    h, w = img.shape[:2]
    x, (t, l, rh, rw) = preprocess(img, inp)
    logits = model(x.to(device)).float().cpu()[:, :1, t:t + rh, l:l + rw]
    p = torch.sigmoid(logits)
    if (rh, rw) != (h, w):
        p = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return p[0, 0].numpy()


def evaluate_pairs(model, pairs, inp: Dict, threshold: float = 0.5, device="cpu",
                   csv_path: Optional[Path] = None, with_hd95: bool = True,
                   with_rows: bool = False) -> Dict:
    """Mean metrics over ``pairs`` (and the per-image rows under ``rows`` when asked)."""
    was = model.training
    model.eval()
    rows = []
    for p in pairs:
        prob = predict_prob(model, p.image, inp, device)
        r = {"id": p.id, **metrics.image_metrics(prob > threshold, p.mask > 0, with_hd95)}
        rows.append(r)
    model.train(was)
    if csv_path is not None:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        with open(csv_path, "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            wr.writeheader()
            for r in rows:
                wr.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    out = metrics.mean_metrics(rows)
    out["n"] = len(rows)
    if with_rows:
        out["rows"] = rows
    return out
