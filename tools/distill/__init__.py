"""TinyUnet distillation pipeline.

Re-implementation of Zheng, Hao, Wu, Bai, "Medical image segmentation based on
multi-layer features and spatial information distillation", J. Beijing Univ.
Aeronautics & Astronautics, 2022: a plain U-Net teacher distils into TinyUnet
(the same U-Net at width 4) through multi-layer feature distillation and
spatial-information (edge key-point graph + GCN) distillation.

Modules (one concept each): config (TrainConfig, defaults), data, nets, losses (every
loss), feature_kd and spatial_kd (the distiller modules), checkpoint (save/load, EMA,
sha256), runlog, train (the loop), evaluate, metrics, export (ONNX + check), card,
publish (models/<set>/<version>), ablation (multi-seed study), stats (paired bootstrap),
report (markdown), diagnose (cheap checks), sweep.  CLI: ``python -m tools.distill``.
Dependencies: pyproject.toml.
"""
