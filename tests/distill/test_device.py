"""The GPU-machine helpers: step planning fits the budget; packing keeps masks lossless."""
import numpy as np
from PIL import Image

from tools.distill import data
from tools.distill.device.budgeted_ablation import plan_steps
from tools.distill.device.pack_data import pack


def test_plan_fills_the_budget_without_exceeding_it():
    teacher_steps, student_steps = plan_steps(400, teacher_s=0.03, student_s=0.01, n_sets=4, n_students=12)
    assert teacher_steps == int(1.5 * student_steps)
    spent = 4 * (teacher_steps * 0.03 + 12 * student_steps * 0.01)
    assert 0.8 * 400 * 0.85 < spent <= 400 * 0.85


def test_pack_reencodes_rgb_images_as_jpeg_and_keeps_masks_png(toy_set, tmp_path):
    out = tmp_path / "packed"
    total = pack(toy_set.parent, out, sets=[toy_set.name])
    assert total > 0
    images = list((out / toy_set.name / "train" / "images").iterdir())
    masks = list((out / toy_set.name / "train" / "masks").iterdir())
    assert images and all(p.suffix == ".jpg" for p in images)
    assert masks and all(p.suffix == ".png" for p in masks)
    before = {p.id: p.mask for p in data.load_split(toy_set, "train")}
    after = data.load_split(out / toy_set.name, "train")
    assert all(np.array_equal(before[p.id], p.mask) for p in after)
    assert after[0].image.shape[2] == 3
