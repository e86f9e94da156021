"""The peer in `deno task bench`: the obvious Python server for the same model.

What an ML engineer writes in an afternoon: FastAPI + uvicorn (one process), PyTorch with
one thread, PIL decode/resize/encode, SciPy for the largest-region clean-up. It serves the
same TinyUnet (``tools/distill/nets.py``, width 4) with the weights of the shipped ONNX
file (BatchNorm is folded into the convolutions there, so the BatchNorm layers are set to
identity), with the same contract as ``POST /v1/segment``: raw PNG in, PNG mask (0/255) at
the image's size out, preprocessing as the model card says (long side, pad multiple,
mean/std, threshold, largest region).

Usage: python3 bench/peer/fastapi_server.py MODEL_DIR PORT   (MODEL_DIR: default the shipped models/isic2017/<version>)
"""
from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request, Response  # noqa: E402
from fastapi.concurrency import run_in_threadpool  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from PIL import Image  # noqa: E402
from scipy import ndimage  # noqa: E402

from tools.distill import nets  # noqa: E402

torch.set_num_threads(1)


def load_model(model_dir: Path):
    """TinyUnet from nets.py with the shipped ONNX file's (BatchNorm-folded) weights."""
    card = json.loads((model_dir / "model.json").read_text())
    graph = onnx.load(str(model_dir / card["files"]["fp32"])).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type in ("Conv", "ConvTranspose")]
    model = nets.build("student", card["input"]["channels"], 4).eval()
    modules = []  # in forward (= ONNX node) order
    for block in model.encoder.blocks:
        modules += [block.conv1, block.conv2]
    for up, block in zip(model.decoder.ups, model.decoder.blocks):
        modules += [up, block.conv1, block.conv2]
    modules.append(model.head[0])
    if len(modules) != len(convs):
        raise SystemExit(f"{len(convs)} convs in the ONNX graph, {len(modules)} in nets.py")
    with torch.no_grad():
        for mod, node in zip(modules, convs):
            w = torch.from_numpy(inits[node.input[1]].copy())
            if tuple(w.shape) != tuple(mod.weight.shape):
                raise SystemExit(f"shape mismatch {tuple(w.shape)} vs {tuple(mod.weight.shape)}")
            mod.weight.copy_(w)
            bias = torch.from_numpy(inits[node.input[2]].copy()) if len(node.input) > 2 else None
            if bias is not None:
                if mod.bias is None:
                    mod.bias = torch.nn.Parameter(bias)
                else:
                    mod.bias.copy_(bias)
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)  # x / sqrt(var + eps) = x
    return model, card


def shipped_dir(name: str) -> Path:
    """The one numbered version folder of a shipped model."""
    (version,) = [d for d in (REPO / "models" / name).iterdir() if d.is_dir() and d.name.isdigit()]
    return version


MODEL_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else shipped_dir("isic2017")
MODEL, CARD = load_model(MODEL_DIR)
SPEC = CARD["input"]
MEAN = np.array(SPEC["mean"], np.float32).reshape(-1, 1, 1)
STD = np.array(SPEC["std"], np.float32).reshape(-1, 1, 1)
app = FastAPI()


def segment(png: bytes) -> bytes:
    img = Image.open(io.BytesIO(png))
    img = img.convert("RGB" if SPEC["channels"] == 3 else "L")
    w, h = img.size
    long_side = (SPEC.get("resize") or {}).get("long_side")
    sw, sh = w, h
    if long_side and max(w, h) != long_side:
        s = long_side / max(w, h)
        sw, sh = max(1, round(w * s)), max(1, round(h * s))
        img = img.resize((sw, sh), Image.BILINEAR)
    m = SPEC["pad_multiple"]
    ih, iw = math.ceil(sh / m) * m, math.ceil(sw / m) * m
    top, left = (ih - sh) // 2, (iw - sw) // 2
    x = np.asarray(img, np.float32).reshape(sh, sw, -1).transpose(2, 0, 1) / 255.0
    x = (x - MEAN) / STD
    padded = np.zeros((SPEC["channels"], ih, iw), np.float32)
    padded[:, top:top + sh, left:left + sw] = x
    with torch.inference_mode():
        logits = MODEL(torch.from_numpy(padded)[None])[0, 0, top:top + sh, left:left + sw]
    prob = torch.sigmoid(logits).numpy()
    if (sw, sh) != (w, h):
        prob = np.asarray(Image.fromarray(prob, "F").resize((w, h), Image.BILINEAR))
    mask = prob > CARD.get("threshold", 0.5)
    if (CARD.get("postprocess") or {}).get("largest_component") and mask.any():
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        sizes = np.bincount(labels.ravel())[1:]
        mask = labels == (int(np.argmax(sizes)) + 1)
    out = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, "L").save(out, format="PNG")
    return out.getvalue()


@app.post("/v1/segment")
async def segment_route(request: Request) -> Response:
    body = await request.body()
    try:
        png = await run_in_threadpool(segment, body)
    except Exception as err:  # noqa: BLE001 - a bad image is a 400
        return Response(json.dumps({"error": str(err), "code": "bad_image"}), 400,
                        media_type="application/json")
    return Response(png, media_type="image/png")


@app.get("/health")
def health() -> dict:
    return {"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8001
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
