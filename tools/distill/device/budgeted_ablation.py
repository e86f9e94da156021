"""The full-scale ablation sized to a time budget, for one call on a lent GPU machine.

Times a few teacher and student steps on the first set, sets the step counts so the whole
ablation (teacher + student variants × seeds on every set, evaluation included) fits
``--budget-s``, runs it with the real U-Net-64 teacher, publishes the TinyUnet students to
``models/<set>/<version>`` (``--version``) and packs results, logs and models into ``$OUT/distill_gpu.tar.gz``.

    python3 -m tools.distill.device.budgeted_ablation --data-root .data --budget-s 420 --out "$OUT"
"""
import argparse
import dataclasses
import json
import tarfile
import time
from pathlib import Path

from tools.distill import ablation, train
from tools.distill.config import TrainConfig

VARIANTS = ["student", "feat", "spatial", "both"]


def step_seconds(base: TrainConfig, set_name: str, variant: str, teacher_ckpt=None, steps=12) -> tuple:
    """(seconds per training step of one variant, its checkpoint) from a short throwaway run."""
    cfg = dataclasses.replace(base, set_name=set_name, variant=variant, steps=steps, seed=99,
                              teacher_ckpt=teacher_ckpt, val_every=10 ** 6, resume=False,
                              out_dir=str(Path(base.out_dir) / "_timing"))
    t0 = time.time()
    summ = train.train(cfg)
    return max(summ["seconds"], time.time() - t0) / steps, str(Path(summ["run_dir"]) / "last.pt")


def plan_steps(budget_s: float, teacher_s: float, student_s: float, n_sets: int, n_students: int,
               ratio: float = 1.5, overhead: float = 0.15) -> tuple:
    """(teacher_steps, student_steps) with teacher = ratio × student, filling the budget minus overhead."""
    per_student_step = n_sets * (ratio * teacher_s + n_students * student_s)
    s = int(budget_s * (1 - overhead) / per_student_step)
    return int(ratio * s), s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=".data")
    ap.add_argument("--sets", nargs="+", default=["isic2017", "kvasir-seg", "hc18", "isbi2012-em"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--budget-s", type=float, default=420)
    ap.add_argument("--out", default="out")
    ap.add_argument("--version", default="3", help="model version to publish (2 is the shipped CPU round)")
    args = ap.parse_args()
    base = TrainConfig(data_root=args.data_root, teacher_width=64, patch=256, batch=16,
                             device="cuda", out_dir="runs/distill_gpu", val_every=100)
    t0 = time.time()
    teacher_s, ckpt = step_seconds(base, args.sets[0], "teacher")
    student_s, _ = step_seconds(base, args.sets[0], "both", teacher_ckpt=ckpt)
    budget = args.budget_s - (time.time() - t0)
    t_steps, s_steps = plan_steps(budget, teacher_s, student_s, len(args.sets), len(VARIANTS) * len(args.seeds))
    print(f"[budget] teacher {teacher_s:.3f} s/step, student {student_s:.3f} s/step → teacher {t_steps}, "
          f"students {s_steps} steps in {budget:.0f} s", flush=True)
    command = (f"python3 -m tools.distill.device.budgeted_ablation --data-root {args.data_root} "
               f"--budget-s {args.budget_s} (teacher {t_steps} / student {s_steps} steps)")
    run_dir = Path(base.out_dir)
    ablation.run_ablation(args.sets, base, args.seeds, t_steps, s_steps, variants=["teacher"] + VARIANTS,
                          out_dir=run_dir, export_version=args.version, command=command,
                          weights_note="round-3 recipe defaults (tools/distill/config.py)",
                          notes=f"GPU run sized to {args.budget_s:.0f} s by budgeted_ablation.py")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "distill_gpu.tar.gz", "w:gz") as tar:
        for p in [run_dir / "results.json", run_dir / "RESULTS.md"]:
            tar.add(p, arcname=f"runs/distill_gpu/{p.name}")
        for name in args.sets:
            for f in (Path("models") / name / args.version).glob("*"):
                if f.suffix in (".onnx", ".json"):
                    tar.add(f, arcname=str(f))
        for log in Path(base.out_dir).rglob("*"):
            if log.name in ("log.txt", "summary.json", "test_metrics.json") or log.suffix == ".csv":
                tar.add(log, arcname=str(log))
    print(json.dumps({"seconds": round(time.time() - t0), "archive": str(out / "distill_gpu.tar.gz")}))


if __name__ == "__main__":
    main()
