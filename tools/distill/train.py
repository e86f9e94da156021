"""The training loop for the teacher and every student variant (config in ``config.py``,
losses in ``losses.py``, checkpoints in ``checkpoint.py``, log lines in ``runlog.py``).

Variants: ``teacher`` (U-Net, segmentation loss only), ``student`` (TinyUnet alone), and
students with distillation terms (``config.KD_TERMS``): ``logit``, ``feat``, ``spatial`` and
``both`` (TinyUnet: feature + spatial KD as in Zheng et al. 2022, plus logit KD when
``w_logit`` > 0).  KD weights ramp in from 0 over ``kd_ramp`` of the steps.  The teacher
is loaded frozen: eval mode (BN statistics fixed), no gradients, ``no_grad`` forward.
CUDA: bf16 autocast + channels-last; CPU: fp32.

Run folder: ``last.pt`` (resume), ``best.pt`` (best val Dice), ``final.pt`` (weights at the
last step: the EMA when ``ema`` > 0), ``log.txt``, ``config.json`` and ``summary.json``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import data, evaluate, nets
from .checkpoint import ModelEMA, load_model, save_atomic, sha256
from .config import TrainConfig, pick_device, same_run
from .feature_kd import FeatureDistiller
from .losses import bernoulli_kl, boundary_band, kd_ramp, seg_loss
from .runlog import Logger
from .spatial_kd import SpatialDistiller


def seed_all(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


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


def load_teacher(path, device, channels: int) -> nets.UNet:
    """The teacher, frozen: eval mode (BN running statistics fixed) and no gradients."""
    teacher, tck = load_model(path, device)
    if tck["input"]["channels"] != channels:
        raise ValueError("teacher was trained with a different channel count")
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def build_distillers(cfg: TrainConfig, model: nets.UNet, teacher: nets.UNet):
    terms = cfg.kd_terms()
    fkd = skd = None
    if "feat" in terms:
        fkd = FeatureDistiller(model.encoder.channels, teacher.encoder.channels, cfg.feat_positions,
                               cfg.feat_loss, [b.bn2 for b in teacher.encoder.blocks])
    if "spatial" in terms:
        p = cfg.sp_position
        skd = SpatialDistiller(model.encoder.channels[p], teacher.encoder.channels[p], p,
                               k=cfg.sp_k, knn=cfg.sp_knn, layers=cfg.sp_layers, edge_source=cfg.sp_edge)
    return fkd, skd


def kd_parts(cfg: TrainConfig, out, tout, valid, fkd, skd, ramp: float) -> dict:
    """The weighted distillation terms for one batch (student outputs ``out``, teacher ``tout``)."""
    parts = {}
    t_prob = torch.sigmoid(tout["logits"].float())
    if fkd is not None:
        parts["feat"] = ramp * cfg.w_feat * fkd(out["pre_relu"], tout["pre_relu"], valid)
    if skd is not None:
        p = cfg.sp_position
        parts["spatial"] = ramp * cfg.w_spatial * skd(out["features"][p], tout["features"][p], t_prob, valid)
    if "logit" in cfg.kd_terms():
        weight = 1 + cfg.logit_boundary * boundary_band(t_prob) if cfg.logit_boundary > 0 else None
        parts["logit"] = ramp * cfg.w_logit * bernoulli_kl(out["logits"], tout["logits"], cfg.logit_T,
                                                           valid, weight)
    return parts


def train(cfg: TrainConfig) -> dict:
    cfg.validate()
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
    if cfg.kd_terms():
        if not cfg.teacher_ckpt:
            raise ValueError(f"variant {cfg.variant} needs --teacher-ckpt")
        teacher = load_teacher(cfg.teacher_ckpt, device, channels)
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
    ema = ModelEMA(model, cfg.ema) if cfg.ema > 0 else None

    state = {"step": 0, "best_val": -1.0, "best_step": 0, "seconds": 0.0, "history": []}
    last = run / "last.pt"
    if cfg.resume and last.exists():
        ck = torch.load(last, map_location="cpu")
        if same_run(ck.get("config", {}), dataclasses.asdict(cfg)):
            model.load_state_dict(ck["model"])
            for m, k in ((fkd, "fkd"), (skd, "skd"), (ema, "ema")):
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
        f"steps={cfg.steps} seed={cfg.seed} kd={cfg.kd_terms()} ema={cfg.ema}")
    (run / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1))
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()
    evaluated = ema.model if ema is not None else model  # what val measures and final.pt holds

    def checkpoint(path, weights, extra=None):
        ck = {"model": weights.state_dict(), "width": width, "input": inp, "variant": cfg.variant,
              "config": dataclasses.asdict(cfg), "state": state}
        if extra:
            ck.update(extra)
        save_atomic(ck, path)

    def save_last():
        extra = {"opt": opt.state_dict(), "sched": sched.state_dict()}
        for m, k in ((fkd, "fkd"), (skd, "skd"), (ema, "ema")):
            if m is not None:
                extra[k] = m.state_dict()
        checkpoint(last, model, extra)

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
                parts.update(kd_parts(cfg, out, tout, v, fkd, skd,
                                      kd_ramp(state["step"], cfg.steps, cfg.kd_ramp)))
            loss = sum(parts.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if ema is not None:
            ema.update(model)
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
            vm = evaluate.evaluate_pairs(evaluated, val_pairs, inp, 0.5, device, with_hd95=False)
            state["seconds"] += time.time() - t0
            t0 = time.time()
            state["history"].append({"step": s, "val_dice": vm["dice"], "seconds": state["seconds"]})
            best = vm["dice"] > state["best_val"]
            if best:
                state["best_val"], state["best_step"] = vm["dice"], s
                checkpoint(run / "best.pt", evaluated, {"val_dice": vm["dice"]})
            if s == cfg.steps:
                checkpoint(run / "final.pt", evaluated, {"val_dice": vm["dice"]})
            save_last()
            log(f"val step {s} epoch {s / steps_per_epoch:.1f} dice={vm['dice']:.4f} iou={vm['iou']:.4f}"
                f"{' (best)' if best else ''} elapsed={state['seconds']:.0f}s")
    final_val = state["history"][-1]["val_dice"] if state["history"] else float("nan")
    chosen = run / ("final.pt" if cfg.checkpoint == "final" else "best.pt")
    summary = {"run_dir": str(run), "variant": cfg.variant, "width": width, "params": n_params,
               "device": str(device) if not cuda else torch.cuda.get_device_name(0),
               "seconds": round(state["seconds"], 1), "best_val_dice": state["best_val"],
               "best_step": state["best_step"], "final_val_dice": final_val,
               "checkpoint": str(chosen), "checkpoint_sha256": sha256(chosen),
               "val_dice": final_val if cfg.checkpoint == "final" else state["best_val"],
               "steps": cfg.steps, "seed": cfg.seed,
               "epochs": round(cfg.steps / steps_per_epoch, 1), "input": inp,
               "teacher_sha256": sha256(cfg.teacher_ckpt) if teacher is not None else None,
               "config": dataclasses.asdict(cfg)}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"done: final val dice {final_val:.4f} (best {state['best_val']:.4f} at step "
        f"{state['best_step']}), {state['seconds']:.0f}s; checkpoint {chosen.name}")
    return summary
