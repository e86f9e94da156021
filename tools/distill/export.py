"""ONNX export (opset 17, input ``image`` NCHW float32 with dynamic N/H/W, output
``logits``) with an ONNX-vs-PyTorch output check.

The check uses Python ``onnxruntime`` when importable, else ``onnx_check.ts`` run by
Deno with ``npm:onnxruntime-node`` (``deno run -A``).  Inputs checked: a real
preprocessed image (padded, odd sizes) when given, and a random input of another
size, so the dynamic axes are exercised.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx
import torch

REPO = Path(__file__).resolve().parents[2]
CHECK_TS = Path(__file__).resolve().parent / "onnx_check.ts"
TOL = 1e-4


def _sha256(path: Path) -> Optional[str]:
    import hashlib
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def export_onnx(model: torch.nn.Module, channels: int, path: Path) -> Path:
    model = model.float().cpu().eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, channels, 64, 64)
    with torch.no_grad():
        torch.onnx.export(model, dummy, str(path), opset_version=17, input_names=["image"],
                          output_names=["logits"], do_constant_folding=True,
                          dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                        "logits": {0: "batch", 2: "height", 3: "width"}})
    onnx.checker.check_model(onnx.load(str(path)))
    return path


def _run_python_ort(path: Path, x: np.ndarray) -> Optional[np.ndarray]:
    try:
        import onnxruntime as ort  # noqa: F401
    except ImportError:
        return None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["logits"], {"image": x})[0]


def deno_binary() -> Optional[str]:
    return os.environ.get("DENO") or shutil.which("deno") or (
        "/usr/local/bin/deno" if Path("/usr/local/bin/deno").exists() else None)


def _run_deno_check(path: Path, x: np.ndarray, expected: np.ndarray, tol: float) -> Dict:
    deno = deno_binary()
    if deno is None:
        raise RuntimeError("ONNX check needs Python onnxruntime or Deno (not found)")
    with tempfile.TemporaryDirectory() as d:
        ip, ep = Path(d) / "input.json", Path(d) / "expected.json"
        ip.write_text(json.dumps({"shape": list(x.shape), "data": x.ravel().tolist()}))
        ep.write_text(json.dumps({"shape": list(expected.shape), "data": expected.ravel().tolist()}))
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        r = subprocess.run([deno, "run", "-A", "--no-lock", str(CHECK_TS), str(path), str(ip), str(ep),
                            str(tol)], cwd=str(REPO), env=env, capture_output=True, text=True,
                           timeout=300)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"onnx_check.ts failed (exit {r.returncode}): {r.stderr[-2000:]}")
    res = json.loads(lines[-1])
    res["runtime"] = "onnxruntime-node (deno)"
    return res


def check_onnx(model: torch.nn.Module, path: Path, inputs: List[np.ndarray], tol: float = TOL) -> Dict:
    """Max |ONNX - PyTorch| over the inputs; raises AssertionError when above ``tol``."""
    model = model.float().cpu().eval()
    results = []
    for x in inputs:
        x = np.ascontiguousarray(x, dtype=np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = _run_python_ort(path, x)
        if got is not None:
            diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
            res = {"max_abs_diff": diff, "tol": tol, "ok": diff <= tol, "shape": list(got.shape),
                   "runtime": "onnxruntime (python)"}
        else:
            res = _run_deno_check(path, x, ref, tol)
        results.append(res)
    worst = max(r["max_abs_diff"] for r in results)
    summary = {"max_abs_diff": worst, "tol": tol, "ok": all(r["ok"] for r in results),
               "runtime": results[0]["runtime"], "shapes": [list(x.shape) for x in inputs]}
    if not summary["ok"]:
        raise AssertionError(f"ONNX output differs from PyTorch: {summary}")
    return summary


def copy_samples(set_dir: Path, dest: Path, n: int = 3, provenance: Optional[Dict] = None) -> List[str]:
    """Copy ``n`` test pairs (first ids in sorted order) to ``dest`` as <id>.png and
    <id>_mask.png, with an ATTRIBUTION.md citing the dataset README."""
    from . import data
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


def publish(student_ckpt: Path, set_dir: Path, models_dir: Path, version: str = "1",
            teacher_ckpt: Optional[Path] = None, teacher_test: Optional[Dict] = None,
            student_test: Optional[Dict] = None, training: Optional[Dict] = None,
            samples: int = 3) -> Dict:
    """Evaluate (if needed), export ONNX + check, write the card and samples."""
    from . import card, data, evaluate, nets, train
    model, ck = train.load_model(student_ckpt)
    inp = ck["input"]
    set_dir = Path(set_dir)
    name = set_dir.name
    folder = Path(models_dir) / name / str(version)
    test_pairs = data.load_split(set_dir, "test")
    if student_test is None:
        student_test = evaluate.evaluate_pairs(model, test_pairs, inp, 0.5,
                                               csv_path=folder.parent / f"test_v{version}.csv")
    teacher_block = {"width": None, "params": None, "metrics": {"test": {}}}
    if teacher_ckpt is not None:
        tmodel, tck = train.load_model(teacher_ckpt)
        if teacher_test is None:
            teacher_test = evaluate.evaluate_pairs(tmodel, test_pairs, tck["input"], 0.5)
        teacher_block = {"width": tck["width"], "params": nets.count_params(tmodel),
                         "metrics": {"test": {k: round(float(teacher_test[k]), 4)
                                              for k in ("dice", "iou", "hd95") if k in teacher_test}},
                         "checkpoint_val_dice": round(float(tck.get("val_dice", float("nan"))), 4)}
    old_sha = _sha256(folder / "model.onnx")
    onnx_path = export_onnx(model, inp["channels"], folder / "model.onnx")
    same_model = old_sha is not None and old_sha == _sha256(onnx_path)
    x_real, _ = evaluate.preprocess(test_pairs[0].image, inp)
    rng = np.random.default_rng(0)
    x_rand = rng.standard_normal((1, inp["channels"], 48, 80)).astype(np.float32)
    chk = check_onnx(model, onnx_path, [x_real.numpy(), x_rand])
    cfg = ck["config"]
    training = dict(training or {})
    training.setdefault("variant", ck["variant"])
    training.setdefault("seed", cfg["seed"])
    training.setdefault("steps", cfg["steps"])
    training.setdefault("patch", cfg["patch"])
    training.setdefault("batch", cfg["batch"])
    training.setdefault("lr", cfg["lr"])
    training.setdefault("loss_weights", {"seg": 1.0, "feat": cfg["w_feat"], "spatial": cfg["w_spatial"],
                                         "logit": cfg["w_logit"]})
    training.setdefault("feature_kd", {"positions": cfg["feat_positions"], "loss": cfg["feat_loss"]})
    training.setdefault("spatial_kd", {"position": cfg["sp_position"], "k": cfg["sp_k"], "knn": cfg["sp_knn"],
                                       "gcn_layers": cfg["sp_layers"], "edge_source": cfg["sp_edge"]})
    training.setdefault("val_dice", round(float(ck.get("val_dice", float("nan"))), 4))
    training.setdefault("best_step", ck["state"].get("best_step"))
    training.setdefault("seconds", round(ck["state"].get("seconds", 0.0), 1))
    training["config"] = cfg
    training["onnx_check"] = chk
    prov = data.dataset_readme(set_dir)
    provenance = {"dataset": prov["dataset"], "citation": prov["citation"], "licence": prov["licence"],
                  "source": prov["source"], "readme": f"shared/data/{name}/README.md",
                  "method": "Zheng, Hao, Wu, Bai, 'Medical image segmentation based on multi-layer "
                            "features and spatial information distillation', J. Beijing Univ. "
                            "Aeronautics & Astronautics, 2022 (re-implemented in tools/distill)"}
    c = card.build_card(name, version, inp, nets.count_params(model), nets.flops_at(model, 256),
                        student_test, teacher_block, training, provenance)
    if same_model:  # keep what other tools added (int8 file, deployed metrics) for this exact model
        c = card.merge_existing(c, folder / "model.json")
    card.write_card(c, folder)
    if samples:
        copy_samples(set_dir, Path(models_dir) / name / "samples", samples, prov)
    return c
