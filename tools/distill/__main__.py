"""CLI: ``python -m tools.distill {train,evaluate,export,ablation,sweep} ...`` (or ``deno task distill -- ...``).

Examples (GPU host, the paper's setting):
  deno task distill -- ablation --sets all --teacher-width 64 --device cuda --seeds 0 1 2
  deno task distill -- train --set isic2017 --variant teacher --teacher-width 64 --device cuda
  deno task distill -- train --set isic2017 --variant both --teacher-width 64 \
      --teacher-ckpt runs/distill/isic2017/teacher-w64-s0/best.pt --device cuda
  deno task distill -- export --checkpoint runs/distill/isic2017/both-w4-s0/best.pt --set isic2017 \
      --teacher-ckpt runs/distill/isic2017/teacher-w64-s0/best.pt
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from . import ablation, data, evaluate, export, train

PRESETS = {  # steps / patch per device class; override with flags
    "cuda": {"teacher_steps": 3000, "student_steps": 3000, "patch": 256, "batch": 16},
    "cpu": {"teacher_steps": 1200, "student_steps": 800, "patch": 128, "batch": 8},
}


def add_train_args(p: argparse.ArgumentParser):
    d = train.TrainConfig()
    p.add_argument("--data-root", default=d.data_root)
    p.add_argument("--teacher-width", type=int, default=d.teacher_width)
    p.add_argument("--student-width", type=int, default=d.student_width)
    p.add_argument("--patch", type=int, default=None, help="training patch side (multiple of 16)")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--lr", type=float, default=d.lr, help="teacher learning rate (Adam, cosine)")
    p.add_argument("--student-lr", type=float, default=d.student_lr)
    p.add_argument("--device", default=d.device, choices=["auto", "cuda", "cpu"])
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--val-every", type=int, default=d.val_every)
    p.add_argument("--out-dir", default=d.out_dir)
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--w-feat", type=float, default=d.w_feat)
    p.add_argument("--w-spatial", type=float, default=d.w_spatial)
    p.add_argument("--w-logit", type=float, default=d.w_logit)
    p.add_argument("--feat-positions", type=int, nargs="+", default=d.feat_positions)
    p.add_argument("--feat-loss", default=d.feat_loss, choices=["nmse", "ofd"])
    p.add_argument("--sp-position", type=int, default=d.sp_position)
    p.add_argument("--sp-k", type=int, default=d.sp_k)
    p.add_argument("--sp-knn", type=int, default=d.sp_knn)
    p.add_argument("--sp-layers", type=int, default=d.sp_layers)
    p.add_argument("--sp-edge", default=d.sp_edge, choices=["feature", "prediction"])
    p.add_argument("--logit-t", type=float, default=d.logit_T)


def config_from(a, **over) -> train.TrainConfig:
    dev = train.pick_device(a.device).type
    pre = PRESETS[dev]
    return train.TrainConfig(
        data_root=a.data_root, teacher_width=a.teacher_width, student_width=a.student_width,
        patch=a.patch or pre["patch"], batch=a.batch or pre["batch"], lr=a.lr, student_lr=a.student_lr, device=a.device,
        threads=a.threads, val_every=a.val_every, out_dir=a.out_dir, resume=not a.no_resume,
        w_feat=a.w_feat, w_spatial=a.w_spatial, w_logit=a.w_logit, feat_positions=a.feat_positions,
        feat_loss=a.feat_loss, sp_position=a.sp_position, sp_k=a.sp_k, sp_knn=a.sp_knn,
        sp_layers=a.sp_layers, sp_edge=a.sp_edge, logit_T=a.logit_t, **over)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="python -m tools.distill", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("train", help="train one teacher or student variant")
    p.add_argument("--set", required=True)
    p.add_argument("--variant", default="both", choices=train.VARIANTS)
    p.add_argument("--teacher-ckpt")
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0)
    add_train_args(p)

    p = sub.add_parser("evaluate", help="test-split metrics + per-image CSV for a checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--set", required=True)
    p.add_argument("--data-root", default=train.TrainConfig.data_root)
    p.add_argument("--split", default="test", choices=data.SPLITS)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--csv")

    p = sub.add_parser("export", help="ONNX + check + model.json card + samples")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--set", required=True)
    p.add_argument("--data-root", default=train.TrainConfig.data_root)
    p.add_argument("--teacher-ckpt")
    p.add_argument("--models-dir", default="models")
    p.add_argument("--version", default="1")
    p.add_argument("--samples", type=int, default=3)

    p = sub.add_parser("ablation", help="train + evaluate all variants on the sets; results.json/RESULTS.md")
    p.add_argument("--sets", nargs="+", default=["all"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--teacher-steps", type=int)
    p.add_argument("--student-steps", type=int)
    p.add_argument("--variants", nargs="+", default=list(ablation.ORDER))
    p.add_argument("--models-dir", default="models")
    p.add_argument("--version", default="1")
    p.add_argument("--no-publish", action="store_true")
    p.add_argument("--results", default=str(ablation.HERE / "results.json"))
    p.add_argument("--markdown", default=str(ablation.HERE / "RESULTS.md"))
    p.add_argument("--weights-note", default="defaults; see RESULTS.md notes")
    p.add_argument("--notes", default="")
    add_train_args(p)

    p = sub.add_parser("sweep", help="val-only grid of TinyUnet loss weights on one set (sweep.json)")
    p.add_argument("--set", required=True)
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--w-feats", type=float, nargs="+", default=[0.1, 0.5, 2.0])
    p.add_argument("--w-spatials", type=float, nargs="+", default=[0.5, 2.0])
    add_train_args(p)

    a = ap.parse_args(argv)
    if a.cmd == "train":
        dev = train.pick_device(a.device).type
        steps = a.steps or PRESETS[dev]["teacher_steps" if a.variant == "teacher" else "student_steps"]
        cfg = config_from(a, set_name=a.set, variant=a.variant, teacher_ckpt=a.teacher_ckpt,
                          steps=steps, seed=a.seed)
        print(json.dumps(train.train(cfg), indent=1, default=str))
    elif a.cmd == "evaluate":
        model, ck = train.load_model(a.checkpoint)
        pairs = data.load_split(Path(a.data_root) / a.set, a.split)
        csv = a.csv or str(Path(a.checkpoint).parent / f"{a.split}_per_image.csv")
        res = evaluate.evaluate_pairs(model, pairs, ck["input"], a.threshold, csv_path=Path(csv))
        res["csv"] = csv
        print(json.dumps(res, indent=1))
    elif a.cmd == "export":
        c = export.publish(Path(a.checkpoint), Path(a.data_root) / a.set, Path(a.models_dir), a.version,
                           teacher_ckpt=Path(a.teacher_ckpt) if a.teacher_ckpt else None,
                           samples=a.samples)
        print(json.dumps({k: c[k] for k in ("name", "version", "params", "metrics")}, indent=1))
        print("onnx check:", json.dumps(c["training"]["onnx_check"]))
    elif a.cmd == "sweep":
        dev = train.pick_device(a.device).type
        ablation.sweep_weights(a.set, config_from(a), a.steps or PRESETS[dev]["student_steps"],
                               a.w_feats, a.w_spatials, a.seed)
    elif a.cmd == "ablation":
        sets = list(ablation.ALL_SETS) if a.sets == ["all"] else a.sets
        dev = train.pick_device(a.device).type
        pre = PRESETS[dev]
        base = config_from(a)
        ablation.run_ablation(
            sets, base, a.seeds, a.teacher_steps or pre["teacher_steps"],
            a.student_steps or pre["student_steps"], variants=a.variants,
            models_dir=Path(a.models_dir), version=a.version, publish=not a.no_publish,
            json_path=Path(a.results), md_path=Path(a.markdown),
            command="deno task distill -- " + " ".join(shlex.quote(x) for x in argv),
            weights_note=a.weights_note, notes=a.notes)


if __name__ == "__main__":
    main()
