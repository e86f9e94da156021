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

Letterbox padding is masked out of both (``valid``).  The losses live in ``losses.py``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from .losses import nmse, ofd_margin, ofd_partial_l2

DEFAULT_POSITIONS = (1, 3)  # encoder stages at 1/2 and 1/8 resolution


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

    def forward(self, s_feats: Sequence[torch.Tensor], t_feats: Sequence[torch.Tensor],
                valid: Optional[torch.Tensor] = None):
        total = 0.0
        for i, p in enumerate(self.positions):
            s = self.adapters[i](s_feats[p]).float()  # losses in fp32 under bf16 autocast
            t = t_feats[p].detach().float()
            if self.loss == "nmse":
                total = total + nmse(s, t, valid)
            else:
                total = total + ofd_partial_l2(s, t, getattr(self, f"margin{i}"), valid)
        return total / len(self.positions)
