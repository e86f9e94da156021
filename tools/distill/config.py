"""Training configuration: one dataclass for teacher and student runs, the run folder it
names, which fields may differ on resume, and the default data root.

Defaults are the round-3 student recipe (issue 19 / the outside review's levers 1-3 and 5):
feature KD balanced to the segmentation gradient (w 0.35) and ramped in from 0 over the
first 20 % of steps; boundary-weighted logit KD (w 0.5, T 2); key points from the teacher
prediction's edges, padding masked, K scaled to the map (one per 4 cells); EMA weights at the last step as
the checkpoint (``final.pt``) instead of the best of a tiny val split.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import torch

REPO = Path(__file__).resolve().parents[2]
# the prepared data sets live next to the checkout (../shared/data), not at a machine path
DEFAULT_DATA_ROOT = str((REPO / ".." / "shared" / "data").resolve())

VARIANTS = ("teacher", "student", "logit", "feat", "spatial", "both")
# which distillation terms each variant uses (a term is on when listed here and its weight > 0)
KD_TERMS = {"teacher": (), "student": (), "logit": ("logit",), "feat": ("feat",),
            "spatial": ("spatial",), "both": ("feat", "spatial", "logit")}
CHECKPOINTS = ("final", "best")  # final: EMA (or raw) weights at the last step; best: best val Dice


def kd_terms(variant: str, weights: Dict[str, float]) -> List[str]:
    """The distillation terms a variant trains with: those of ``KD_TERMS`` weighted above 0."""
    return [t for t in KD_TERMS[variant] if weights[t] > 0]


@dataclass
class TrainConfig:
    set_name: str = "isic2017"
    data_root: str = DEFAULT_DATA_ROOT
    variant: str = "both"
    teacher_width: int = 16
    student_width: int = 4
    teacher_ckpt: Optional[str] = None
    patch: int = 128
    batch: int = 8
    steps: int = 1200
    lr: float = 1e-3
    student_lr: Optional[float] = 2e-3  # None: same as lr
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    val_every: int = 200
    log_every: int = 20
    out_dir: str = "runs/distill"
    resume: bool = True
    # loss weights (round 3): w_feat balanced to the segmentation gradient at init
    # (tools/distill/diagnose.py), all KD terms ramped in from 0 over kd_ramp * steps
    w_feat: float = 0.35
    w_spatial: float = 0.5
    w_logit: float = 0.5
    kd_ramp: float = 0.2
    feat_positions: List[int] = field(default_factory=lambda: [1, 3])
    feat_loss: str = "nmse"
    sp_position: int = 3
    sp_k: int = 0  # 0: scaled to the map, one key point per 4 cells (64 on a 16x16 map)
    sp_knn: int = 8
    sp_layers: int = 2
    sp_edge: str = "prediction"
    logit_T: float = 2.0
    logit_boundary: float = 2.0  # logit KD pixel weight 1 + b * (teacher boundary band)
    ema: float = 0.995  # 0: no EMA
    checkpoint: str = "final"

    def run_dir(self) -> Path:
        w = self.teacher_width if self.variant == "teacher" else self.student_width
        return Path(self.out_dir) / self.set_name / f"{self.variant}-w{w}-s{self.seed}"

    def kd_terms(self) -> List[str]:
        return kd_terms(self.variant, {"feat": self.w_feat, "spatial": self.w_spatial,
                                       "logit": self.w_logit})

    def validate(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}")
        if self.checkpoint not in CHECKPOINTS:
            raise ValueError(f"checkpoint must be one of {CHECKPOINTS}")
        if self.patch % 16:
            raise ValueError("patch size must be a multiple of 16")
        if not 0 <= self.ema < 1:
            raise ValueError("ema must be in [0, 1)")


# fields that do not change what is trained: a run may resume with other values
NON_SEMANTIC = ("threads", "device", "val_every", "log_every", "out_dir", "resume")


def same_run(a: dict, b: dict) -> bool:
    return ({k: v for k, v in a.items() if k not in NON_SEMANTIC}
            == {k: v for k, v in b.items() if k not in NON_SEMANTIC})


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda requested but torch.cuda.is_available() is False")
    return torch.device(name)
