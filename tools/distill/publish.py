"""Publish a trained student as ``models/<set>/<version>/``: ONNX (``export.py``) with its
check, the ``model.json`` card (``card.py``) with test metrics, teacher block, training
config, label, DICOM modalities and provenance (paths relative to the data root used), and
a few test samples with their attribution.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import card, data, evaluate, nets
from .checkpoint import load_model, sha256
from .config import REPO, kd_terms
from .export import check_onnx, export_onnx


def data_root_label(data_root: Path) -> str:
    """How the card names the data root: relative to the checkout when possible."""
    try:
        return os.path.relpath(Path(data_root).resolve(), REPO)
    except ValueError:
        return str(data_root)


def copy_samples(set_dir: Path, dest: Path, n: int = 3, provenance: Optional[Dict] = None) -> List[str]:
    """Copy ``n`` test pairs (first ids in sorted order) to ``dest`` as <id>.png and
    <id>_mask.png, with an ATTRIBUTION.md citing the dataset README."""
    pairs = data.list_pairs(Path(set_dir), "test")[:n]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ids = []
    for pid, ip, mp in pairs:
        shutil.copyfile(ip, dest / f"{pid}.png")
        shutil.copyfile(mp, dest / f"{pid}_mask.png")
        ids.append(pid)
    prov = provenance or data.dataset_readme(Path(set_dir))
    (dest / "ATTRIBUTION.md").write_text(
        f"# Sample images: {prov['dataset']}\n\n"
        f"Files: {', '.join(f'`{i}.png` (image) + `{i}_mask.png` (mask, 255 = foreground)' for i in ids)}.\n"
        f"Copied unchanged from the test split of the prepared data set (`{Path(set_dir).name}/test/`), "
        "whose README gives this source, citation and licence.\n\n"
        f"Source: {prov['source']}\n\nCitation: {prov['citation']}\n\nLicence / terms: {prov['licence']}\n")
    return ids


def losses_used(variant: str, cfg: Dict) -> Dict:
    """The card's loss fields for a run: the weights of the losses the variant trained with
    (segmentation, then its KD terms, ``config.kd_terms``) and the
    settings of those terms only, so a student trained alone lists no distillation."""
    weights = {"feat": cfg["w_feat"], "spatial": cfg["w_spatial"], "logit": cfg["w_logit"]}
    terms = kd_terms(variant, weights)
    out: Dict = {"loss_weights": {"seg": 1.0, **{t: weights[t] for t in terms}}}
    if "feat" in terms:
        out["feature_kd"] = {"positions": cfg["feat_positions"], "loss": cfg["feat_loss"]}
    if "spatial" in terms:
        out["spatial_kd"] = {"position": cfg["sp_position"], "k": cfg["sp_k"], "knn": cfg["sp_knn"],
                             "gcn_layers": cfg["sp_layers"], "edge_source": cfg["sp_edge"]}
    if "logit" in terms:
        out["logit_T"], out["logit_boundary"] = cfg["logit_T"], cfg["logit_boundary"]
    if terms:
        out["kd_ramp"] = cfg["kd_ramp"]
    return out


def publish(student_ckpt: Path, set_dir: Path, models_dir: Path, version: str = "1",
            teacher_ckpt: Optional[Path] = None, teacher_test: Optional[Dict] = None,
            student_test: Optional[Dict] = None, training: Optional[Dict] = None,
            samples: int = 3, label: Optional[str] = None,
            modalities: Optional[Sequence[str]] = None) -> Dict:
    """Evaluate (if needed), export ONNX + check, write the card and samples.
    ``modalities``: DICOM Modality codes (0008,0060) the model is meant for, e.g. ["US"]."""
    model, ck = load_model(student_ckpt)
    inp = ck["input"]
    set_dir = Path(set_dir)
    name = set_dir.name
    folder = Path(models_dir) / name / str(version)
    test_pairs = data.load_split(set_dir, "test")
    if student_test is None:
        student_test = evaluate.evaluate_pairs(model, test_pairs, inp, 0.5,
                                               csv_path=folder.parent / f"test_v{version}.csv")
    cfg = ck["config"]
    losses = losses_used(ck["variant"], cfg)
    distilled = len(losses["loss_weights"]) > 1  # a KD term besides the segmentation loss
    teacher_ckpt = teacher_ckpt or (cfg.get("teacher_ckpt") if distilled else None)
    teacher_block: Optional[Dict] = None  # null in the card: trained without a teacher
    if distilled:  # the teacher the run learnt from, as far as it is known
        teacher_block = {"width": cfg.get("teacher_width"), "params": None, "metrics": {"test": {}}}
    if distilled and teacher_ckpt is not None and Path(teacher_ckpt).exists():
        tmodel, tck = load_model(teacher_ckpt)
        if teacher_test is None:
            teacher_test = evaluate.evaluate_pairs(tmodel, test_pairs, tck["input"], 0.5)
        teacher_block = {"width": tck["width"], "params": nets.count_params(tmodel),
                         "metrics": {"test": {k: round(float(teacher_test[k]), 4)
                                              for k in ("dice", "iou", "hd95") if k in teacher_test}},
                         "checkpoint_val_dice": round(float(tck.get("val_dice", float("nan"))), 4),
                         "checkpoint_sha256": sha256(teacher_ckpt)}
    old_sha = sha256(folder / "model.onnx")
    onnx_path = export_onnx(model, inp["channels"], folder / "model.onnx")
    same_model = old_sha is not None and old_sha == sha256(onnx_path)
    x_real, _ = evaluate.preprocess(test_pairs[0].image, inp)
    rng = np.random.default_rng(0)
    x_rand = rng.standard_normal((1, inp["channels"], 48, 80)).astype(np.float32)
    chk = check_onnx(model, onnx_path, [x_real.numpy(), x_rand])
    training = dict(training or {})
    training.setdefault("variant", ck["variant"])
    training.setdefault("seed", cfg["seed"])
    training.setdefault("steps", cfg["steps"])
    training.setdefault("patch", cfg["patch"])
    training.setdefault("batch", cfg["batch"])
    training.setdefault("lr", cfg["lr"])
    for k, v in losses.items():
        training.setdefault(k, v)
    for k in ("ema", "checkpoint"):
        if k in cfg:
            training.setdefault(k if k != "checkpoint" else "checkpoint_rule", cfg[k])
    training.setdefault("val_dice", round(float(ck.get("val_dice", float("nan"))), 4))
    training.setdefault("best_step", ck["state"].get("best_step"))
    training.setdefault("checkpoint", {"file": Path(student_ckpt).name, "sha256": sha256(student_ckpt)})
    training.setdefault("seconds", round(ck["state"].get("seconds", 0.0), 1))
    training["config"] = cfg
    training["onnx_check"] = chk
    prov = data.dataset_readme(set_dir)
    provenance = {"dataset": prov["dataset"], "citation": prov["citation"], "licence": prov["licence"],
                  "source": prov["source"], "data_root": data_root_label(set_dir.parent),
                  "readme": f"{name}/README.md",
                  "method": "Zheng, Hao, Wu, Bai, 'Medical image segmentation based on multi-layer "
                            "features and spatial information distillation', J. Beijing Univ. "
                            "Aeronautics & Astronautics, 2022 (re-implemented in tools/distill)"}
    c = card.build_card(name, version, inp, nets.count_params(model), nets.flops_at(model, 256),
                        student_test, teacher_block, training, provenance, label=label,
                        modalities=modalities)
    if same_model:  # keep what other tools added (int8 file, deployed metrics) for this exact model
        c = card.merge_existing(c, folder / "model.json")
    card.write_card(c, folder)
    if samples:
        copy_samples(set_dir, Path(models_dir) / name / "samples", samples, prov)
    return c
