import numpy as np
import pytest

from tools.distill import metrics


def _square(y, x, s=10, shape=(40, 40)):
    m = np.zeros(shape, bool)
    m[y:y + s, x:x + s] = True
    return m


def test_dice_iou_precision_recall_known_overlap():
    gt, pred = _square(5, 5), _square(5, 10)  # half overlap: 50 of 100 pixels
    r = metrics.image_metrics(pred, gt)
    assert r["dice"] == pytest.approx(0.5)
    assert r["iou"] == pytest.approx(50 / 150)
    assert r["precision"] == pytest.approx(0.5) and r["recall"] == pytest.approx(0.5)


def test_hd95_of_shifted_square_is_the_shift():
    assert metrics.hd95(_square(5, 8), _square(5, 5)) == pytest.approx(3.0)
    assert metrics.hd95(_square(5, 5), _square(5, 5)) == 0.0


def test_empty_mask_conventions():
    e = np.zeros((30, 40), bool)
    assert metrics.image_metrics(e, e) == {"dice": 1.0, "iou": 1.0, "precision": 1.0, "recall": 1.0, "hd95": 0.0}
    r = metrics.image_metrics(e, _square(2, 2, shape=(30, 40)))
    assert r["dice"] == 0 and r["hd95"] == pytest.approx(50.0)
