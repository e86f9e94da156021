"""Data loading errors, channel rules, padding and the training sampler."""
import numpy as np
import pytest
import torch
from PIL import Image

from tools.distill import data, evaluate


def test_missing_split_is_a_clear_error(toy_set):
    import shutil
    shutil.rmtree(toy_set / "val")
    with pytest.raises(data.DataError, match="missing split folder .*val"):
        data.load_split(toy_set, "val")


def test_unpaired_files_are_reported_by_id(toy_set):
    (toy_set / "train" / "masks" / "train03.png").unlink()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(toy_set / "train" / "masks" / "orphan.png")
    with pytest.raises(data.DataError, match=r"unpaired.*train03.*orphan"):
        data.load_split(toy_set, "train")


def test_non_binary_mask_is_rejected(toy_set):
    m = np.zeros((40, 48), np.uint8)
    m[5:10, 5:10] = 128
    Image.fromarray(m).save(toy_set / "test" / "masks" / "test01.png")
    with pytest.raises(data.DataError, match="not binary"):
        data.load_split(toy_set, "test")


def test_size_mismatch_is_rejected(toy_set):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(toy_set / "val" / "masks" / "val00.png")
    with pytest.raises(data.DataError, match="size mismatch"):
        data.load_split(toy_set, "val")


def test_jpeg_images_pair_with_png_masks_but_jpeg_masks_do_not_count(toy_set):
    src = toy_set / "test" / "images" / "test01.png"
    Image.open(src).convert("RGB").save(src.with_suffix(".jpg"), quality=95)
    src.unlink()
    pairs = data.load_split(toy_set, "test")
    assert "test01" in [p.id for p in pairs]
    mask = toy_set / "test" / "masks" / "test01.png"
    Image.open(mask).save(mask.with_suffix(".jpg"), quality=95)
    mask.unlink()
    with pytest.raises(data.DataError, match=r"unpaired.*test01"):
        data.load_split(toy_set, "test")


def test_load_split_reads_binary_masks_and_channels(toy_set):
    pairs = data.load_split(toy_set, "train")
    assert len(pairs) == 8 and pairs[0].image.shape == (40, 48, 3)
    assert set(np.unique(pairs[0].mask)) <= {0, 1}
    assert data.infer_channels(pairs) == 3


def test_channel_conversion_matches_server_rule():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    grey = data.to_channels(rgb, 1)[0, :, 0]
    assert np.allclose(grey, [0.299, 0.587, 0.114], atol=1e-6)
    g = np.array([[[51]]], np.uint8)
    assert np.allclose(data.to_channels(g, 3), 0.2)


def test_centred_padding_extra_pixel_bottom_right():
    assert data.pad_amounts(173, 16) == (1, 2)
    assert data.pad_amounts(170, 16) == (3, 3)
    assert data.pad_amounts(256, 16) == (0, 0)
    img = np.full((21, 30, 1), 255, np.uint8)
    inp = {"channels": 1, "resize": {"long_side": None}, "pad_multiple": 16, "mean": [0.5], "std": [0.25]}
    x, (t, l, h, w) = evaluate.preprocess(img, inp)
    assert x.shape == (1, 1, 32, 32) and (t, l, h, w) == (5, 1, 21, 30)
    assert torch.all(x[0, 0, t:t + h, l:l + w] == 2.0)  # (1 - 0.5) / 0.25
    assert x[0, 0, :t].abs().sum() == 0 and x[0, 0, t + h:].abs().sum() == 0


def test_resize_to_long_side():
    assert evaluate.resized_shape(180, 256, 256) == (180, 256)
    assert evaluate.resized_shape(100, 50, 200) == (200, 100)
    inp = {"channels": 3, "resize": {"long_side": 64}, "pad_multiple": 16, "mean": [0] * 3, "std": [1] * 3}
    x, (_, _, h, w) = evaluate.preprocess(np.zeros((30, 120, 3), np.uint8), inp)
    assert (h, w) == (16, 64) and x.shape == (1, 3, 16, 64)


def test_sampler_crops_letterboxes_and_marks_padding(toy_set):
    pairs = data.load_split(toy_set, "train")
    mean, std = data.channel_stats(pairs, 3)
    s = data.TrainSampler(pairs, 3, mean, std, patch=32, seed=0)
    x, m, v = s.batch(4)
    assert x.shape == (4, 3, 32, 32) and m.shape == v.shape == (4, 1, 32, 32)
    assert v.min() == 1.0  # 40x48 images are cropped, never padded, at patch 32
    big = data.TrainSampler(pairs, 3, mean, std, patch=64, seed=0)
    x, m, v = big.batch(4)
    assert 0 < v.mean() < 1  # letterboxed
    assert np.all(x[np.broadcast_to(v == 0, x.shape)] == 0)  # padding is 0 in normalised space
    assert np.all(m[v == 0] == 0)
    with pytest.raises(ValueError):
        data.TrainSampler(pairs, 3, mean, std, patch=30)


def test_readme_provenance(toy_set):
    p = data.dataset_readme(toy_set)
    assert p["dataset"] == "Toy discs" and "CC0" in p["licence"] and "synthetic" in p["citation"]
