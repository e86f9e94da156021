"""Shared fixtures for the distillation tests: tiny data sets made in code."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(2)


def make_set(root: Path, name: str = "toy", n: dict | None = None, size=(40, 48), rgb=True,
             seed: int = 0) -> Path:
    """A set of bright discs on a noisy background: images + 0/255 masks per split."""
    n = n or {"train": 8, "val": 3, "test": 3}
    rng = np.random.default_rng(seed)
    set_dir = root / name
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    for split, count in n.items():
        (set_dir / split / "images").mkdir(parents=True)
        (set_dir / split / "masks").mkdir(parents=True)
        for i in range(count):
            cy, cx, r = rng.integers(10, h - 10), rng.integers(10, w - 10), rng.integers(5, 9)
            m = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r)
            img = 60 + 120 * m + rng.normal(0, 15, (h, w))
            img = np.clip(img, 0, 255).astype(np.uint8)
            if rgb:
                img = np.stack([img, (img * 0.8).astype(np.uint8), (255 - img)], -1)
            Image.fromarray(img).save(set_dir / split / "images" / f"{split}{i:02d}.png")
            Image.fromarray((m * 255).astype(np.uint8)).save(set_dir / split / "masks" / f"{split}{i:02d}.png")
    (set_dir / "README.md").write_text(
        "# Toy discs\n\n## Source\n\nMade in code by tests/distill/conftest.py.\n\n"
        "Citation: none (synthetic).\n\n## Licence / terms\n\nCC0 (synthetic test data).\n")
    return set_dir


@pytest.fixture
def toy_set(tmp_path):
    return make_set(tmp_path)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
