"""A forest plot (SVG, no plotting library needed) of the paired test-Dice differences
against the student alone: one row per set and KD variant, each seed's mean difference as a
small dot, the mean over seeds as a diamond with its pooled 95 % bootstrap CI (``stats.py``),
and the zero line — what a reader looks at first to see whether distillation helps.

Hand-written SVG because the Debian PyTorch environment here has no matplotlib; the figure
is a few lines and text, escaped."""
from __future__ import annotations

from html import escape
from typing import Dict, List, Tuple

from . import stats
from .report import LABELS, ORDER

ROW, LEFT, RIGHT, TOP, BOTTOM, WIDTH = 26, 390, 40, 40, 44, 960


def rows_of(res: Dict) -> List[Tuple[str, Dict]]:
    """(label, paired difference) for every set and KD variant with paired seeds."""
    out = []
    for name, st in res.get("sets", {}).items():
        v = st["variants"]
        base = v.get("student")
        if base is None:
            continue
        for key in ORDER[2:]:
            if key not in v:
                continue
            p = stats.paired_difference(base["runs"], v[key]["runs"])
            if p["seeds"]:
                tw = st.get("settings", {}).get("teacher_width", "?")
                out.append((f"{name} (T w{tw}): {LABELS.get(key, key)}", p))
    return out


def forest_svg(res: Dict) -> str:
    """The figure for a results dict (empty string when there is nothing paired)."""
    rows = rows_of(res)
    if not rows:
        return ""
    values = [x for _, p in rows for x in (p["ci95"][0], p["ci95"][1], *(q["diff"] for q in p["per_seed"]))]
    lo, hi = min(min(values), 0.0), max(max(values), 0.0)
    pad = 0.05 * (hi - lo or 1)
    lo, hi = lo - pad, hi + pad
    height = TOP + ROW * len(rows) + BOTTOM
    x = lambda d: LEFT + (d - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="13">Test Dice: variant − student alone (paired seeds; '
           f'dots: seeds, diamond: mean with pooled 95 % CI)</text>']
    zero = x(0.0)
    out.append(f'<line x1="{zero:.1f}" y1="{TOP - 6}" x2="{zero:.1f}" y2="{height - BOTTOM + 6}" '
               f'stroke="#888" stroke-dasharray="4 3"/>')
    for i, (label, p) in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        colour = "#1a7f37" if p["ci95"][0] > 0 else "#cf222e" if p["ci95"][1] < 0 else "#57606a"
        out.append(f'<text x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<line x1="{x(p["ci95"][0]):.1f}" y1="{y:.1f}" x2="{x(p["ci95"][1]):.1f}" y2="{y:.1f}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        for q in p["per_seed"]:
            out.append(f'<circle cx="{x(q["diff"]):.1f}" cy="{y - 6:.1f}" r="2.5" fill="{colour}" opacity="0.6"/>')
        cx = x(p["diff"])
        out.append(f'<path d="M{cx - 6:.1f},{y:.1f} L{cx:.1f},{y - 6:.1f} L{cx + 6:.1f},{y:.1f} '
                   f'L{cx:.1f},{y + 6:.1f} Z" fill="{colour}"/>')
    base = height - BOTTOM + 6
    out.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#333"/>')
    for k in range(6):
        d = lo + k * (hi - lo) / 5
        out.append(f'<line x1="{x(d):.1f}" y1="{base}" x2="{x(d):.1f}" y2="{base + 4}" stroke="#333"/>')
        out.append(f'<text x="{x(d):.1f}" y="{base + 18}" text-anchor="middle">{d:+.3f}</text>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{height - 6}" text-anchor="middle">'
               f'green: CI above 0 · red: below 0 · grey: includes 0</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
