"""Every distillation loss: zero for identical teacher/student inputs, positive otherwise,
and gradients reach the student through each of them."""
import pytest
import torch
from torch import nn

from tools.distill import feature_kd, losses, nets, spatial_kd, train
from tools.distill.config import TrainConfig


def test_nmse_zero_iff_equal():
    t = torch.randn(2, 8, 6, 6)
    assert losses.nmse(t.clone(), t).item() == 0.0
    assert losses.nmse(t + 0.1 * torch.randn_like(t), t).item() > 0


def test_ofd_partial_l2_zero_for_identical_and_positive_otherwise():
    bn = nn.BatchNorm2d(8)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1, 1)
    m = losses.ofd_margin(bn)
    assert (m < 0).all()
    t = torch.randn(2, 8, 6, 6)
    assert losses.ofd_partial_l2(t.clone(), t, m).item() == 0.0
    assert losses.ofd_partial_l2(t + 0.5, t, m).item() > 0
    # below a non-positive target costs nothing (the "partial" in partial L2)
    neg_t = -torch.ones(1, 8, 2, 2) * 10
    target = torch.max(neg_t, m.view(1, -1, 1, 1))
    assert losses.ofd_partial_l2(target - 1.0, neg_t, m).item() == 0.0


def test_ofd_margin_matches_monte_carlo():
    bn = nn.BatchNorm2d(1)
    with torch.no_grad():
        bn.weight.fill_(1.5)
        bn.bias.fill_(0.3)
    x = torch.randn(400000) * 1.5 + 0.3
    assert losses.ofd_margin(bn).item() == pytest.approx(x[x < 0].mean().item(), abs=0.01)


def test_logit_kl_zero_iff_equal():
    t = torch.randn(2, 1, 8, 8)
    assert losses.bernoulli_kl(t.clone(), t).abs().item() < 1e-6
    assert losses.bernoulli_kl(t + 1.0, t).item() > 1e-3


def test_graph_loss_zero_iff_equal():
    z = torch.randn(2, 16, 8)
    out = losses.graph_loss(z.clone(), z)
    assert out["loss"].item() < 1e-6
    assert losses.graph_loss(torch.randn(2, 16, 8), z)["loss"].item() > 0.1


def _identity_conv(conv: nn.Conv2d):
    with torch.no_grad():
        conv.weight.zero_()
        for i in range(conv.weight.shape[0]):
            conv.weight[i, i, 0, 0] = 1.0


def test_spatial_distiller_zero_for_identical_features_positive_otherwise():
    d = spatial_kd.SpatialDistiller(16, 16, k=12, knn=4)
    _identity_conv(d.adapter)
    t = torch.relu(torch.randn(2, 16, 10, 10))
    assert d(t.clone(), t).item() < 1e-5
    assert d(torch.relu(torch.randn(2, 16, 10, 10)), t).item() > 0.01


def test_feature_distiller_zero_for_identical_features():
    for loss in ("nmse", "ofd"):
        bns = [nn.BatchNorm2d(c) for c in (4, 8)]
        d = feature_kd.FeatureDistiller([4, 8], [4, 8], positions=[0, 1], loss=loss, teacher_bns=bns).eval()
        for a in d.adapters:
            _identity_conv(a[0])  # BN in eval with default stats is the identity
        t = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
        assert d([x.clone() for x in t], t).item() < 1e-6
        assert d([x + 1 for x in t], t).item() > 0.01


@pytest.mark.parametrize("variant", ["feat", "spatial", "logit"])
def test_gradients_reach_student_through_each_loss(variant):
    teacher, student = nets.UNet(3, 8).eval(), nets.UNet(3, 4)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        tout = teacher.forward_features(x)
    sout = student.forward_features(x)
    if variant == "feat":
        cfg = TrainConfig(variant="feat")
        fkd, _ = train.build_distillers(cfg, student, teacher)
        loss = fkd(sout["pre_relu"], tout["pre_relu"])
        reached = student.encoder.blocks[3].conv2.weight
    elif variant == "spatial":
        cfg = TrainConfig(variant="spatial", sp_k=16)
        _, skd = train.build_distillers(cfg, student, teacher)
        loss = skd(sout["features"][3], tout["features"][3])
        reached = student.encoder.blocks[3].conv2.weight
    else:
        loss = losses.bernoulli_kl(sout["logits"], tout["logits"])
        reached = student.head[0].weight
    assert loss.item() > 0
    loss.backward()
    assert reached.grad is not None and reached.grad.abs().sum() > 0
    assert student.encoder.blocks[0].conv1.weight.grad.abs().sum() > 0  # all the way to the input
    assert all(p.grad is None for p in teacher.parameters())
