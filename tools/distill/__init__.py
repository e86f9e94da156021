"""TinyUnet distillation pipeline.

Re-implementation of Zheng, Hao, Wu, Bai, "Medical image segmentation based on
multi-layer features and spatial information distillation", J. Beijing Univ.
Aeronautics & Astronautics, 2022: a plain U-Net teacher distils into TinyUnet
(the same U-Net at width 4) through multi-layer feature distillation and
spatial-information (edge key-point graph + GCN) distillation.

Modules (one concept each): data, nets, feature_kd, spatial_kd, logit_kd,
metrics, train, evaluate, export, card, ablation.  CLI: ``python -m tools.distill``.
"""
