"""The outside review's cheap checks, in seconds to a minute on CPU:

* ``keypoints``: where the spatial-KD key points land on real training patches: the
  fraction within one cell of the true mask boundary at the key-point map's resolution, the
  fraction that are true local peaks, and the fraction on letterbox padding, for each edge
  source (teacher features / teacher prediction) and K, against the boundary fraction of a
  random cell; ``chosen_k`` is the K of the prediction edges with the most boundary hits.
* ``gradients``: each loss term's gradient on the student's weights at initialisation: its
  norm and its cosine with the segmentation gradient, averaged over a few batches; used to
  balance ``w_feat`` / ``w_spatial`` against the segmentation loss (``w_for_equal_norm``).
Both use training patches only (never val or test).

``python -m tools.distill diagnose --set hc18 --teacher-ckpt runs/.../best.pt`` prints JSON
and (with ``--out``) writes it.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from . import data, nets, train
from .config import TrainConfig
from .losses import resize_valid, seg_loss
from .spatial_kd import edge_map, select_keypoints


def _batches(cfg: TrainConfig, n: int, seed: int = 0):
    set_dir = Path(cfg.data_root) / cfg.set_name
    pairs = data.load_split(set_dir, "train")
    ch = data.infer_channels(pairs)
    mean, std = data.channel_stats(pairs, ch)
    long_side = max(max(p.mask.shape) for p in pairs)
    sampler = data.TrainSampler(train.resize_pairs(pairs, long_side), ch, mean, std, cfg.patch, seed=seed)
    return ch, [tuple(torch.from_numpy(a) for a in sampler.batch(cfg.batch)) for _ in range(n)]


def boundary_cells(mask: torch.Tensor, size) -> torch.Tensor:
    """Cells of an (h,w) grid that hold both foreground and background pixels, dilated by one cell."""
    frac = F.adaptive_avg_pool2d(mask.float(), size)
    edge = ((frac > 0) & (frac < 1)).float()
    return F.max_pool2d(edge, 3, stride=1, padding=1) > 0


KEYPOINT_SETTINGS = (("feature", 64, False),  # the paper's / round-2 setting
                     ("prediction", 16, True), ("prediction", 32, True), ("prediction", 64, True))


def keypoint_report(teacher: nets.UNet, batches, position: int = 3) -> Dict:
    """Boundary hits of the key points for each (edge source, K, padding masked) setting, and
    ``chosen_k``: the K of the prediction-edge settings with the most boundary hits."""
    out: Dict[str, Dict] = {}
    for source, k, masked in KEYPOINT_SETTINGS:
        hit = peak = pad = n = 0
        rand_hit = rand_n = 0
        for x, y, v in batches:
            with torch.no_grad():
                t = teacher.forward_features(x)
            feat = t["features"][position]
            h, w = feat.shape[-2:]
            e = edge_map(feat, torch.sigmoid(t["logits"]) if source == "prediction" else None)
            vm = resize_valid(v, (h, w))
            if masked:
                e = e * vm
            idx = select_keypoints(e, k, valid=vm if masked else None)
            bnd = boundary_cells(y, (h, w)).flatten(1)
            is_peak = (e == F.max_pool2d(e, 3, stride=1, padding=1)).flatten(1)
            hit += bnd.gather(1, idx).sum().item()
            peak += is_peak.gather(1, idx).sum().item()
            pad += (vm.flatten(1).gather(1, idx) == 0).sum().item()
            n += idx.numel()
            rand_hit += (bnd & (vm.flatten(1) > 0)).sum().item()
            rand_n += (vm.flatten(1) > 0).sum().item()
        out[f"{source}/K={k}{'/masked' if masked else ''}"] = {
            "source": source, "k": k, "map": [h, w], "cells_per_point": round(h * w / k, 1),
            "boundary_hit": round(hit / n, 3), "true_peaks": round(peak / n, 3), "on_padding": round(pad / n, 3),
            "random_valid_cell_boundary_hit": round(rand_hit / rand_n, 3), "padding_masked": masked}
    pred = [v for v in out.values() if v["source"] == "prediction"]
    best = max(v["boundary_hit"] for v in pred)
    out["chosen_k"] = min(v["k"] for v in pred if v["boundary_hit"] >= best - 0.01)  # ties: fewer points
    return out


def _grad(loss: torch.Tensor, params: List[torch.Tensor]) -> torch.Tensor:
    gs = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(gs, params)])


def gradient_report(cfg: TrainConfig, teacher: nets.UNet, batches, channels: int,
                    w_feats=(2.0, 0.35)) -> Dict:
    """Per-term gradient norms on the student's own weights at init and cosines with seg."""
    torch.manual_seed(cfg.seed)
    student = nets.UNet(channels, cfg.student_width)
    c = dataclasses.replace(cfg, variant="both", w_feat=1.0, w_spatial=1.0, w_logit=1.0)
    fkd, skd = train.build_distillers(c, student, teacher)
    params = [p for p in student.parameters() if p.requires_grad]
    acc: Dict[str, List] = {}
    for x, y, v in batches:
        out = student.forward_features(x)
        with torch.no_grad():
            tout = teacher.forward_features(x)
        terms = {"seg": seg_loss(out["logits"], y, v)}
        terms.update(train.kd_parts(c, out, tout, v, fkd, skd, 1.0))
        g = {k: _grad(t, params) for k, t in terms.items()}
        for k, gk in g.items():
            acc.setdefault(k, []).append((gk.norm().item(), F.cosine_similarity(gk, g["seg"], 0).item(),
                                          float(terms[k])))
    rep = {k: {"grad_norm_at_w1": round(float(np.mean([a[0] for a in vals])), 4),
               "cos_with_seg": round(float(np.mean([a[1] for a in vals])), 3),
               "loss_at_w1": round(float(np.mean([a[2] for a in vals])), 4)} for k, vals in acc.items()}
    seg = rep["seg"]["grad_norm_at_w1"]
    for name in ("feat", "spatial", "logit"):
        if name in rep:
            g = rep[name]["grad_norm_at_w1"]
            rep[name]["w_for_equal_norm"] = round(seg / g, 3) if g > 0 else None
    rep["feat"]["norm_ratio_to_seg"] = {str(w): round(w * rep["feat"]["grad_norm_at_w1"] / seg, 3)
                                        for w in w_feats}
    return rep


def run(cfg: TrainConfig, teacher_ckpt: str, batches: int = 3) -> Dict:
    torch.set_num_threads(max(1, cfg.threads))
    ch, bs = _batches(cfg, batches, cfg.seed)
    teacher = train.load_teacher(teacher_ckpt, "cpu", ch)
    return {"set": cfg.set_name, "teacher_ckpt": str(teacher_ckpt), "patch": cfg.patch, "batch": cfg.batch,
            "batches": batches, "keypoints": keypoint_report(teacher, bs, cfg.sp_position),
            "gradients": gradient_report(cfg, teacher, bs, ch)}
