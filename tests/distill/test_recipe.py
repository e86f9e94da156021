"""The round-3 recipe's levers: KD ramp, boundary-weighted logit KD, key points scaled to
the map and kept off padding, padding-masked feature KD, EMA checkpoint, frozen teacher."""
import torch

from tools.distill import checkpoint, losses, nets, spatial_kd, train
from tools.distill.config import TrainConfig


def test_kd_ramp_goes_from_zero_to_one_over_the_fraction():
    assert losses.kd_ramp(0, 100, 0.2) == 0.0
    assert losses.kd_ramp(10, 100, 0.2) == 0.5
    assert losses.kd_ramp(20, 100, 0.2) == 1.0 and losses.kd_ramp(99, 100, 0.2) == 1.0
    assert losses.kd_ramp(0, 100, 0.0) == 1.0  # no ramp


def test_boundary_band_marks_only_pixels_near_the_edge():
    p = torch.zeros(1, 1, 32, 32)
    p[:, :, 8:24, 8:24] = 1.0
    band = losses.boundary_band(p, width=5)
    assert band[0, 0, 16, 8] == 1 and band[0, 0, 8, 16] == 1  # on the edge
    assert band[0, 0, 16, 16] == 0 and band[0, 0, 0, 0] == 0  # deep inside / far outside


def test_logit_kd_weights_and_padding():
    t = torch.randn(1, 1, 8, 8)
    s = t.clone()
    s[..., :4] += 2.0  # disagree on the left half only
    valid = torch.ones_like(t)
    left = torch.zeros_like(t)
    left[..., :4] = 1
    plain = losses.bernoulli_kl(s, t, 2.0, valid)
    heavier = losses.bernoulli_kl(s, t, 2.0, valid, weight=1 + 3 * left)
    assert heavier > plain > 0  # weighting the disagreeing pixels raises the loss
    assert losses.bernoulli_kl(s, t, 2.0, 1 - left).abs() < 1e-6  # disagreement only on padding: 0


def test_feature_kd_ignores_padding():
    t = torch.randn(2, 4, 8, 8)
    s = t.clone()
    s[..., 6:] += 5.0  # differs only in the last two columns
    valid = torch.ones(2, 1, 32, 32)
    valid[..., 24:] = 0  # ... which are padding at 1/4 of the input size
    assert losses.nmse(s, t, valid).item() == 0.0
    assert losses.nmse(s, t).item() > 0


def test_keypoints_scale_with_the_map_and_avoid_padding():
    assert spatial_kd.auto_k(16, 16) == 64 and spatial_kd.auto_k(32, 32) == 256
    edge = torch.rand(1, 1, 16, 16)
    edge[..., 12:] += 10.0  # strongest responses on what is padding
    valid = torch.ones(1, 1, 16, 16)
    valid[..., 12:] = 0
    idx = spatial_kd.select_keypoints(edge, 0, valid=valid)
    assert idx.shape == (1, 64)
    assert ((idx % 16) < 12).all()  # no point in the padded columns
    assert ((spatial_kd.select_keypoints(edge, 0) % 16) >= 12).any()  # without the mask they land there


def test_ema_tracks_the_model_and_starts_from_it():
    m = nets.UNet(1, 2)
    ema = checkpoint.ModelEMA(m, 0.9)
    for p in m.parameters():
        torch.nn.init.constant_(p, 1.0)
    for _ in range(200):
        ema.update(m)
    w = ema.model.encoder.blocks[0].conv1.weight
    assert torch.allclose(w, torch.ones_like(w), atol=1e-3)
    assert not any(p.requires_grad for p in ema.model.parameters())


def test_teacher_stays_frozen_and_in_eval_mode_during_student_training(toy_set, tmp_path, monkeypatch):
    base = dict(set_name=toy_set.name, data_root=str(toy_set.parent), teacher_width=4, student_width=2,
                patch=32, batch=4, val_every=10, log_every=5, out_dir=str(tmp_path / "runs"), sp_knn=3)
    t = train.train(TrainConfig(variant="teacher", steps=10, lr=3e-3, **base))
    seen = {}
    real = train.load_teacher

    def spy(path, device, channels):
        model = real(path, device, channels)
        seen["model"] = model
        seen["before"] = {k: v.clone() for k, v in model.state_dict().items()}
        orig = model.forward_features

        def forward_features(x):
            seen.setdefault("training", set()).add(model.training)
            seen.setdefault("grad_enabled", set()).add(torch.is_grad_enabled())
            return orig(x)

        model.forward_features = forward_features
        return model

    monkeypatch.setattr(train, "load_teacher", spy)
    train.train(TrainConfig(variant="both", steps=10, teacher_ckpt=t["checkpoint"], **base))
    assert seen["training"] == {False} and seen["grad_enabled"] == {False}
    assert not any(p.requires_grad for p in seen["model"].parameters())
    after = seen["model"].state_dict()  # weights and BN running statistics unchanged
    assert all(torch.equal(v, after[k]) for k, v in seen["before"].items())


def test_diagnose_reports_boundary_hits_and_balancing_weights(tmp_path):
    from conftest import make_set

    from tools.distill import diagnose
    toy = make_set(tmp_path, size=(64, 80))
    base = dict(set_name=toy.name, data_root=str(tmp_path), teacher_width=4, student_width=2, patch=64, batch=2,
                val_every=10, log_every=10, out_dir=str(tmp_path / "runs"))
    t = train.train(TrainConfig(variant="teacher", steps=10, lr=3e-3, **base))
    rep = diagnose.run(TrainConfig(**base), t["checkpoint"], batches=1)
    kp = rep["keypoints"]
    assert kp["chosen_k"] in (16, 32, 64)
    for v in (x for x in kp.values() if isinstance(x, dict)):
        assert 0 <= v["boundary_hit"] <= 1 and 0 <= v["random_valid_cell_boundary_hit"] <= 1
        assert v["on_padding"] == 0 or not v["padding_masked"]
    g = rep["gradients"]
    assert g["seg"]["cos_with_seg"] == 1.0 and g["feat"]["grad_norm_at_w1"] > 0
    # w_for_equal_norm makes the weighted KD gradient as large as the segmentation gradient
    assert abs(g["feat"]["w_for_equal_norm"] * g["feat"]["grad_norm_at_w1"] - g["seg"]["grad_norm_at_w1"]) < 0.01
