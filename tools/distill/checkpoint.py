"""Checkpoints: what a ``.pt`` file holds, how to load a model from one, its sha256, and
an exponential moving average (EMA) of a model's weights (the round-3 checkpoint).

A checkpoint is a dict: ``model`` (state dict), ``width``, ``input`` (the model card's
input block), ``variant``, ``config`` (the TrainConfig as a dict), ``state`` (step,
val history, seconds) and, for ``last.pt``, the optimiser/scheduler/distiller/EMA states
needed to resume.
"""
from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from . import nets


def sha256(path) -> Optional[str]:
    path = Path(path)
    if not path.exists():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_model(ckpt_path, device="cpu") -> Tuple[nets.UNet, Dict]:
    """(model in eval mode, checkpoint dict) from a ``final.pt``/``best.pt``/``last.pt``."""
    ck = torch.load(ckpt_path, map_location="cpu")
    model = nets.UNet(ck["input"]["channels"], ck["width"])
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), ck


def save_atomic(obj: Dict, path) -> Path:
    """torch.save to ``path`` through a temporary file, so a killed job never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)
    return path


class ModelEMA:
    """EMA of every floating-point entry of a model's state dict (weights and BN statistics);
    decay ramps up as min(decay, (1 + n) / (10 + n)) so early steps are not frozen in."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay, self.updates = decay, 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module):
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        src = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src[k].detach(), alpha=1 - d)
            else:
                v.copy_(src[k])

    def state_dict(self) -> Dict:
        return {"model": self.model.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, sd: Dict):
        self.model.load_state_dict(sd["model"])
        self.updates = sd["updates"]
