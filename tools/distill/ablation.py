"""Ablation / paired-seed study: teacher; student alone; students with logit, feature,
spatial KD; TinyUnet (``both``) on each data set, several seeds per student variant.

Trains (resuming finished runs) or re-uses a given teacher checkpoint (its sha256 goes in
the results), evaluates every run's chosen checkpoint (``config.checkpoint``: the last-step
EMA by default) on the test split, and after every run writes, into the run folder
(default ``runs/<date>-<sets>/``): ``results.json`` (with per-image test Dice, for the
paired statistics), ``RESULTS.md`` (tables + paired differences with bootstrap CIs, see
``stats.py``) and the per-run folders with their logs.  The published tables in
tools/distill are written only with ``publish_to`` (CLI ``--publish-results``); results
are merged per set under a lock, so a run on other sets or another teacher width never
deletes a set's rows.  Models are exported only when asked (``export_version``).
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import platform
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from . import data, evaluate, publish, train
from .checkpoint import load_model, sha256
from .config import KD_TERMS, REPO, TrainConfig, pick_device
from .forest import forest_svg
from .report import render_markdown

ALL_SETS = ("isic2017", "kvasir-seg", "hc18", "isbi2012-em")
ORDER = ("teacher", "both", "student", "logit", "feat", "spatial")  # TinyUnet first
HERE = Path(__file__).resolve().parent
PUBLISHED = HERE / "results.json"


def default_out_dir(sets: List[str]) -> Path:
    return REPO / "runs" / f"{time.strftime('%Y-%m-%d', time.gmtime())}-{'+'.join(sets)}"


def markdown_path(json_path: Path) -> Path:
    """results.json -> RESULTS.md, results_stats.json -> RESULTS_stats.md (same folder)."""
    stem = json_path.stem
    return json_path.with_name("RESULTS" + stem[len("results"):] + ".md" if stem.startswith("results")
                               else stem + ".md")


def _rel(path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


RECIPE_KEYS = ("w_feat", "w_spatial", "w_logit", "logit_T", "logit_boundary", "kd_ramp", "feat_positions",
               "feat_loss", "sp_position", "sp_k", "sp_edge")


def recipe_of(cfg: Dict) -> Dict:
    """A run's distillation recipe: its active KD terms and their settings (empty without KD)."""
    variant = cfg.get("variant", "student")
    weights = {"feat": cfg.get("w_feat", 0), "spatial": cfg.get("w_spatial", 0), "logit": cfg.get("w_logit", 0)}
    terms = [t for t in KD_TERMS.get(variant, ()) if weights[t] > 0]
    if not terms:
        return {}
    return {"kd_terms": terms, **{k: cfg[k] for k in RECIPE_KEYS if k in cfg}}


def _agg(runs: List[Dict]) -> Dict:
    out = {"seeds": [r["seed"] for r in runs], "runs": runs}
    for k in ("dice", "iou", "hd95", "precision", "recall", "train_seconds", "val_dice"):
        vals = [r[k] for r in runs]
        out[k] = float(np.mean(vals))
        if len(vals) > 1:
            out[k + "_sd"] = float(np.std(vals, ddof=1))
    for k in ("params", "width", "device", "steps", "epochs"):
        out[k] = runs[0][k]
    out["recipe"] = runs[-1].get("recipe", {})
    return out


SETTINGS_FREE = ("seeds", "weights_note", "device_note")  # may differ between merged invocations
# (each variant's KD recipe is stored with its runs, so variants with other KD weights can merge)


def same_settings(a: Dict, b: Dict) -> bool:
    return ({k: v for k, v in a.items() if k not in SETTINGS_FREE}
            == {k: v for k, v in b.items() if k not in SETTINGS_FREE})


def merge_set(old: Optional[Dict], new: Dict) -> Dict:
    """Same settings (teacher width, steps, recipe): ``new``'s runs replace the runs of the same
    variant and seed, all others stay (e.g. student-alone runs or other seeds from another
    invocation); other settings: ``new`` replaces the set."""
    if not old or not same_settings(old.get("settings", {}), new.get("settings", {})):
        return new
    variants = dict(old.get("variants", {}))
    for name, agg in new["variants"].items():
        runs = {r["seed"]: r for r in variants.get(name, {}).get("runs", [])}
        runs.update({r["seed"]: r for r in agg["runs"]})
        variants[name] = _agg([runs[k] for k in sorted(runs)])
    seeds = sorted({r["seed"] for a in variants.values() for r in a["runs"]})
    settings = {**new["settings"], "seeds": seeds}
    return {**old, **{k: v for k, v in new.items() if k not in ("variants", "settings")},
            "settings": settings, "variants": variants}


def merge_results(disk: Optional[Dict], new: Dict) -> Dict:
    """Merge ``new`` into what is on disk per set (``merge_set``); every other set stays as it was."""
    if not disk:
        return new
    legacy = disk.get("settings")  # files written before settings moved into each set
    for st in disk.get("sets", {}).values():
        if legacy and "settings" not in st:
            st["settings"] = legacy
    out = {**disk, "generated": new["generated"], "host": new["host"]}
    out.pop("settings", None)
    out["sets"] = dict(disk.get("sets", {}))
    for name, st in new["sets"].items():
        out["sets"][name] = merge_set(out["sets"].get(name), st)
    out["commands"] = disk.get("commands", []) + [c for c in new.get("commands", [])
                                                   if c not in disk.get("commands", [])]
    if new.get("notes"):
        out["notes"] = new["notes"]
    return out


def write_results(results: Dict, json_path: Path, md_path: Optional[Path] = None) -> Dict:
    """Merge ``results`` into ``json_path`` (per set, under ``<json>.lock``) and render markdown."""
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(json_path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        disk = None
        if json_path.exists():
            try:
                disk = json.loads(json_path.read_text())
            except json.JSONDecodeError:
                disk = None
        out = merge_results(disk, json.loads(json.dumps(results)))
        json_path.write_text(json.dumps(out, indent=1) + "\n")
        write_report(out, Path(md_path or markdown_path(json_path)))
    return out


def write_report(results: Dict, md: Path) -> None:
    """The markdown tables and, beside them (same name, .svg), the forest plot it shows first."""
    text = render_markdown(results)
    svg = forest_svg(results)
    if svg:
        md.with_suffix(".svg").write_text(svg)
        head, _, rest = text.partition("\n\n")
        link = f"![Paired test-Dice differences against the student alone]({md.with_suffix('.svg').name})"
        text = f"{head}\n\n{link}\n\n{rest}"
    md.write_text(text)


def run_ablation(sets: List[str], base: TrainConfig, seeds: List[int], teacher_steps: int,
                 student_steps: int, variants=ORDER, out_dir: Optional[Path] = None,
                 teachers: Optional[Dict[str, str]] = None, publish_to: Optional[Path] = None,
                 export_version: Optional[str] = None, models_dir: Path = Path("models"),
                 command: str = "", weights_note: str = "", notes: str = "") -> Dict:
    out_dir = Path(out_dir) if out_dir else default_out_dir(sets)
    base = dataclasses.replace(base, out_dir=str(out_dir))
    device = pick_device(base.device)
    dev_note = (f"CUDA ({torch.cuda.get_device_name(0)})" if device.type == "cuda"
                else f"CPU ({base.threads} thread(s), shared machine)")
    teachers = dict(teachers or {})
    data_root = Path(base.data_root)
    results = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "host": f"{platform.node()} torch {torch.__version__}", "commands": [command],
               "notes": notes, "sets": {}}
    run_json = out_dir / "results.json"
    for name in sets:
        set_dir = data_root / name
        test_pairs = data.load_split(set_dir, "test")
        settings = {"teacher_width": base.teacher_width, "student_width": base.student_width,
                    "teacher_steps": teacher_steps, "student_steps": student_steps, "batch": base.batch,
                    "patch": base.patch, "seeds": seeds, "device_note": dev_note, "ema": base.ema,
                    "checkpoint": base.checkpoint, "weights_note": weights_note,
                    "data": f"{name}: train {len(data.list_pairs(set_dir, 'train'))}, "
                            f"val {len(data.list_pairs(set_dir, 'val'))}, test {len(test_pairs)} pairs"}
        st = results["sets"].setdefault(name, {"settings": settings, "variants": {}, "n_test": len(test_pairs)})
        teacher_ckpt, best_pub = teachers.get(name), -1.0
        students = [v for v in variants if v != "teacher"]
        need_teacher = "teacher" in variants or any(KD_TERMS[v] for v in students)
        # teacher first (students need it), then seed-major, so a cut-short study stays paired
        plan = ([("teacher", seeds[0])] if need_teacher else []) + [(v, seed) for seed in seeds for v in students]
        runs_of: Dict[str, List[Dict]] = {}
        for variant, seed in plan:
            runs = runs_of.setdefault(variant, [])
            if variant == "teacher" and teacher_ckpt:
                ckpt, summ = Path(teacher_ckpt), None
            else:
                cfg = dataclasses.replace(base, set_name=name, variant=variant, seed=seed,
                                          steps=teacher_steps if variant == "teacher" else student_steps,
                                          teacher_ckpt=None if variant == "teacher" else teacher_ckpt)
                summ = train.train(cfg)
                ckpt = Path(summ["checkpoint"])
            model, ck = load_model(ckpt)
            if variant == "teacher":  # a re-used teacher keeps its own seed, whatever --seeds says
                seed = int(ck.get("config", {}).get("seed", seed))
            run_dir = ckpt.parent
            tm = evaluate.evaluate_pairs(model, test_pairs, ck["input"], 0.5,
                                         csv_path=run_dir / f"test_per_image_{ckpt.stem}.csv", with_rows=True)
            per_image = {r["id"]: round(r["dice"], 5) for r in tm.pop("rows")}
            (run_dir / "test_metrics.json").write_text(json.dumps(tm, indent=1))
            val = summ["val_dice"] if summ else float(ck.get("val_dice", float("nan")))
            print(f"[ablation] {name} {variant} seed {seed}: test dice {tm['dice']:.4f} "
                  f"iou {tm['iou']:.4f} hd95 {tm['hd95']:.2f} (val {val:.4f})", flush=True)
            state = ck.get("state", {})
            runs.append({"seed": seed, **{k: tm[k] for k in ("dice", "iou", "hd95", "precision", "recall")},
                         "params": sum(p.numel() for p in model.parameters()), "width": ck["width"],
                         "train_seconds": summ["seconds"] if summ else state.get("seconds", 0.0),
                         "device": summ["device"] if summ else "cpu", "val_dice": val,
                         "steps": ck["config"]["steps"],
                         "epochs": summ["epochs"] if summ else None,
                         "checkpoint": _rel(ckpt, REPO), "sha256": sha256(ckpt),
                         "recipe": recipe_of(ck["config"]), "per_image": per_image})
            if variant == "teacher":
                teacher_ckpt = str(ckpt)
                st["teacher"] = {"checkpoint": _rel(ckpt, REPO), "sha256": sha256(ckpt),
                                 "steps": ck["config"]["steps"], "width": ck["width"]}
            st["variants"][variant] = _agg(runs)
            write_results(results, run_json)
            if publish_to is not None:
                write_results(results, publish_to)
            if variant == "both" and export_version and val > best_pub:
                best_pub = val
                t = st["variants"]["teacher"]["runs"][0]
                c = publish.publish(ckpt, set_dir, Path(models_dir), export_version,
                                    teacher_ckpt=Path(teacher_ckpt),
                                    teacher_test={k: t[k] for k in ("dice", "iou", "hd95")},
                                    student_test={**tm}, training={
                                        "device": runs[-1]["device"], "seconds": runs[-1]["train_seconds"],
                                        "threads": base.threads,
                                        "note": f"teacher width {base.teacher_width} on {dev_note}"
                                                + ("" if base.teacher_width == 64 else ", not the paper's 64"),
                                        "selected_by": "best val Dice among TinyUnet seeds"})
                print(f"[ablation] exported {models_dir}/{name}/{export_version} (seed {seed}, "
                      f"onnx check {c['training']['onnx_check']['max_abs_diff']:.2e})", flush=True)
    return results


def results_from_runs(root: Path, command: str = "", notes: str = "") -> Dict:
    """A results dict (same shape as ``run_ablation``'s) rebuilt from kept run folders
    ``<root>/<set>/<variant>-w<W>-s<seed>/`` holding ``summary.json`` and a per-image test CSV,
    e.g. the round-1 logs, so their seeds can be compared paired. Each run keeps its checkpoint's
    path and sha256; a set's ``teacher`` is the checkpoint its KD runs were distilled from (when
    they all used one; else ``sha256`` is None and ``mixed`` lists theirs)."""
    import csv
    root = Path(root)
    res = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "host": f"{platform.node()} torch {torch.__version__}", "commands": [command] if command else [],
           "notes": notes, "sets": {}}
    for set_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        variants: Dict[str, List[Dict]] = {}
        cfg = None
        for run in sorted(set_dir.iterdir()):
            summ_p = run / "summary.json"
            csvs = sorted(run.glob("test_per_image*.csv"))
            if not summ_p.exists() or not csvs:
                continue
            summ = json.loads(summ_p.read_text())
            with open(csvs[0]) as f:
                rows = list(csv.DictReader(f))
            m = {k: float(np.mean([float(r[k]) for r in rows])) for k in ("dice", "iou", "hd95", "precision", "recall")}
            variants.setdefault(summ["variant"], []).append({
                "seed": summ["seed"], **m, "params": summ["params"], "width": summ["width"],
                "train_seconds": summ["seconds"], "device": summ["device"],
                "val_dice": summ.get("val_dice", summ["best_val_dice"]), "steps": summ["steps"],
                "epochs": summ.get("epochs"), "recipe": recipe_of(summ["config"]),
                "checkpoint": _rel(summ["checkpoint"], REPO), "sha256": summ.get("checkpoint_sha256"),
                "teacher_checkpoint": summ["config"].get("teacher_ckpt"),
                "teacher_sha256": summ.get("teacher_sha256"),
                "per_image": {r["id"]: float(r["dice"]) for r in rows}})
            if summ["variant"] != "teacher":
                cfg = summ["config"]
        if not variants or cfg is None:
            continue
        t = variants.get("teacher", [{}])[0]
        seeds = sorted({r["seed"] for rs in variants.values() for r in rs})
        settings = {"teacher_width": cfg["teacher_width"], "student_width": cfg["student_width"],
                    "teacher_steps": t.get("steps"), "student_steps": cfg["steps"], "batch": cfg["batch"],
                    "patch": cfg["patch"], "seeds": seeds, "device_note": "CPU (kept run logs)",
                    "checkpoint": cfg.get("checkpoint", "best"), "ema": cfg.get("ema", 0)}
        res["sets"][set_dir.name] = {
            "settings": settings, "n_test": len(next(iter(variants.values()))[0]["per_image"]),
            "variants": {v: _agg(sorted(rs, key=lambda r: r["seed"])) for v, rs in variants.items()}}
        teacher = _teacher_of(variants)
        if teacher:
            res["sets"][set_dir.name]["teacher"] = teacher
    return res


def _teacher_of(variants: Dict[str, List[Dict]]) -> Optional[Dict]:
    """The teacher checkpoint the KD runs of one set were distilled from, with its sha256."""
    used = {(r["teacher_checkpoint"], r["teacher_sha256"]) for v, rs in variants.items() if v not in ("teacher", "student")
            for r in rs if r.get("teacher_sha256")}
    if not used:
        return None
    t = variants.get("teacher", [{}])[0]
    info = {"steps": t.get("steps"), "width": t.get("width")}
    if len({sha for _, sha in used}) > 1:
        return {**info, "checkpoint": None, "sha256": None, "mixed": sorted(sha for _, sha in used)}
    ckpt, sha = min(used)
    return {**info, "checkpoint": _rel(ckpt, REPO), "sha256": sha}
