"""Paired image/mask folders, server-identical preprocessing and training augmentation.

Layout: ``<root>/<set>/{train,val,test}/{images,masks}/<id>.png``; any size, grey or
RGB images; masks single-channel 0/255.  Training samples are letterboxed (padded
with 0 in the normalised space) and randomly cropped to a square patch whose side
is a multiple of 16, then flipped / rotated / brightness-contrast jittered.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image

SPLITS = ("train", "val", "test")
IMAGE_EXT = (".png", ".jpg", ".jpeg")  # images; masks must be PNG (lossless)
MASK_EXT = (".png",)


class DataError(ValueError):
    """Raised for a missing split, unpaired files, a mask that is not binary, or size mismatch."""


@dataclass
class Pair:
    id: str
    image: np.ndarray  # uint8 HxWxC (C = 1 or 3)
    mask: np.ndarray  # uint8 HxW in {0, 1}


def _list_files(folder: Path, extensions) -> dict:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in extensions}


def read_image(path: Path) -> np.ndarray:
    """Decode to uint8 HxWxC with C = 1 (grey) or 3 (RGB); alpha/palette are converted."""
    im = Image.open(path)
    if im.mode in ("L", "I;16", "I", "F", "1", "LA"):
        arr = np.asarray(im.convert("L"))[..., None]
    else:
        arr = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(arr)


def read_mask(path: Path) -> np.ndarray:
    """Decode a 0/255 (or 0/1) single-channel mask to {0,1}; anything else is a DataError."""
    im = Image.open(path)
    arr = np.asarray(im)
    if arr.ndim == 3:
        if arr.shape[2] >= 3 and not (np.array_equal(arr[..., 0], arr[..., 1])
                                      and np.array_equal(arr[..., 0], arr[..., 2])):
            raise DataError(f"mask {path} has colour channels that differ; expected single-channel 0/255")
        arr = arr[..., 0]
    values = np.unique(arr)
    if not set(values.tolist()) <= {0, 255} and not set(values.tolist()) <= {0, 1}:
        shown = values[:8].tolist()
        raise DataError(f"mask {path} is not binary: values {shown}{'...' if len(values) > 8 else ''}"
                        " (expected only 0 and 255)")
    return (arr > 0).astype(np.uint8)


def list_pairs(set_dir: Path, split: str) -> List[Tuple[str, Path, Path]]:
    """(id, image path, mask path) for one split, with clear errors for missing/unpaired files."""
    set_dir = Path(set_dir)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    img_dir, mask_dir = set_dir / split / "images", set_dir / split / "masks"
    for d in (img_dir, mask_dir):
        if not d.is_dir():
            raise DataError(f"missing split folder {d} (expected {set_dir}/{split}/images and /masks)")
    imgs, masks = _list_files(img_dir, IMAGE_EXT), _list_files(mask_dir, MASK_EXT)
    only_img, only_mask = sorted(set(imgs) - set(masks)), sorted(set(masks) - set(imgs))
    if only_img or only_mask:
        raise DataError(f"unpaired files in {set_dir / split}: images without mask {only_img[:10]}, "
                        f"masks without image {only_mask[:10]}")
    if not imgs:
        raise DataError(f"split {set_dir / split} holds no image/mask pairs (images PNG or JPEG, masks PNG)")
    return [(k, imgs[k], masks[k]) for k in sorted(imgs)]


def load_split(set_dir: Path, split: str) -> List[Pair]:
    pairs = []
    for pid, ip, mp in list_pairs(set_dir, split):
        img, mask = read_image(ip), read_mask(mp)
        if img.shape[:2] != mask.shape:
            raise DataError(f"size mismatch for {pid}: image {img.shape[:2]} vs mask {mask.shape}")
        pairs.append(Pair(pid, img, mask))
    return pairs


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """Float HxWxC in [0,1] with the server's channel rule (luma 0.299/0.587/0.114, or replicate)."""
    x = img.astype(np.float32) / 255.0
    if x.shape[2] == channels:
        return x
    if channels == 1:
        return (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None].astype(np.float32)
    return np.repeat(x, channels, axis=2)


def infer_channels(pairs: Sequence[Pair]) -> int:
    """1 when every training image is grey, else 3."""
    return 1 if all(p.image.shape[2] == 1 for p in pairs) else 3


def channel_stats(pairs: Sequence[Pair], channels: int) -> Tuple[List[float], List[float]]:
    """Per-channel mean/std over all train pixels in [0,1] (recorded in the model card)."""
    s = np.zeros(channels, np.float64)
    s2 = np.zeros(channels, np.float64)
    n = 0
    for p in pairs:
        x = to_channels(p.image, channels).reshape(-1, channels).astype(np.float64)
        s += x.sum(0)
        s2 += (x ** 2).sum(0)
        n += x.shape[0]
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean ** 2, 1e-12))
    return [round(float(v), 4) for v in mean], [round(float(v), 4) for v in std]


def pad_amounts(size: int, multiple: int) -> Tuple[int, int]:
    """Centred padding (extra pixel after, i.e. bottom/right) to a multiple."""
    total = (-size) % multiple
    return total // 2, total - total // 2


class TrainSampler:
    """Random augmented patches: crop (if larger) / letterbox (if smaller) to ``patch``,
    flips, 90-degree rotations, brightness/contrast.  Returns normalised float32
    images (B,C,P,P), masks (B,1,P,P) and a validity map (B,1,P,P; 0 on padding)."""

    def __init__(self, pairs: Sequence[Pair], channels: int, mean, std, patch: int,
                 seed: int = 0, augment: bool = True):
        if patch % 16:
            raise ValueError("patch size must be a multiple of 16")
        self.pairs, self.channels, self.patch, self.augment = list(pairs), channels, patch, augment
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.rng = np.random.default_rng(seed)
        self.images = [to_channels(p.image, channels) for p in self.pairs]

    def sample(self, i: int):
        rng, P = self.rng, self.patch
        x, m = self.images[i], self.pairs[i].mask.astype(np.float32)
        h, w = m.shape
        # random crop where larger than the patch
        top = rng.integers(0, h - P + 1) if h > P else 0
        left = rng.integers(0, w - P + 1) if w > P else 0
        x, m = x[top:top + P, left:left + P], m[top:top + P, left:left + P]
        if self.augment:
            c = rng.uniform(0.8, 1.2)
            b = rng.uniform(-0.1, 0.1)
            mu = x.mean()
            x = np.clip((x - mu) * c + mu + b, 0.0, 1.0)
        x = (x - self.mean) / self.std
        # letterbox where smaller (random placement while training)
        h, w = m.shape
        oy = rng.integers(0, P - h + 1) if self.augment else (P - h) // 2
        ox = rng.integers(0, P - w + 1) if self.augment else (P - w) // 2
        X = np.zeros((P, P, self.channels), np.float32)
        M = np.zeros((P, P), np.float32)
        V = np.zeros((P, P), np.float32)
        X[oy:oy + h, ox:ox + w], M[oy:oy + h, ox:ox + w], V[oy:oy + h, ox:ox + w] = x, m, 1.0
        X = X.transpose(2, 0, 1)
        if self.augment:
            if rng.random() < 0.5:
                X, M, V = X[:, :, ::-1], M[:, ::-1], V[:, ::-1]
            if rng.random() < 0.5:
                X, M, V = X[:, ::-1], M[::-1], V[::-1]
            k = int(rng.integers(0, 4))
            X, M, V = np.rot90(X, k, (1, 2)), np.rot90(M, k), np.rot90(V, k)
        return (np.ascontiguousarray(X), np.ascontiguousarray(M)[None],
                np.ascontiguousarray(V)[None])

    def batch(self, size: int):
        idx = self.rng.integers(0, len(self.pairs), size)
        xs, ms, vs = zip(*(self.sample(int(i)) for i in idx))
        return np.stack(xs), np.stack(ms), np.stack(vs)


def dataset_readme(set_dir: Path) -> dict:
    """Source / citation / licence lines copied from the set's README.md for provenance."""
    text = (Path(set_dir) / "README.md").read_text() if (Path(set_dir) / "README.md").exists() else ""
    lines = text.splitlines()
    title = next((l.lstrip("# ").strip() for l in lines if l.startswith("# ")), Path(set_dir).name)
    cite = next((l.strip() for l in lines if l.startswith("Citation:")), "")

    def section(name):
        out, on = [], False
        for l in lines:
            if l.startswith("## "):
                on = l[3:].strip().lower().startswith(name)
                continue
            if on and l.strip():
                out.append(l.strip())
        return " ".join(out)

    return {"dataset": title, "citation": cite.replace("Citation:", "").strip(),
            "licence": section("licence"), "source": section("source"),
            "readme": str(Path(set_dir) / "README.md")}


def describe(set_dir: Path) -> str:
    return json.dumps(dataset_readme(set_dir), indent=1)
