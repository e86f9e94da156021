"""A tiny overfit run, the train/resume CLI path on a toy set, and the ONNX export round trip."""
import json

import numpy as np
import onnx
import pytest
import torch

from tools.distill import export, losses, nets, publish, train
from tools.distill.config import TrainConfig
from tools.distill.__main__ import main as cli


def test_tiny_overfit_lowers_the_loss():
    torch.manual_seed(0)
    m = nets.UNet(1, 4)
    x = torch.randn(4, 1, 32, 32)
    y = (x[:, :1] > 0.3).float()
    v = torch.ones_like(y)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = losses.seg_loss(m(x), y, v)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.6 * first


def _cfg(toy_set, tmp_path, **kw):
    base = dict(set_name=toy_set.name, data_root=str(toy_set.parent), teacher_width=4, student_width=2,
                patch=32, batch=4, steps=30, val_every=15, log_every=10, out_dir=str(tmp_path / "runs"),
                sp_k=8, sp_knn=3)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained_env(tmp_path_factory):
    """Teacher + TinyUnet ('both' + logit KD) trained once on a toy set for this module."""
    from conftest import make_set
    tmp_path = tmp_path_factory.mktemp("train")
    toy_set = make_set(tmp_path)
    t = train.train(_cfg(toy_set, tmp_path, variant="teacher", lr=3e-3))
    s = train.train(_cfg(toy_set, tmp_path, variant="both", teacher_ckpt=t["run_dir"] + "/best.pt",
                         w_logit=0.5))
    return t, s, toy_set, tmp_path


def test_training_runs_logs_and_resumes(trained_env):
    t, s, toy_set, tmp_path = trained_env
    state = torch.load(t["run_dir"] + "/last.pt")["state"]
    assert state["step"] == 30 and [h["step"] for h in state["history"]] == [15, 30]
    log = open(s["run_dir"] + "/log.txt").read()
    assert "feat=" in log and "spatial=" in log and "logit=" in log and "val step 30" in log
    assert t["best_val_dice"] > 0.3  # the toy teacher learns the discs in 30 steps
    # resume: same config continues from last.pt without retraining
    again = train.train(_cfg(toy_set, tmp_path, variant="teacher", lr=3e-3))
    assert "resumed from" in open(t["run_dir"] + "/log.txt").read()
    assert again["best_val_dice"] == t["best_val_dice"]


def test_export_round_trip_and_card(trained_env, tmp_path):
    t, s, toy_set, _ = trained_env
    models = tmp_path / "models"
    card = publish.publish(s["run_dir"] + "/final.pt", toy_set, models, "1",
                           teacher_ckpt=t["run_dir"] + "/final.pt", samples=2, label="disc",
                           modalities=["us"])
    folder = models / toy_set.name / "1"
    on_disk = json.loads((folder / "model.json").read_text())
    assert on_disk == json.loads(json.dumps(card))
    for k in ("schema", "name", "version", "title", "task", "label", "trained", "input", "output",
              "threshold", "files", "precision", "params", "flops_256", "metrics", "teacher",
              "training", "provenance"):
        assert k in on_disk
    assert on_disk["input"]["name"] == "image" and on_disk["input"]["channels"] == 3
    assert on_disk["input"]["height"] is None and on_disk["input"]["pad_multiple"] == 16
    assert on_disk["output"] == {"name": "logits", "kind": "logits"}
    assert set(on_disk["metrics"]["test"]) >= {"dice", "iou", "hd95", "precision", "recall", "n"}
    assert on_disk["metrics"]["test"]["n"] == 3
    assert on_disk["teacher"]["width"] == 4 and "CC0" in on_disk["provenance"]["licence"]
    assert on_disk["label"] == "disc" and on_disk["modalities"] == ["US"]
    assert on_disk["algorithm"]["name"] == f"TinyUnet {toy_set.name}"
    assert on_disk["algorithm"]["family"]["code"] == "123110"
    assert "segment" not in on_disk  # an unknown set: the server's generic segment codes

    # provenance names the data root it used (relative to the checkout) and the README inside it
    prov = on_disk["provenance"]
    assert prov["readme"] == f"{toy_set.name}/README.md"
    assert (export.REPO / prov["data_root"] / prov["readme"]).resolve() == (toy_set / "README.md").resolve()
    assert on_disk["teacher"]["checkpoint_sha256"] and on_disk["training"]["checkpoint"]["sha256"]
    assert on_disk["training"]["onnx_check"]["max_abs_diff"] <= 1e-4
    assert (models / toy_set.name / "samples" / "ATTRIBUTION.md").exists()
    assert len(list((models / toy_set.name / "samples").glob("*_mask.png"))) == 2
    # ONNX graph contract: opset 17, input image with dynamic H/W, output logits
    g = onnx.load(str(folder / "model.onnx"))
    assert g.opset_import[0].version == 17
    assert g.graph.input[0].name == "image" and g.graph.output[0].name == "logits"
    dims = g.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 3 and dims[2].dim_param and dims[3].dim_param


def test_onnx_check_matches_pytorch_and_detects_a_mismatch(tmp_path):
    m = nets.UNet(1, 2).eval()
    path = export.export_onnx(m, 1, tmp_path / "m.onnx")
    xs = [np.random.default_rng(0).standard_normal((1, 1, h, w)).astype(np.float32)
          for h, w in ((32, 48), (80, 16))]
    res = export.check_onnx(m, path, xs)
    assert res["ok"] and res["max_abs_diff"] <= 1e-4
    with torch.no_grad():  # a different model must fail the check
        m.head[0].bias += 1.0
    with pytest.raises(AssertionError):
        export.check_onnx(m, path, xs[:1])


def test_cli_evaluate_writes_per_image_csv(trained_env, capsys):
    _, s, toy_set, _ = trained_env
    csv = toy_set.parent / "per_image.csv"
    cli(["evaluate", "--checkpoint", s["run_dir"] + "/best.pt", "--set", toy_set.name,
         "--data-root", str(toy_set.parent), "--csv", str(csv)])
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 3 and 0 <= out["dice"] <= 1
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("id,dice,iou") and len(lines) == 4


def test_cli_export_rejects_a_modality_that_is_not_a_dicom_code(trained_env, tmp_path):
    _, s, toy_set, _ = trained_env
    with pytest.raises(ValueError, match="DICOM Modality"):
        cli(["export", "--checkpoint", s["run_dir"] + "/final.pt", "--set", toy_set.name,
             "--data-root", str(toy_set.parent), "--models-dir", str(tmp_path), "--modalities", "ultra sound"])
    assert not (tmp_path / toy_set.name).exists()


def test_cards_of_the_four_sets_carry_their_dicom_segment_codes():
    from tools.distill import card as card_mod
    for name in ("isic2017", "kvasir-seg", "hc18", "isbi2012-em"):
        (version,) = [d for d in (export.REPO / "models" / name).iterdir() if d.name.isdigit()]
        shipped = json.loads((version / "model.json").read_text())
        built = card_mod.build_card(name, "9", shipped["input"], 1, 1,
                                    {k: 0.5 for k in card_mod.METRIC_KEYS} | {"n": 1}, {}, {}, {})
        assert built["segment"] == shipped["segment"], name
        assert built["algorithm"] == shipped["algorithm"], name


def test_card_lists_only_the_losses_a_variant_trained_with():
    from dataclasses import asdict
    cfg = asdict(TrainConfig(w_feat=0.3, w_spatial=0.4, w_logit=0.0))
    alone = publish.losses_used("student", cfg)
    assert alone == {"loss_weights": {"seg": 1.0}}  # no KD weights, settings or ramp
    both = publish.losses_used("both", cfg)
    assert both["loss_weights"] == {"seg": 1.0, "feat": 0.3, "spatial": 0.4}  # logit weight 0: off
    assert both["feature_kd"]["positions"] == cfg["feat_positions"] and "spatial_kd" in both
    assert "logit_T" not in both and both["kd_ramp"] == cfg["kd_ramp"]
    logit = publish.losses_used("logit", asdict(TrainConfig(w_logit=0.5)))
    assert logit["loss_weights"] == {"seg": 1.0, "logit": 0.5} and logit["logit_T"] == 2.0
    assert "feature_kd" not in logit and "spatial_kd" not in logit


def test_card_of_a_distilled_student_names_its_teacher_from_the_run_config(trained_env, tmp_path):
    t, s, toy_set, _ = trained_env
    # exported without --teacher-ckpt: the run's own config says which teacher it learnt from
    card = publish.publish(s["run_dir"] + "/final.pt", toy_set, tmp_path / "models", "1", samples=0)
    assert card["teacher"]["width"] == 4 and card["teacher"]["checkpoint_sha256"]
    assert set(card["training"]["loss_weights"]) > {"seg"}
