"""Training loop for the teacher and every student variant.

Variants: ``teacher`` (U-Net, segmentation loss only), ``student`` (TinyUnet alone),
``feat`` (+ multi-layer feature KD), ``spatial`` (+ spatial-information KD), ``both``
(TinyUnet as in Zheng et al. 2022: feature + spatial KD).  Logit KD is added to any
student variant when ``w_logit`` > 0.  Segmentation loss: BCE + soft Dice over the
valid (non-padding) pixels.  CUDA: bf16 autocast + channels-last; CPU: fp32.
Checkpoints (``last.pt`` for resume, ``best.pt`` by val Dice), ``log.txt`` and
``summary.json`` go to the run folder.
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import data, evaluate, nets
from .feature_kd import FeatureDistiller
from .logit_kd import bernoulli_kl
from .spatial_kd import SpatialDistiller

VARIANTS = ("teacher", "student", "feat", "spatial", "both")


@dataclass
class TrainConfig:
    set_name: str = "isic2017"
    data_root: str = "/work/shared/data"
    variant: str = "both"
    teacher_width: int = 64
    student_width: int = 4
    teacher_ckpt: Optional[str] = None
    patch: int = 256
    batch: int = 8
    steps: int = 2000
    lr: float = 1e-3
    student_lr: Optional[float] = 2e-3  # None: same as lr
    seed: int = 0
    device: str = "auto"
    threads: int = 2
    val_every: int = 100
    log_every: int = 20
    out_dir: str = "runs/distill"
    resume: bool = True
    # loss weights: defaults = best val Dice of the hc18 val-only sweep (RESULTS.md); the CPU
    # ablation itself ran with w_feat 0.5 / w_spatial 1.0, fixed before that sweep
    w_feat: float = 2.0
    w_spatial: float = 0.5
    w_logit: float = 0.0
    feat_positions: List[int] = field(default_factory=lambda: [1, 3])
    feat_loss: str = "nmse"
    sp_position: int = 3
    sp_k: int = 64
    sp_knn: int = 8
    sp_layers: int = 2
    sp_edge: str = "feature"
    logit_T: float = 2.0

    def run_dir(self) -> Path:
        w = self.teacher_width if self.variant == "teacher" else self.student_width
        return Path(self.out_dir) / self.set_name / f"{self.variant}-w{w}-s{self.seed}"


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


def seed_all(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def seg_loss(logits, mask, valid):
    bce = F.binary_cross_entropy_with_logits(logits.float(), mask, reduction="none")
    bce = (bce * valid).sum() / valid.sum().clamp_min(1.0)
    p = torch.sigmoid(logits.float()) * valid
    inter = (p * mask).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((1, 2, 3)) + (mask * valid).sum((1, 2, 3)) + 1)
    return bce + dice.mean()


def input_spec(channels: int, mean, std, long_side: Optional[int]) -> dict:
    """The model card's ``input`` block (also stored in every checkpoint)."""
    return {"name": "image", "layout": "NCHW", "channels": channels, "height": None, "width": None,
            "resize": {"long_side": long_side}, "pad_multiple": 16,
            "mean": list(mean), "std": list(std)}


def resize_pairs(pairs, long_side):
    """Bring train images to the card's long side (no-op when they already match)."""
    out = []
    for p in pairs:
        h, w = p.mask.shape
        rh, rw = evaluate.resized_shape(h, w, long_side)
        if (rh, rw) == (h, w):
            out.append(p)
            continue
        x = torch.from_numpy(p.image).permute(2, 0, 1)[None].float()
        x = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
        m = F.interpolate(torch.from_numpy(p.mask)[None, None].float(), size=(rh, rw),
                          mode="bilinear", align_corners=False, antialias=True)
        out.append(data.Pair(p.id, x[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy(),
                             (m[0, 0] > 0.5).byte().numpy()))
    return out


def load_model(ckpt_path, device="cpu"):
    """(model, checkpoint dict) from a ``best.pt``/``last.pt``."""
    ck = torch.load(ckpt_path, map_location="cpu")
    model = nets.UNet(ck["input"]["channels"], ck["width"])
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), ck


class Logger:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, msg: str):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def build_distillers(cfg: TrainConfig, model: nets.UNet, teacher: nets.UNet):
    fkd = skd = None
    if cfg.variant in ("feat", "both"):
        fkd = FeatureDistiller(model.encoder.channels, teacher.encoder.channels, cfg.feat_positions,
                               cfg.feat_loss, [b.bn2 for b in teacher.encoder.blocks])
    if cfg.variant in ("spatial", "both"):
        p = cfg.sp_position
        skd = SpatialDistiller(model.encoder.channels[p], teacher.encoder.channels[p], p,
                               k=cfg.sp_k, knn=cfg.sp_knn, layers=cfg.sp_layers, edge_source=cfg.sp_edge)
    return fkd, skd


def train(cfg: TrainConfig) -> dict:
    if cfg.variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    torch.set_num_threads(max(1, cfg.threads))
    run = cfg.run_dir()
    log = Logger(run / "log.txt")
    device = pick_device(cfg.device)
    cuda = device.type == "cuda"
    seed_all(cfg.seed)
    set_dir = Path(cfg.data_root) / cfg.set_name
    train_pairs, val_pairs = data.load_split(set_dir, "train"), data.load_split(set_dir, "val")
    channels = data.infer_channels(train_pairs)
    mean, std = data.channel_stats(train_pairs, channels)
    long_side = max(max(p.mask.shape) for p in train_pairs)
    inp = input_spec(channels, mean, std, long_side)
    sampler = data.TrainSampler(resize_pairs(train_pairs, long_side), channels, mean, std,
                                cfg.patch, seed=cfg.seed)

    is_teacher = cfg.variant == "teacher"
    width = cfg.teacher_width if is_teacher else cfg.student_width
    model = nets.UNet(channels, width).to(device)
    teacher = None
    if not is_teacher and cfg.variant != "student" or cfg.w_logit > 0 and not is_teacher:
        if not cfg.teacher_ckpt:
            raise ValueError(f"variant {cfg.variant} needs --teacher-ckpt")
        teacher, tck = load_model(cfg.teacher_ckpt, device)
        if tck["input"]["channels"] != channels:
            raise ValueError("teacher was trained with a different channel count")
        for p in teacher.parameters():
            p.requires_grad_(False)
    fkd, skd = build_distillers(cfg, model, teacher) if teacher is not None else (None, None)
    modules = [m for m in (model, fkd, skd) if m is not None]
    for m in modules[1:]:
        m.to(device)
    if cuda:
        for m in [*modules, teacher]:
            if m is not None:
                m.to(memory_format=torch.channels_last)
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    lr = cfg.lr if is_teacher or cfg.student_lr is None else cfg.student_lr
    opt = torch.optim.Adam(params, lr=lr)
    warm = min(50, cfg.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else
        0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, cfg.steps - warm))))

    state = {"step": 0, "best_val": -1.0, "best_step": 0, "seconds": 0.0, "history": []}
    last = run / "last.pt"
    if cfg.resume and last.exists():
        ck = torch.load(last, map_location="cpu")
        if same_run(ck.get("config", {}), dataclasses.asdict(cfg)):
            model.load_state_dict(ck["model"])
            for m, k in ((fkd, "fkd"), (skd, "skd")):
                if m is not None:
                    m.load_state_dict(ck[k])
            opt.load_state_dict(ck["opt"])
            sched.load_state_dict(ck["sched"])
            state = ck["state"]
            sampler.rng = np.random.default_rng(cfg.seed + 7919 * state["step"])
            torch.manual_seed(cfg.seed + state["step"])
            log(f"resumed from {last} at step {state['step']}")
        else:
            log(f"ignoring {last}: saved with a different config")
    n_params = nets.count_params(model)
    log(f"{cfg.set_name} {cfg.variant} width={width} params={n_params} device={device} "
        f"channels={channels} mean={mean} std={std} patch={cfg.patch} batch={cfg.batch} "
        f"steps={cfg.steps} seed={cfg.seed}")
    (run / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1))
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()

    def checkpoint(path, extra=None):
        ck = {"model": model.state_dict(), "width": width, "input": inp, "variant": cfg.variant,
              "config": dataclasses.asdict(cfg), "state": state}
        if extra:
            ck.update(extra)
        torch.save(ck, path)

    def save_last():
        extra = {"opt": opt.state_dict(), "sched": sched.state_dict()}
        for m, k in ((fkd, "fkd"), (skd, "skd")):
            if m is not None:
                extra[k] = m.state_dict()
        checkpoint(str(last) + ".tmp", extra)
        Path(str(last) + ".tmp").replace(last)

    model.train()
    t0, t_log, agg = time.time(), time.time(), {}
    steps_per_epoch = max(1, len(train_pairs) / cfg.batch)
    while state["step"] < cfg.steps:
        x, y, v = (torch.from_numpy(a).to(device) for a in sampler.batch(cfg.batch))
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with amp:
            out = model.forward_features(x)
            parts = {"seg": seg_loss(out["logits"], y, v)}
            if teacher is not None:
                with torch.no_grad():
                    tout = teacher.forward_features(x)
                if fkd is not None:
                    parts["feat"] = cfg.w_feat * fkd(out["pre_relu"], tout["pre_relu"])
                if skd is not None:
                    p = cfg.sp_position
                    parts["spatial"] = cfg.w_spatial * skd(
                        out["features"][p], tout["features"][p], torch.sigmoid(tout["logits"].float()))
                if cfg.w_logit > 0:
                    parts["logit"] = cfg.w_logit * bernoulli_kl(out["logits"], tout["logits"], cfg.logit_T, v)
            loss = sum(parts.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        state["step"] += 1
        for k, val in parts.items():
            agg[k] = agg.get(k, 0.0) + float(val)
        agg["n"] = agg.get("n", 0) + 1
        s = state["step"]
        if s % cfg.log_every == 0 or s == cfg.steps:
            n = agg.pop("n")
            msg = " ".join(f"{k}={val / n:.4f}" for k, val in agg.items())
            log(f"step {s}/{cfg.steps} epoch {s / steps_per_epoch:.1f} {msg} "
                f"lr={sched.get_last_lr()[0]:.2e} {(time.time() - t_log) / n:.2f}s/step")
            agg, t_log = {}, time.time()
        if s % cfg.val_every == 0 or s == cfg.steps:
            vm = evaluate.evaluate_pairs(model, val_pairs, inp, 0.5, device, with_hd95=False)
            state["seconds"] += time.time() - t0
            t0 = time.time()
            state["history"].append({"step": s, "val_dice": vm["dice"], "seconds": state["seconds"]})
            best = vm["dice"] > state["best_val"]
            if best:
                state["best_val"], state["best_step"] = vm["dice"], s
                checkpoint(run / "best.pt", {"val_dice": vm["dice"]})
            save_last()
            log(f"val step {s} epoch {s / steps_per_epoch:.1f} dice={vm['dice']:.4f} iou={vm['iou']:.4f}"
                f"{' (best)' if best else ''} elapsed={state['seconds']:.0f}s")
    summary = {"run_dir": str(run), "variant": cfg.variant, "width": width, "params": n_params,
               "device": str(device) if not cuda else torch.cuda.get_device_name(0),
               "seconds": round(state["seconds"], 1), "best_val_dice": state["best_val"],
               "best_step": state["best_step"], "steps": cfg.steps, "seed": cfg.seed,
               "epochs": round(cfg.steps / steps_per_epoch, 1), "input": inp,
               "config": dataclasses.asdict(cfg)}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"done: best val dice {state['best_val']:.4f} at step {state['best_step']}, "
        f"{state['seconds']:.0f}s")
    return summary
