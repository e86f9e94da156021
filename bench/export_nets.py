"""Export the untrained U-Net-64 teacher and TinyUnet (width 4) student to ONNX for timing.

Uses the distillation pipeline itself: ``tools.distill.nets.build`` for the nets and
``tools.distill.export.export_onnx`` (opset 17, dynamic N/H/W, BatchNorm folded into the
convolutions by PyTorch's eval-mode export) for the files.  Weights are PyTorch's default
initialisation with a fixed seed: latency does not depend on trained values.

Usage: python3 bench/export_nets.py OUT_DIR
Prints one JSON line: versions, and per net its file, parameter count (PyTorch,
BatchNorm included) and ``nets.flops_at`` (2 x conv MACs) at 256 and 512.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import onnx  # noqa: E402
import torch  # noqa: E402

from tools.distill import nets  # noqa: E402
from tools.distill.export import export_onnx  # noqa: E402

NETS = {"student": 4, "teacher": 64}


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {"torch": torch.__version__, "onnx": onnx.__version__, "nets": {}}
    for kind, width in NETS.items():
        torch.manual_seed(0)
        model = nets.build(kind, 3, width).eval()
        path = export_onnx(model, 3, out / f"{kind}.onnx")
        report["nets"][kind] = {
            "file": path.name,
            "width": width,
            "params_torch": nets.count_params(model),
            "flops_torch": {str(s): nets.flops_at(model, s) for s in (256, 512)},
        }
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/export_nets.py OUT_DIR")
    main(sys.argv[1])
