"""Val-only grid over TinyUnet's loss weights (w_feat x w_spatial) on one set; never reads
the test split.  Results go to ``sweep.json`` in the run folder."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Dict, List

from . import train
from .config import TrainConfig


def sweep_weights(name: str, base: TrainConfig, steps: int, w_feats: List[float],
                  w_spatials: List[float], seed: int = 0, out: Path = Path("sweep.json")) -> Dict:
    """Needs ``base.teacher_ckpt`` (a trained teacher for the set)."""
    if not base.teacher_ckpt or not Path(base.teacher_ckpt).exists():
        raise FileNotFoundError(f"train the teacher first and pass --teacher-ckpt ({base.teacher_ckpt})")
    out = Path(out)
    res = json.loads(out.read_text()) if out.exists() else {}
    rows = res.setdefault(name, [])
    for wf in w_feats:
        for ws in w_spatials:
            cfg = dataclasses.replace(base, set_name=name, variant="both", seed=seed, steps=steps,
                                      w_feat=wf, w_spatial=ws,
                                      out_dir=str(Path(base.out_dir) / "sweep" / f"f{wf}-s{ws}"))
            summ = train.train(cfg)
            rows[:] = [r for r in rows if (r["w_feat"], r["w_spatial"]) != (wf, ws)]
            rows.append({"w_feat": wf, "w_spatial": ws, "val_dice": summ["val_dice"],
                         "best_step": summ["best_step"], "steps": steps, "seed": seed,
                         "seconds": summ["seconds"]})
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(res, indent=1) + "\n")
            print(f"[sweep] {name} w_feat={wf} w_spatial={ws}: val dice {summ['val_dice']:.4f}", flush=True)
    return res
