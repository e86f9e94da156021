"""``model.json`` card (schema 1) read by the Deno server; see the card contract in
the issue / README.  One function builds it, one writes it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Sequence

SET_INFO = {  # title, label, DICOM Modality codes (XC external camera, ES endoscopy, US, GM microscopy)
    "isic2017": ("TinyUnet skin lesion segmentation (ISIC 2017)", "lesion", ["XC"]),
    "kvasir-seg": ("TinyUnet polyp segmentation (Kvasir-SEG)", "polyp", ["ES"]),
    "hc18": ("TinyUnet fetal head segmentation (HC18 ultrasound)", "fetal head", ["US"]),
    "isbi2012-em": ("TinyUnet neuronal membrane segmentation (ISBI 2012 EM)", "membrane", ["GM"]),
}
_SCT = "SCT"
_ANATOMY = {"code": "123037004", "scheme": _SCT, "meaning": "Anatomical Structure"}
_ALTERED = {"code": "49755003", "scheme": _SCT, "meaning": "Morphologically Altered Structure"}
SET_SEGMENT = {  # what the mask is, as a DICOM SEG names it (CID 7150/7151/4; the server's card field)
    "isic2017": {"category": _ALTERED, "type": {"code": "52988006", "scheme": _SCT, "meaning": "Lesion"},
                 "anatomic_region": {"code": "39937001", "scheme": _SCT, "meaning": "Skin"}},
    "kvasir-seg": {"category": _ALTERED, "type": {"code": "41329004", "scheme": _SCT, "meaning": "Polyp"},
                   "anatomic_region": {"code": "71854001", "scheme": _SCT, "meaning": "Colon"}},
    "hc18": {"category": _ANATOMY, "type": {"code": "69536005", "scheme": _SCT, "meaning": "Head"}},
    "isbi2012-em": {"category": _ANATOMY,
                    "type": {"code": "4421005", "scheme": _SCT, "meaning": "Cell structure"}},
}
AI_FAMILY = {"code": "123110", "scheme": "DCM", "meaning": "Artificial Intelligence"}  # CID 7162
MODALITY_CODE = r"^[A-Z0-9]{1,16}$"  # a DICOM CS value: upper case, digits, at most 16 characters


def check_modalities(codes: Sequence[str]) -> list:
    """Upper-cased DICOM Modality codes; ValueError for anything that is not a CS value."""
    import re
    out = []
    for c in codes:
        c = c.strip().upper()
        if not re.match(MODALITY_CODE, c):
            raise ValueError(f"modality {c!r} is not a DICOM Modality code (e.g. US, CT, MR, XC, ES)")
        out.append(c)
    return out
METRIC_KEYS = ("dice", "iou", "hd95", "precision", "recall")


def _r(v, n=4):
    return round(float(v), n)


def build_card(name: str, version: str, inp: Dict, params: int, flops_256: int,
               test_metrics: Dict, teacher: Optional[Dict], training: Dict, provenance: Dict,
               threshold: float = 0.5, title: Optional[str] = None,
               label: Optional[str] = None, modalities: Optional[Sequence[str]] = None) -> Dict:
    """``modalities``: DICOM Modality codes the model is for (card field ``modalities``, e.g.
    ["US"]); when not given, the set's default from ``SET_INFO`` (none for an unknown set).
    The DICOM SEG's segment codes come from ``SET_SEGMENT`` (an unknown set gets none: the
    server then writes its generic codes) and the algorithm is named after the model."""
    t, l, mods = SET_INFO.get(name, (f"TinyUnet segmentation ({name})", "foreground", []))
    mods = check_modalities(modalities if modalities is not None else mods)
    metrics = {k: _r(test_metrics[k]) for k in METRIC_KEYS}
    metrics["n"] = int(test_metrics["n"])
    metrics["measured_with"] = "tools/distill evaluate (PyTorch fp32)"
    return {
        "schema": 1,
        "name": name,
        "version": str(version),
        "title": title or t,
        "task": "binary-segmentation",
        "label": label or l,
        "modalities": mods,
        **({"segment": SET_SEGMENT[name]} if name in SET_SEGMENT else {}),
        "algorithm": {"family": AI_FAMILY, "name": f"TinyUnet {name}"},
        "trained": True,
        "input": {
            "name": "image", "layout": "NCHW", "channels": int(inp["channels"]),
            "height": None, "width": None,
            "resize": {"long_side": inp["resize"]["long_side"]},
            "pad_multiple": int(inp["pad_multiple"]),
            "mean": [float(v) for v in inp["mean"]], "std": [float(v) for v in inp["std"]],
        },
        "output": {"name": "logits", "kind": "logits"},
        "threshold": threshold,
        "files": {"fp32": "model.onnx"},
        "precision": "fp32",
        "params": int(params),
        "flops_256": int(flops_256),
        "metrics": {"test": metrics},
        "teacher": teacher,
        "training": training,
        "provenance": provenance,
    }


def write_card(card: Dict, folder: Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path


def merge_existing(card: Dict, path: Path) -> Dict:
    """Keep fields another tool added to an existing card of the *same* ONNX file (e.g.
    ``files.int8`` and ``metrics.test_deployed_*`` from tools/quantize / tools/evaluate)."""
    path = Path(path)
    if not path.exists():
        return card
    old = json.loads(path.read_text())
    for block in ("files", "metrics"):
        for k, v in (old.get(block) or {}).items():
            card[block].setdefault(k, v)
    for k, v in old.items():
        card.setdefault(k, v)
    return card
