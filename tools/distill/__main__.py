"""CLI: ``python -m tools.distill {train,evaluate,export,ablation,sweep,diagnose,report} ...``
(or ``deno task distill -- ...``).  Every option's default is shown by ``--help``.

Examples (CPU, the round-3 recipe is the default):
  deno task distill -- ablation --sets hc18 --seeds 0 1 2 3 4 --variants student both
      (teacher + students; results in runs/<date>-hc18/, published tables untouched)
  deno task distill -- train --set hc18 --variant teacher --steps 1200
  deno task distill -- train --set hc18 --variant both --teacher-ckpt runs/distill/hc18/teacher-w16-s0/final.pt
  deno task distill -- export --checkpoint runs/distill/hc18/both-w4-s0/final.pt --set hc18 \\
      --teacher-ckpt runs/distill/hc18/teacher-w16-s0/final.pt --version 3 --modalities US

Seconds per training step on CPU (1 torch thread, batch 8 of 128x128 patches, teacher width 16), on
a quiet core (round-2 logs): teacher 0.53-0.67, student alone 0.13, TinyUnet 0.35. README "Distil
your own data" has the table, with a busy spell of the shared 2-core machine next to it.
"""
from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
from pathlib import Path

from . import ablation, data, diagnose, evaluate, publish, sweep, train
from .card import check_modalities
from .checkpoint import load_model
from .config import CHECKPOINTS, DEFAULT_DATA_ROOT, VARIANTS, TrainConfig, pick_device
from .report import render_markdown

PRESETS = {  # steps / patch / batch per device class when not given
    "cuda": {"teacher_steps": 3000, "student_steps": 3000, "patch": 256, "batch": 16},
    "cpu": {"teacher_steps": 1200, "student_steps": 1200, "patch": 128, "batch": 8},
}


class Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows every option's default, also for options
    without a help text (argparse's own formatter skips those)."""

    def _format_action(self, action):
        if action.option_strings and not action.help and action.default not in (None, argparse.SUPPRESS):
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)


def add_train_args(p: argparse.ArgumentParser):
    d = TrainConfig()
    p.add_argument("--data-root", default=d.data_root, help="folder holding <set>/{train,val,test}")
    p.add_argument("--teacher-width", type=int, default=d.teacher_width)
    p.add_argument("--student-width", type=int, default=d.student_width)
    p.add_argument("--patch", type=int, default=None,
                   help=f"training patch side, multiple of 16 (None: cpu {PRESETS['cpu']['patch']}, "
                        f"cuda {PRESETS['cuda']['patch']})")
    p.add_argument("--batch", type=int, default=None,
                   help=f"(None: cpu {PRESETS['cpu']['batch']}, cuda {PRESETS['cuda']['batch']})")
    p.add_argument("--lr", type=float, default=d.lr, help="teacher learning rate (Adam, warm-up + cosine)")
    p.add_argument("--student-lr", type=float, default=d.student_lr)
    p.add_argument("--device", default=d.device, choices=["auto", "cuda", "cpu"])
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--val-every", type=int, default=d.val_every)
    p.add_argument("--no-resume", action="store_true", help="retrain even if last.pt matches the config")
    p.add_argument("--w-feat", type=float, default=d.w_feat, help="feature KD weight")
    p.add_argument("--w-spatial", type=float, default=d.w_spatial, help="spatial (key-point graph) KD weight")
    p.add_argument("--w-logit", type=float, default=d.w_logit, help="logit KD weight (variants logit, both)")
    p.add_argument("--kd-ramp", type=float, default=d.kd_ramp,
                   help="fraction of steps over which KD weights ramp in from 0")
    p.add_argument("--feat-positions", type=int, nargs="+", default=d.feat_positions)
    p.add_argument("--feat-loss", default=d.feat_loss, choices=["nmse", "ofd"])
    p.add_argument("--sp-position", type=int, default=d.sp_position)
    p.add_argument("--sp-k", type=int, default=d.sp_k, help="key points; 0 = one per 4 cells of the map")
    p.add_argument("--sp-knn", type=int, default=d.sp_knn)
    p.add_argument("--sp-layers", type=int, default=d.sp_layers)
    p.add_argument("--sp-edge", default=d.sp_edge, choices=["feature", "prediction"])
    p.add_argument("--logit-t", type=float, default=d.logit_T, help="logit KD temperature")
    p.add_argument("--logit-boundary", type=float, default=d.logit_boundary,
                   help="logit KD pixel weight 1 + b x teacher boundary band")
    p.add_argument("--ema", type=float, default=d.ema, help="weight EMA decay (0: off)")
    p.add_argument("--checkpoint", default=d.checkpoint, choices=CHECKPOINTS,
                   help="which weights a run reports: final = last step (EMA), best = best val Dice")


def config_from(a, **over) -> TrainConfig:
    pre = PRESETS[pick_device(a.device).type]
    return TrainConfig(
        data_root=a.data_root, teacher_width=a.teacher_width, student_width=a.student_width,
        patch=a.patch or pre["patch"], batch=a.batch or pre["batch"], lr=a.lr, student_lr=a.student_lr,
        device=a.device, threads=a.threads, val_every=a.val_every, resume=not a.no_resume,
        w_feat=a.w_feat, w_spatial=a.w_spatial, w_logit=a.w_logit, kd_ramp=a.kd_ramp,
        feat_positions=a.feat_positions, feat_loss=a.feat_loss, sp_position=a.sp_position, sp_k=a.sp_k,
        sp_knn=a.sp_knn, sp_layers=a.sp_layers, sp_edge=a.sp_edge, logit_T=a.logit_t,
        logit_boundary=a.logit_boundary, ema=a.ema, checkpoint=a.checkpoint, **over)


def _teachers(items) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"--teacher expects SET=CHECKPOINT, got {it!r}")
        k, v = it.split("=", 1)
        if not Path(v).exists():
            raise SystemExit(f"--teacher {k}: no such checkpoint {v}")
        out[k] = v
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tools.distill", description=__doc__, formatter_class=Help)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("train", help="train one teacher or student variant", formatter_class=Help)
    p.add_argument("--set", required=True)
    p.add_argument("--variant", default="both", choices=VARIANTS)
    p.add_argument("--teacher-ckpt", help="teacher final.pt/best.pt (every variant with KD)")
    p.add_argument("--steps", type=int, help="(None: the device preset, cpu 1200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", default=TrainConfig.out_dir, help="runs go to <out-dir>/<set>/<variant>-w<W>-s<seed>")
    add_train_args(p)

    p = sub.add_parser("evaluate", help="split metrics + per-image CSV for a checkpoint", formatter_class=Help)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--set", required=True)
    p.add_argument("--data-root", default=DEFAULT_DATA_ROOT)
    p.add_argument("--split", default="test", choices=data.SPLITS)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--csv", help="(None: <checkpoint folder>/<split>_per_image.csv)")

    p = sub.add_parser("export", help="ONNX + check + model.json card + samples", formatter_class=Help)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--set", required=True)
    p.add_argument("--data-root", default=DEFAULT_DATA_ROOT)
    p.add_argument("--teacher-ckpt")
    p.add_argument("--models-dir", default="models")
    p.add_argument("--version", default="1")
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--label", help="what the mask marks, e.g. 'fetal head' (None: the set's default)")
    p.add_argument("--modalities", nargs="+",
                   help="DICOM Modality codes the model is for, e.g. US (None: the set's default)")

    p = sub.add_parser("ablation", help="teacher + student variants x seeds; results + paired statistics",
                       formatter_class=Help)
    p.add_argument("--sets", nargs="+", default=["all"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--teacher-steps", type=int, help="(None: device preset, cpu 1200)")
    p.add_argument("--student-steps", type=int, help="(None: device preset, cpu 1200)")
    p.add_argument("--variants", nargs="+", default=list(ablation.ORDER), choices=VARIANTS)
    p.add_argument("--teacher", action="append", metavar="SET=CHECKPOINT",
                   help="re-use a trained teacher for SET instead of training one (repeatable)")
    p.add_argument("--out-dir", help="run folder (None: runs/<date>-<sets>/)")
    p.add_argument("--publish-results", nargs="?", const=str(ablation.PUBLISHED), metavar="JSON",
                   help="also merge the results into this published table (flag alone: "
                        "tools/distill/results.json); without it the published tables are untouched")
    p.add_argument("--export-version", help="export the best-val TinyUnet seed to <models-dir>/<set>/<version>")
    p.add_argument("--models-dir", default="models")
    p.add_argument("--weights-note", default="round-3 recipe defaults (tools/distill/config.py)")
    p.add_argument("--notes", default="")
    add_train_args(p)

    p = sub.add_parser("sweep", help="val-only grid of TinyUnet loss weights on one set", formatter_class=Help)
    p.add_argument("--set", required=True)
    p.add_argument("--teacher-ckpt", required=True)
    p.add_argument("--steps", type=int, help="(None: device preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--w-feats", type=float, nargs="+", default=[0.1, 0.35, 2.0])
    p.add_argument("--w-spatials", type=float, nargs="+", default=[0.5, 2.0])
    p.add_argument("--out-dir", default="runs/sweep")
    add_train_args(p)

    p = sub.add_parser("diagnose", help="cheap checks: key-point boundary hits, per-term gradients at init",
                       formatter_class=Help)
    p.add_argument("--set", required=True)
    p.add_argument("--teacher-ckpt", required=True)
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--out", help="also write the JSON here")
    add_train_args(p)

    p = sub.add_parser("report", help="re-render the markdown of a results.json (or build one from kept run "
                                      "folders with --from-runs)", formatter_class=Help)
    p.add_argument("results", help="results JSON; its markdown is RESULTS<suffix>.md next to it")
    p.add_argument("--from-runs", help="rebuild the JSON from <dir>/<set>/<variant>-w<W>-s<seed>/ run folders")
    p.add_argument("--with", dest="with_results", action="append", default=[], metavar="JSON",
                   help="also take the sets of this results JSON (repeatable), e.g. an earlier round whose run "
                        "folders are gone; a set in both is merged per seed as a second ablation run would be")
    p.add_argument("--notes", default="")
    return ap


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    a = build_parser().parse_args(argv)
    dev = pick_device(getattr(a, "device", "cpu")).type if hasattr(a, "device") else "cpu"
    pre = PRESETS[dev]
    if a.cmd == "train":
        steps = a.steps or pre["teacher_steps" if a.variant == "teacher" else "student_steps"]
        cfg = config_from(a, set_name=a.set, variant=a.variant, teacher_ckpt=a.teacher_ckpt,
                          steps=steps, seed=a.seed, out_dir=a.out_dir)
        print(json.dumps(train.train(cfg), indent=1, default=str))
    elif a.cmd == "evaluate":
        model, ck = load_model(a.checkpoint)
        pairs = data.load_split(Path(a.data_root) / a.set, a.split)
        csv = a.csv or str(Path(a.checkpoint).parent / f"{a.split}_per_image.csv")
        res = evaluate.evaluate_pairs(model, pairs, ck["input"], a.threshold, csv_path=Path(csv))
        res["csv"] = csv
        print(json.dumps(res, indent=1))
    elif a.cmd == "export":
        mods = check_modalities(a.modalities) if a.modalities else None
        c = publish.publish(Path(a.checkpoint), Path(a.data_root) / a.set, Path(a.models_dir), a.version,
                            teacher_ckpt=Path(a.teacher_ckpt) if a.teacher_ckpt else None,
                            samples=a.samples, label=a.label, modalities=mods)
        print(json.dumps({k: c[k] for k in ("name", "version", "label", "modalities", "params", "metrics")},
                         indent=1))
        print("onnx check:", json.dumps(c["training"]["onnx_check"]))
    elif a.cmd == "sweep":
        base = config_from(a, teacher_ckpt=a.teacher_ckpt, out_dir=a.out_dir)
        sweep.sweep_weights(a.set, base, a.steps or pre["student_steps"], a.w_feats, a.w_spatials, a.seed,
                            out=Path(a.out_dir) / "sweep.json")
    elif a.cmd == "diagnose":
        res = diagnose.run(config_from(a, set_name=a.set), a.teacher_ckpt, a.batches)
        text = json.dumps(res, indent=1)
        if a.out:
            Path(a.out).write_text(text + "\n")
        print(text)
    elif a.cmd == "report":
        path = Path(a.results)
        if a.from_runs:
            res = ablation.results_from_runs(Path(a.from_runs), "deno task distill -- " + " ".join(
                shlex.quote(x) for x in argv), a.notes)
            path.write_text(json.dumps(res, indent=1) + "\n")
        if a.with_results:
            res = json.loads(path.read_text())
            for other in a.with_results:
                res = ablation.merge_results(json.loads(Path(other).read_text()), res)
            path.write_text(json.dumps(res, indent=1) + "\n")
        ablation.write_report(json.loads(path.read_text()), ablation.markdown_path(path))
        print(ablation.markdown_path(path))
    elif a.cmd == "ablation":
        sets = list(ablation.ALL_SETS) if a.sets == ["all"] else a.sets
        ablation.run_ablation(
            sets, config_from(a), a.seeds, a.teacher_steps or pre["teacher_steps"],
            a.student_steps or pre["student_steps"], variants=a.variants,
            out_dir=Path(a.out_dir) if a.out_dir else None, teachers=_teachers(a.teacher),
            publish_to=Path(a.publish_results) if a.publish_results else None,
            export_version=a.export_version, models_dir=Path(a.models_dir),
            command="deno task distill -- " + " ".join(shlex.quote(x) for x in argv),
            weights_note=a.weights_note, notes=a.notes)


if __name__ == "__main__":
    main()
