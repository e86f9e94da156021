"""ONNX export (opset 17, input ``image`` NCHW float32 with dynamic N/H/W, output
``logits``) with an ONNX-vs-PyTorch output check.

The check uses Python ``onnxruntime`` when importable, else ``onnx_check.ts`` run by
Deno with ``npm:onnxruntime-node`` (``deno run -A``).  Inputs checked: a real
preprocessed image (padded, odd sizes) when given, and a random input of another
size, so the dynamic axes are exercised.  Writing the card, samples and metrics next to
the ONNX file is ``publish.py``.
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
