"""Every training loss in one place: segmentation, feature, logit and graph distillation,
the boundary weighting and the KD ramp.  Each KD loss is zero when the student matches the
teacher and masks letterbox padding (``valid`` maps, 1 = image, 0 = padding).
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn


def seg_loss(logits: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice over the valid (non-padding) pixels."""
    bce = F.binary_cross_entropy_with_logits(logits.float(), mask, reduction="none")
    bce = (bce * valid).sum() / valid.sum().clamp_min(1.0)
    p = torch.sigmoid(logits.float()) * valid
    inter = (p * mask).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((1, 2, 3)) + (mask * valid).sum((1, 2, 3)) + 1)
    return bce + dice.mean()


def resize_valid(valid: Optional[torch.Tensor], size) -> Optional[torch.Tensor]:
    """A pixel validity map brought to a feature map's size (a cell counts when any of it is image)."""
    if valid is None:
        return None
    if tuple(valid.shape[-2:]) == tuple(size):
        return valid
    return (F.adaptive_max_pool2d(valid.float(), size) > 0).float()


def nmse(s: torch.Tensor, t: torch.Tensor, valid: Optional[torch.Tensor] = None,
         eps: float = 1e-8) -> torch.Tensor:
    """Normalised MSE sum (s-t)^2 / sum t^2 per sample over valid cells, averaged."""
    dims = tuple(range(1, s.dim()))
    v = resize_valid(valid, s.shape[-2:]) if valid is not None else torch.ones_like(s[:, :1])
    return ((((s - t) ** 2) * v).sum(dims) / (((t ** 2) * v).sum(dims) + eps)).mean()


def ofd_margin(bn: nn.BatchNorm2d) -> torch.Tensor:
    """Per-channel E[x | x < 0] for x ~ N(beta, gamma^2) (OFD, Heo et al. 2019, eq. 4)."""
    std = bn.weight.detach().abs().clamp_min(1e-6)
    mean = bn.bias.detach()
    z = mean / std
    pdf = torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)
    cdf_neg = 0.5 * torch.erfc(z / math.sqrt(2))  # P(x < 0) = Phi(-z)
    return torch.where(cdf_neg > 1e-3, mean - std * pdf / cdf_neg.clamp_min(1e-12), -3 * std)


def ofd_partial_l2(s: torch.Tensor, t: torch.Tensor, margin: torch.Tensor,
                   valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Margin-ReLU partial L2: target T = max(t, m); zero where s <= T <= 0; mean over valid elements."""
    target = torch.max(t, margin.view(1, -1, 1, 1).to(t))
    mask = ((s > target) | (target > 0)).to(s.dtype)
    if valid is not None:
        v = resize_valid(valid, s.shape[-2:])
        return ((s - target) ** 2 * mask * v).sum() / (v.sum() * s.shape[1]).clamp_min(1.0)
    return ((s - target) ** 2 * mask).mean()


def boundary_band(prob: torch.Tensor, width: int = 5) -> torch.Tensor:
    """1 within ``width`` px of the hard (p > 0.5) mask's boundary, else 0 (B,1,H,W)."""
    hard = (prob > 0.5).float()
    k = 2 * (width // 2) + 1
    dil = F.max_pool2d(hard, k, stride=1, padding=k // 2)
    ero = -F.max_pool2d(-hard, k, stride=1, padding=k // 2)
    return (dil - ero).clamp(0, 1)


def bernoulli_kl(s_logits: torch.Tensor, t_logits: torch.Tensor, temperature: float = 2.0,
                 valid: Optional[torch.Tensor] = None,
                 weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Logit KD (Hinton et al. 2015) for one-channel sigmoid outputs: tempered Bernoulli
    KL(teacher || student) per pixel times T^2, averaged over valid pixels with optional
    per-pixel ``weight`` (e.g. 1 + b * boundary band).  Zero iff the probabilities agree."""
    T = temperature
    s, t = s_logits.float() / T, t_logits.detach().float() / T
    pt = torch.sigmoid(t)
    kl = (pt * (F.logsigmoid(t) - F.logsigmoid(s))
          + (1 - pt) * (F.logsigmoid(-t) - F.logsigmoid(-s)))
    w = torch.ones_like(kl)
    if weight is not None:
        w = w * weight
    if valid is not None:
        w = w * valid
    return (kl * w).sum() / w.sum().clamp_min(1e-6) * T * T


def graph_loss(z_s: torch.Tensor, z_t: torch.Tensor, node_weight: float = 1.0,
               relation_weight: float = 1.0) -> Dict[str, torch.Tensor]:
    """Key-point graph KD: node term 1 - cos(z_s, z_t) plus relation term ||R_s - R_t||^2.

    Relations are cosine similarities between key-point embeddings after removing their
    mean over the K points (so they describe spatial structure, not a shared offset); a
    collapsed, constant student embedding gives all-zero relations and a positive loss."""
    zs, zt = F.normalize(z_s.float(), dim=-1, eps=1e-6), F.normalize(z_t.float(), dim=-1, eps=1e-6)
    node = (1 - (zs * zt).sum(-1)).mean()

    def relations(z):
        zc = F.normalize(z.float() - z.float().mean(1, keepdim=True), dim=-1, eps=1e-6)
        return zc @ zc.transpose(1, 2)

    rel = ((relations(z_s) - relations(z_t)) ** 2).mean()
    return {"node": node, "relation": rel, "loss": node_weight * node + relation_weight * rel}


def kd_ramp(step: int, steps: int, fraction: float) -> float:
    """KD weight factor: linear 0 -> 1 over the first ``fraction`` of the steps, then 1."""
    n = fraction * steps
    return 1.0 if n <= 0 else min(1.0, step / n)
