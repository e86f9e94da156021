"""Plain U-Net teacher and TinyUnet student (segmentation_models.pytorch style).

model = encoder + decoder + segmentation head.  Widths are ``w * (1, 2, 4, 8, 8)``:
w=64 gives the paper's teacher (64-128-256-512-512), w=4 gives TinyUnet.
The encoder also returns the pre-ReLU output of every stage, which the
feature distillation of Zheng et al. (2022) and OFD (Heo et al., 2019) use.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple

import torch
from torch import nn

WIDTH_MULT = (1, 2, 4, 8, 8)
STAGE_SCALE = (1, 2, 4, 8, 16)  # down-sampling factor of each encoder stage


class ConvBlock(nn.Module):
    """(conv3x3 -> BN -> ReLU) x 2.  ``forward`` returns (post-ReLU, pre-ReLU)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        pre = self.bn2(self.conv2(x))
        return self.relu(pre), pre


class EncoderOutput(NamedTuple):
    features: List[torch.Tensor]  # post-ReLU output of each stage
    pre_relu: List[torch.Tensor]  # pre-ReLU output of each stage


class UNetEncoder(nn.Module):
    """Five stages at scales 1, 1/2, 1/4, 1/8, 1/16 (max-pool between stages)."""

    def __init__(self, in_channels: int, width: int):
        super().__init__()
        self.channels = [width * m for m in WIDTH_MULT]
        blocks, cin = [], in_channels
        for c in self.channels:
            blocks.append(ConvBlock(cin, c))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x) -> EncoderOutput:
        feats, pres = [], []
        for i, block in enumerate(self.blocks):
            if i > 0:
                x = self.pool(x)
            x, pre = block(x)
            feats.append(x)
            pres.append(pre)
        return EncoderOutput(feats, pres)


class UNetDecoder(nn.Module):
    """Transposed-conv up-sampling, concatenation with the skip, ConvBlock."""

    def __init__(self, enc_channels: List[int]):
        super().__init__()
        ups, blocks = [], []
        cin = enc_channels[-1]
        for skip in reversed(enc_channels[:-1]):
            ups.append(nn.ConvTranspose2d(cin, skip, 2, stride=2))
            blocks.append(ConvBlock(2 * skip, skip))
            cin = skip
        self.ups = nn.ModuleList(ups)
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = cin

    def forward(self, feats: List[torch.Tensor]):
        x = feats[-1]
        for up, block, skip in zip(self.ups, self.blocks, reversed(feats[:-1])):
            x, _ = block(torch.cat([up(x), skip], dim=1))
        return x


class SegmentationHead(nn.Sequential):
    """1x1 convolution to ``classes`` logits."""

    def __init__(self, cin: int, classes: int = 1):
        super().__init__(nn.Conv2d(cin, classes, 1))


class UNet(nn.Module):
    """Plain U-Net.  ``forward`` returns logits (N,1,H,W); H and W must be multiples of 16.

    ``forward_features`` also returns the encoder outputs for distillation.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, classes: int = 1):
        super().__init__()
        self.in_channels, self.width, self.classes = in_channels, width, classes
        self.encoder = UNetEncoder(in_channels, width)
        self.decoder = UNetDecoder(self.encoder.channels)
        self.head = SegmentationHead(self.decoder.out_channels, classes)

    def forward_features(self, x) -> Dict[str, object]:
        enc = self.encoder(x)
        logits = self.head(self.decoder(enc.features))
        return {"logits": logits, "features": enc.features, "pre_relu": enc.pre_relu}

    def forward(self, x):
        return self.head(self.decoder(self.encoder(x).features))


def build(kind: str, in_channels: int, width: int) -> UNet:
    """``kind`` is 'teacher' or 'student'; both are the same topology."""
    if kind not in ("teacher", "student"):
        raise ValueError(f"unknown net kind {kind!r}")
    return UNet(in_channels=in_channels, width=width)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_at(model: UNet, size: int = 256) -> int:
    """Multiply-accumulate count x2 of convolutions for one size x size image."""
    total = [0]

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        cin = mod.in_channels // mod.groups
        if isinstance(mod, nn.ConvTranspose2d):
            n = inp[0].numel() // inp[0].shape[0] * mod.out_channels * k
        else:
            n = out.numel() // out.shape[0] * cin * k
        total[0] += 2 * n

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, model.in_channels, size, size))
    model.train(was)
    for h in hs:
        h.remove()
    return total[0]
