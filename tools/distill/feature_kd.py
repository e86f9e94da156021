"""Multi-layer feature distillation (Zheng et al. 2022, Sec. "multi-layer features").

Student encoder features at chosen stages (default 1/2 and 1/8 resolution, i.e. stage
indices 1 and 3, taken *before* the ReLU as in the authors' code) are mapped to the
teacher's channel count by 1x1 conv + BN adapters and compared with the teacher's
pre-ReLU features by either

* ``nmse``: ||s - t||^2 / ||t||^2 per sample (scale-free MSE), or
* ``ofd``: the margin-ReLU partial L2 of Heo et al., "A Comprehensive Overhaul of
  Feature Distillation", ICCV 2019: the teacher target is max(t, m) with the
  per-channel margin m = E[t | t < 0] computed from the teacher BN (beta, gamma), and
  positions where the student is already below a non-positive target cost nothing.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

DEFAULT_POSITIONS = (1, 3)  # encoder stages at 1/2 and 1/8 resolution


def nmse(s: torch.Tensor, t: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalised MSE: sum (s-t)^2 / sum t^2, per sample, averaged."""
    dims = tuple(range(1, s.dim()))
    return (((s - t) ** 2).sum(dims) / ((t ** 2).sum(dims) + eps)).mean()


def ofd_margin(bn: nn.BatchNorm2d) -> torch.Tensor:
    """Per-channel E[x | x < 0] for x ~ N(beta, gamma^2) (OFD, Heo et al. 2019, eq. 4)."""
    std = bn.weight.detach().abs().clamp_min(1e-6)
    mean = bn.bias.detach()
    z = mean / std
    pdf = torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)
    cdf_neg = 0.5 * torch.erfc(z / math.sqrt(2))  # P(x < 0) = Phi(-z)
    margin = torch.where(cdf_neg > 1e-3, mean - std * pdf / cdf_neg.clamp_min(1e-12), -3 * std)
    return margin


def ofd_partial_l2(s: torch.Tensor, t: torch.Tensor, margin: torch.Tensor) -> torch.Tensor:
    """Margin-ReLU partial L2: target T = max(t, m); zero where s <= T <= 0; mean over elements."""
    target = torch.max(t, margin.view(1, -1, 1, 1).to(t))
    mask = ((s > target) | (target > 0)).to(s.dtype)
    return ((s - target) ** 2 * mask).mean()


class FeatureDistiller(nn.Module):
    """Adapters + loss over several encoder positions.  ``forward`` takes the
    student and teacher lists of pre-ReLU encoder features and returns the mean loss."""

    def __init__(self, student_channels: Sequence[int], teacher_channels: Sequence[int],
                 positions: Sequence[int] = DEFAULT_POSITIONS, loss: str = "nmse",
                 teacher_bns: Sequence[nn.BatchNorm2d] | None = None):
        super().__init__()
        if loss not in ("nmse", "ofd"):
            raise ValueError(f"unknown feature loss {loss!r} (nmse|ofd)")
        self.positions, self.loss = list(positions), loss
        self.adapters = nn.ModuleList(
            nn.Sequential(nn.Conv2d(student_channels[p], teacher_channels[p], 1, bias=False),
                          nn.BatchNorm2d(teacher_channels[p]))
            for p in self.positions)
        if loss == "ofd":
            if teacher_bns is None:
                raise ValueError("ofd loss needs the teacher's BN layers for the margins")
            for i, p in enumerate(self.positions):
                self.register_buffer(f"margin{i}", ofd_margin(teacher_bns[p]))

    def forward(self, s_feats: Sequence[torch.Tensor], t_feats: Sequence[torch.Tensor]):
        total = 0.0
        for i, p in enumerate(self.positions):
            s = self.adapters[i](s_feats[p]).float()  # losses in fp32 under bf16 autocast
            t = t_feats[p].detach().float()
            if self.loss == "nmse":
                total = total + nmse(s, t)
            else:
                total = total + ofd_partial_l2(s, t, getattr(self, f"margin{i}"))
        return total / len(self.positions)
