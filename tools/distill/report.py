"""Markdown tables from a results.json (ablation / paired-seed study): per set, each
variant's test metrics (mean ± sd over seeds), then the paired differences against the
student alone with bootstrap 95 % CIs (``stats.py``).  The teacher width is in every
table's heading and rows."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from . import stats

LABELS = {"teacher": "U-Net teacher", "student": "student alone", "logit": "student + logit KD",
          "feat": "student + feature KD", "spatial": "student + spatial KD",
          "both": "TinyUnet (feature + spatial KD)"}
ORDER = ("teacher", "student", "logit", "feat", "spatial", "both")


def _recipe_line(r: Dict) -> str:
    """How a KD variant was distilled (from its runs' configs)."""
    parts = []
    if "feat" in r.get("kd_terms", []):
        parts.append(f"feature KD w {r['w_feat']} at stages {r.get('feat_positions')} ({r.get('feat_loss', 'nmse')})")
    if "spatial" in r.get("kd_terms", []):
        parts.append(f"spatial KD w {r['w_spatial']} ({r.get('sp_edge', 'feature')} edges, "
                     f"K={r.get('sp_k') or 'one per 4 cells'})")
    if "logit" in r.get("kd_terms", []):
        parts.append(f"logit KD w {r['w_logit']} (T {r.get('logit_T')}, boundary weight {r.get('logit_boundary', 0)})")
    ramp = f"; ramped in over the first {100 * r['kd_ramp']:.0f} % of steps" if r.get("kd_ramp") else ""
    return ", ".join(parts) + ramp


def _settings_line(s: Dict, has_teacher: bool = True) -> str:
    ck = {"final": f"last-step EMA weights (decay {s.get('ema')})" if s.get("ema") else "last-step weights",
          "best": "best val Dice"}.get(s.get("checkpoint", "best"), s.get("checkpoint"))
    nets = (f"Teacher width {s['teacher_width']}, student width {s['student_width']}; {s['teacher_steps']} "
            f"teacher / {s['student_steps']} student steps" if has_teacher else
            f"No teacher (students trained alone), student width {s['student_width']}; {s['student_steps']} steps")
    return (f"{nets}, batch {s['batch']}, {s['patch']}x{s['patch']} "
            f"patches; {s['device_note']}. Checkpoint: {ck}. Seeds {s['seeds']}."
            + (f" Data: {s['data']}." if s.get("data") else "")
            + (f" Weights: {s['weights_note']}." if s.get("weights_note") else ""))


def _ci(c: List[float]) -> str:
    return f"[{c[0]:+.4f}, {c[1]:+.4f}]"


def render_markdown(res: Dict) -> str:
    L = ["# TinyUnet distillation: results", "",
         f"Generated {res['generated']} ({res['host']}) by: "
         + "; ".join(f"`{c}`" for c in res.get("commands", [])) + ".", "",
         "Metrics: per-image hard-mask Dice / IoU / HD95 (pixels; an empty prediction scores the image "
         "diagonal) averaged over the test split, PyTorch fp32 with the server's preprocessing, threshold "
         "0.5. `% of T` = Dice / its own teacher's Dice. Paired differences: same seed = same "
         "initialisation and batch stream; 95 % CI from a percentile bootstrap over test images "
         f"(scipy.stats.bootstrap, {stats.N_RESAMPLES} resamples), pooled = each image's difference "
         "averaged over the seeds first; it resamples images only, so it treats the seeds as fixed — the 'sd over "
         "seeds' column (sd of the per-seed mean differences) shows how much the seed alone moves the result.", ""]
    summary = []
    for name, st in res["sets"].items():
        s = st.get("settings") or res.get("settings", {})
        v = st["variants"]
        t = v.get("teacher")
        tw = s.get("teacher_width", "?")
        has_teacher = any(k != "student" for k in v)
        L += [f"## {name} (test n={st.get('n_test', '?')}, " + (f"teacher width {tw})" if has_teacher else "no teacher)"),
              "", _settings_line(s, has_teacher), ""]
        for key in ORDER:
            if key in v and v[key].get("recipe"):
                L += [f"{LABELS.get(key, key)}: {_recipe_line(v[key]['recipe'])}.", ""]
        if st.get("teacher", {}).get("sha256"):
            L += [f"Teacher checkpoint `{st['teacher']['checkpoint']}` sha256 `{st['teacher']['sha256']}`.", ""]
        L += ["| variant | width | params | seeds | test Dice | IoU | HD95 | % of T | val Dice | train s |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for key in ORDER:
            if key not in v:
                continue
            a = v[key]
            dice = f"{a['dice']:.4f}" + (f" ± {a['dice_sd']:.4f}" if "dice_sd" in a else "")
            pct = f"{100 * a['dice'] / t['dice']:.1f} %" if t and t["dice"] > 0 else "-"
            L.append(f"| {LABELS.get(key, key)} | {a['width']} | {a['params']:,} | "
                     f"{','.join(map(str, a['seeds']))} | {dice} | {a['iou']:.4f} | {a['hd95']:.2f} | {pct} | "
                     f"{a['val_dice']:.4f} | {a['train_seconds']:.0f} |")
        L.append("")
        base = v.get("student")
        rows = []
        for key in ORDER[2:]:
            if base is None or key not in v:
                continue
            p = stats.paired_difference(base["runs"], v[key]["runs"])
            if not p["seeds"]:
                continue
            per = ", ".join(f"s{q['seed']} {q['diff']:+.4f} {_ci(q['ci95'])}" for q in p["per_seed"])
            sd = f"{p['seed_diff_sd']:.4f}" if p.get("seed_diff_sd") is not None else "-"
            sci = _ci(p["seed_ci95"]) if p.get("seed_ci95") else "-"
            rows.append(f"| {LABELS.get(key, key)} − student alone | {len(p['seeds'])} | {p['n_images']} | "
                        f"**{p['diff']:+.4f}** | {_ci(p['ci95'])} | {sd} | {sci} | "
                        f"{p['seeds_positive']}/{len(p['seeds'])} | {stats.verdict(p)} | {per} |")
            if key == "both":
                summary.append((name, tw, p))
        if rows:
            L += [f"Paired test-Dice differences (teacher width {tw}):", "",
                  "| difference | seeds | images | mean | 95 % CI (pooled) | sd over seeds | "
                  "95 % CI over seeds (t) | seeds > 0 | verdict | per seed: diff [95 % CI] |",
                  "|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
    if summary:
        wins = sum(1 for _, _, p in summary if p["ci95"][0] > 0)
        L += ["## Summary: TinyUnet − student alone", ""]
        for name, tw, p in summary:
            over = (f"; over seeds (t) {_ci(p['seed_ci95'])}, {p['seeds_positive']} of {len(p['seeds'])} "
                    f"seeds above 0" if p.get("seed_ci95") else "")
            L.append(f"* {name} (teacher width {tw}): {p['diff']:+.4f}, 95 % CI {_ci(p['ci95'])}: "
                     f"{stats.verdict(p)}{over}.")
        L.append(f"* CI above 0 on {wins} of {len(summary)} set(s) (target: at least 3 of 4).")
        ratios = [(n, res["sets"][n]["variants"]["both"]["dice"] / res["sets"][n]["variants"]["teacher"]["dice"])
                  for n, _, _ in summary if "teacher" in res["sets"][n]["variants"]]
        for n, r in ratios:
            L.append(f"* {n}: TinyUnet at {100 * r:.1f} % of its teacher's Dice "
                     f"({'meets' if r >= 0.983 else 'misses'} the 98.3 % target).")
        L.append("")
    elif any("both" in st["variants"] and "student" in st["variants"] for st in res["sets"].values()):
        gains = [st["variants"]["both"]["dice"] - st["variants"]["student"]["dice"]
                 for st in res["sets"].values() if "both" in st["variants"] and "student" in st["variants"]]
        L += [f"TinyUnet minus student alone, mean Dice over {len(gains)} set(s): {np.mean(gains):+.4f} "
              "(no per-image results stored, so no paired CI).", ""]
    if res.get("notes"):
        L += [res["notes"], ""]
    return "\n".join(L)
