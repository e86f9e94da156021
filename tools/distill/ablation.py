"""Ablation: teacher; student alone; student + feature KD; student + spatial KD;
TinyUnet (feature + spatial KD, Zheng et al. 2022) on each data set.

Trains (resuming finished runs), evaluates on the test split, and writes
``tools/distill/results.json`` and ``tools/distill/RESULTS.md`` after every run, so a
partial ablation still leaves honest partial results.  One teacher per set (first
seed); students for every seed.  The TinyUnet seed with the best *val* Dice is
exported to ``models/<set>/<version>/``.
"""
from __future__ import annotations

import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from . import data, evaluate, export, train

ALL_SETS = ("isic2017", "kvasir-seg", "hc18", "isbi2012-em")
ORDER = ("teacher", "both", "student", "feat", "spatial")  # TinyUnet first: publish early
LABELS = {"teacher": "U-Net teacher", "student": "student alone", "feat": "student + feature KD",
          "spatial": "student + spatial KD", "both": "TinyUnet (feature + spatial KD)"}
HERE = Path(__file__).resolve().parent


def _agg(runs: List[Dict]) -> Dict:
    out = {"seeds": [r["seed"] for r in runs], "runs": runs}
    for k in ("dice", "iou", "hd95", "precision", "recall", "train_seconds", "val_dice"):
        vals = [r[k] for r in runs]
        out[k] = float(np.mean(vals))
        if len(vals) > 1:
            out[k + "_sd"] = float(np.std(vals, ddof=1))
    out["params"] = runs[0]["params"]
    out["width"] = runs[0]["width"]
    out["device"] = runs[0]["device"]
    out["steps"] = runs[0]["steps"]
    out["epochs"] = runs[0]["epochs"]
    return out


def write_results(results: Dict, json_path: Path, md_path: Path, only_set: Optional[str] = None):
    """Write results; with ``only_set``, merge that set into the file on disk under a lock,
    so several ablation processes (e.g. one per set group) can share one results.json."""
    import fcntl
    with open(str(json_path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = results
        if only_set is not None and json_path.exists():
            try:
                disk = json.loads(json_path.read_text())
            except json.JSONDecodeError:
                disk = None
            if disk and disk.get("settings", {}).get("teacher_width") == results["settings"]["teacher_width"]:
                disk["sets"][only_set] = results["sets"][only_set]
                disk["commands"] = disk.get("commands", []) + [
                    c for c in results.get("commands", []) if c not in disk.get("commands", [])]
                disk["generated"] = results["generated"]
                out = disk
        json_path.write_text(json.dumps(out, indent=1) + "\n")
        md_path.write_text(render_markdown(out))


def render_markdown(res: Dict) -> str:
    s = res["settings"]
    L = ["# TinyUnet distillation: ablation results", "",
         f"Generated on {res['generated']} ({res['host']}) by: "
         + "; ".join(f"`{c}`" for c in res.get("commands", [res["command"]])) + ".", "",
         "**Setting (read before comparing with the paper):** "
         f"teacher width {s['teacher_width']} on {s['device_note']}, not the paper's 64; "
         f"student width {s['student_width']}. Training: {s['teacher_steps']} steps (teacher) / "
         f"{s['student_steps']} steps (students), batch {s['batch']}, random {s['patch']}x{s['patch']} patches "
         "(crop or letterbox) with flips/rot90/brightness-contrast; evaluation on the full test images at "
         "native size with the server's preprocessing (PyTorch fp32, threshold 0.5). "
         f"Seeds: {s['seeds']} for the students, teacher seed {s['seeds'][0]} only. "
         "Checkpoint = best val Dice (val split only); loss weights "
         f"feat={s['w_feat']}, spatial={s['w_spatial']}, logit={s['w_logit']} ({s['weights_note']}).", "",
         "Metrics: per-image hard-mask Dice / IoU / HD95 (pixels, MedPy-style 95th percentile of surface "
         "distances; an empty prediction scores the image diagonal) averaged over the test split. "
         "`% of T` = student Dice / its own teacher's Dice.", ""]
    ratios, gains = [], []
    for name, st in res["sets"].items():
        v = st["variants"]
        t = v.get("teacher")
        L += [f"## {name} (test n={st.get('n_test', '?')})", "",
              "| variant | width | params | seeds | Dice | IoU | HD95 | % of T | val Dice | train s | device |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for key in ("teacher", "student", "feat", "spatial", "both"):
            if key not in v:
                continue
            a = v[key]
            dice = f"{a['dice']:.4f}" + (f" ± {a['dice_sd']:.4f}" if "dice_sd" in a else "")
            pct = f"{100 * a['dice'] / t['dice']:.1f} %" if t and t["dice"] > 0 else "-"
            L.append(f"| {LABELS[key]} | {a['width']} | {a['params']:,} | {','.join(map(str, a['seeds']))} | "
                     f"{dice} | {a['iou']:.4f} | {a['hd95']:.2f} | {pct} | {a['val_dice']:.4f} | "
                     f"{a['train_seconds']:.0f} | {a['device']} |")
        if t and "both" in v:
            ratios.append((name, v["both"]["dice"] / t["dice"]))
        if "both" in v and "student" in v:
            gains.append(v["both"]["dice"] - v["student"]["dice"])
        L.append("")
    L += ["## Targets", ""]
    for name, r in ratios:
        L.append(f"* {name}: TinyUnet reaches {100 * r:.1f} % of its teacher's Dice "
                 f"({'meets' if r >= 0.983 else 'misses'} the 98.3 % target"
                 f"{'' if r >= 0.983 else f' by {100 * (0.983 - r):.1f} points'}).")
    if gains:
        L.append(f"* TinyUnet minus student alone, mean Dice over {len(gains)} set(s): "
                 f"{np.mean(gains):+.4f} ({'better' if np.mean(gains) > 0 else 'not better'} on average).")
    L += ["", res.get("notes", ""), ""]
    return "\n".join(L)


def run_ablation(sets: List[str], base: train.TrainConfig, seeds: List[int], teacher_steps: int,
                 student_steps: int, variants=ORDER, models_dir: Path = Path("models"),
                 version: str = "1", publish: bool = True, json_path: Path = HERE / "results.json",
                 md_path: Path = HERE / "RESULTS.md", command: str = "", weights_note: str = "",
                 notes: str = "") -> Dict:
    device = train.pick_device(base.device)
    dev_note = (f"CUDA ({torch.cuda.get_device_name(0)})" if device.type == "cuda"
                else f"CPU ({base.threads} threads, shared machine)")
    results = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": command,
               "host": f"{platform.node()} torch {torch.__version__}",
               "settings": {"teacher_width": base.teacher_width, "student_width": base.student_width,
                            "teacher_steps": teacher_steps, "student_steps": student_steps,
                            "batch": base.batch, "patch": base.patch, "seeds": seeds,
                            "device_note": dev_note, "w_feat": base.w_feat, "w_spatial": base.w_spatial,
                            "w_logit": base.w_logit, "weights_note": weights_note,
                            "feat_positions": base.feat_positions, "feat_loss": base.feat_loss,
                            "sp_position": base.sp_position, "sp_k": base.sp_k},
               "notes": notes, "sets": {}}
    if json_path.exists():  # keep results of an earlier invocation with the same widths
        try:
            old = json.loads(json_path.read_text())
            if old.get("settings", {}).get("teacher_width") == base.teacher_width:
                results["sets"].update(old.get("sets", {}))
                results["commands"] = old.get("commands", [old.get("command", "")])
        except json.JSONDecodeError:
            pass
    results.setdefault("commands", [])
    if command not in results["commands"]:
        results["commands"].append(command)
    for name in sets:
        set_dir = Path(base.data_root) / name
        test_pairs = data.load_split(set_dir, "test")
        st = results["sets"].setdefault(name, {"variants": {}, "n_test": len(test_pairs)})
        # earlier entries stay until this invocation replaces them (phased / interrupted ablations)
        st["variants"] = dict(st.get("variants", {}))
        teacher_ckpt, best_pub = None, -1.0
        todo = ["teacher"] + [v for v in variants if v != "teacher"]  # students need the teacher
        for variant in todo:
            runs = []
            for seed in (seeds[:1] if variant == "teacher" else seeds):
                cfg = dataclasses.replace(base, set_name=name, variant=variant, seed=seed,
                                          steps=teacher_steps if variant == "teacher" else student_steps,
                                          teacher_ckpt=None if variant == "teacher" else teacher_ckpt)
                summ = train.train(cfg)
                run_dir = Path(summ["run_dir"])
                model, ck = train.load_model(run_dir / "best.pt")
                tm = evaluate.evaluate_pairs(model, test_pairs, ck["input"], 0.5,
                                             csv_path=run_dir / "test_per_image.csv")
                (run_dir / "test_metrics.json").write_text(json.dumps(tm, indent=1))
                print(f"[ablation] {name} {variant} seed {seed}: test dice {tm['dice']:.4f} "
                      f"iou {tm['iou']:.4f} hd95 {tm['hd95']:.2f} (val {summ['best_val_dice']:.4f})",
                      flush=True)
                runs.append({"seed": seed, **{k: tm[k] for k in ("dice", "iou", "hd95", "precision",
                                                                  "recall")},
                             "params": summ["params"], "width": summ["width"],
                             "train_seconds": summ["seconds"], "device": summ["device"],
                             "val_dice": summ["best_val_dice"], "steps": summ["steps"],
                             "epochs": summ["epochs"], "run_dir": str(run_dir)})
                if variant == "teacher":
                    teacher_ckpt = str(run_dir / "best.pt")
                st["variants"][variant] = _agg(runs)
                write_results(results, json_path, md_path, only_set=name)
                if variant == "both" and publish and summ["best_val_dice"] > best_pub:
                    best_pub = summ["best_val_dice"]
                    t = st["variants"]["teacher"]
                    c = export.publish(run_dir / "best.pt", set_dir, models_dir, version,
                                       teacher_ckpt=Path(teacher_ckpt),
                                       teacher_test={k: t["runs"][0][k] for k in ("dice", "iou", "hd95")},
                                       student_test={**tm}, training={
                                           "device": summ["device"], "seconds": summ["seconds"],
                                           "epochs": summ["epochs"], "threads": base.threads,
                                           "note": f"teacher width {base.teacher_width} on {dev_note}"
                                                   + ("" if base.teacher_width == 64 else
                                                      ", not the paper's 64"),
                                           "selected_by": "best val Dice among TinyUnet seeds"})
                    print(f"[ablation] published {models_dir}/{name}/{version} (seed {seed}, "
                          f"onnx check {c['training']['onnx_check']['max_abs_diff']:.2e})", flush=True)
    return results


def sweep_weights(name: str, base: train.TrainConfig, steps: int, w_feats: List[float],
                  w_spatials: List[float], seed: int = 0, out: Path = HERE / "sweep.json") -> Dict:
    """Val-split-only grid over (w_feat, w_spatial) for TinyUnet on one set; never reads test.
    Needs the set's teacher run (``teacher-w<W>-s<seed>/best.pt``) to exist under ``out_dir``."""
    teacher = Path(base.out_dir) / name / f"teacher-w{base.teacher_width}-s{seed}" / "best.pt"
    if not teacher.exists():
        raise FileNotFoundError(f"train the teacher first: {teacher}")
    res = json.loads(out.read_text()) if out.exists() else {}
    rows = res.setdefault(name, [])
    for wf in w_feats:
        for ws in w_spatials:
            cfg = dataclasses.replace(base, set_name=name, variant="both", seed=seed, steps=steps,
                                      teacher_ckpt=str(teacher), w_feat=wf, w_spatial=ws,
                                      out_dir=str(Path(base.out_dir) / "sweep" / f"f{wf}-s{ws}"))
            summ = train.train(cfg)
            rows[:] = [r for r in rows if (r["w_feat"], r["w_spatial"]) != (wf, ws)]
            rows.append({"w_feat": wf, "w_spatial": ws, "val_dice": summ["best_val_dice"],
                         "best_step": summ["best_step"], "steps": steps, "seed": seed,
                         "seconds": summ["seconds"]})
            out.write_text(json.dumps(res, indent=1) + "\n")
            print(f"[sweep] {name} w_feat={wf} w_spatial={ws}: val dice {summ['best_val_dice']:.4f}",
                  flush=True)
    return res
