"""Where results go and how they are summarised: a user's ablation writes only to its run
folder (published tables byte-identical), per-set merging keeps other sets whatever their
teacher width, paired bootstrap CIs, ``--help`` shows defaults, and every module compiles."""
import json
import py_compile
from pathlib import Path

import numpy as np

from tools.distill import ablation, stats
from tools.distill.__main__ import build_parser, main as cli
from tools.distill.report import render_markdown

HERE = Path(ablation.__file__).parent


def _published_bytes():
    files = sorted(list(HERE.glob("results*.json")) + list(HERE.glob("RESULTS*.md")))
    return {f.name: f.read_bytes() for f in files}


def test_ablation_on_a_temporary_data_root_leaves_published_results_byte_identical(toy_set, tmp_path):
    before = _published_bytes()
    models_before = sorted(str(p) for p in (HERE.parents[1] / "models").rglob("*"))
    out = tmp_path / "run"
    cli(["ablation", "--sets", toy_set.name, "--data-root", str(toy_set.parent), "--seeds", "0", "1",
         "--variants", "student", "both", "--teacher-steps", "8", "--student-steps", "6", "--val-every", "6",
         "--patch", "32", "--batch", "2", "--teacher-width", "4", "--student-width", "2", "--sp-knn", "3",
         "--out-dir", str(out)])
    assert _published_bytes() == before
    assert sorted(str(p) for p in (HERE.parents[1] / "models").rglob("*")) == models_before
    res = json.loads((out / "results.json").read_text())
    st = res["sets"][toy_set.name]
    assert st["settings"]["teacher_width"] == 4 and st["teacher"]["sha256"]
    assert [r["seed"] for r in st["variants"]["both"]["runs"]] == [0, 1]
    assert len(st["variants"]["student"]["runs"][0]["per_image"]) == 3
    md = (out / "RESULTS.md").read_text()
    assert "teacher width 4" in md and "95 % CI" in md and "student alone" in md
    assert (out / toy_set.name / "both-w2-s1" / "log.txt").exists()
    # a second invocation re-using that teacher for another seed adds its runs, keeps the teacher's seed
    teacher = out / toy_set.name / "teacher-w4-s0" / "final.pt"
    cli(["ablation", "--sets", toy_set.name, "--data-root", str(toy_set.parent), "--seeds", "2",
         "--variants", "both", "--teacher", f"{toy_set.name}={teacher}", "--teacher-steps", "8",
         "--student-steps", "6", "--val-every", "6", "--patch", "32", "--batch", "2", "--teacher-width", "4",
         "--student-width", "2", "--sp-knn", "3", "--out-dir", str(out)])
    st2 = json.loads((out / "results.json").read_text())["sets"][toy_set.name]
    assert st2["variants"]["teacher"]["seeds"] == [0] and st2["variants"]["both"]["seeds"] == [0, 1, 2]
    assert st2["variants"]["student"]["seeds"] == [0, 1]
    # the same paired table can be rebuilt from the kept run folders alone
    rebuilt = ablation.results_from_runs(out)["sets"][toy_set.name]
    assert rebuilt["teacher"]["sha256"] == st["teacher"]["sha256"]  # the checkpoint the KD runs used
    assert all(r["sha256"] for rs in rebuilt["variants"].values() for r in rs["runs"])
    again = rebuilt["variants"]
    kept, ran = again["both"]["runs"][1]["per_image"], st["variants"]["both"]["runs"][1]["per_image"]
    assert kept.keys() == ran.keys() and all(abs(kept[k] - ran[k]) < 1e-4 for k in kept)


def _set(width, dice):
    run = {"seed": 0, "dice": dice, "iou": dice, "hd95": 1.0, "precision": 1.0, "recall": 1.0,
           "params": 1, "width": width, "train_seconds": 1.0, "device": "cpu", "val_dice": dice,
           "steps": 1, "epochs": 1}
    agg = ablation._agg([run])
    return {"settings": {"teacher_width": width, "student_width": 4, "teacher_steps": 1, "student_steps": 1,
                         "batch": 1, "patch": 16, "seeds": [0], "device_note": "cpu", "w_feat": 1,
                         "w_spatial": 1, "w_logit": 0}, "n_test": 1, "variants": {"teacher": agg}}


def test_a_run_with_another_teacher_width_keeps_the_other_sets_rows(tmp_path):
    path = tmp_path / "results.json"
    ablation.write_results({"generated": "g1", "host": "h", "commands": ["a"], "sets": {"a": _set(16, 0.9)}}, path)
    ablation.write_results({"generated": "g2", "host": "h", "commands": ["b"], "sets": {"b": _set(8, 0.8)}}, path)
    res = json.loads(path.read_text())
    assert set(res["sets"]) == {"a", "b"}
    assert res["sets"]["a"]["settings"]["teacher_width"] == 16 and res["sets"]["b"]["settings"]["teacher_width"] == 8
    assert res["commands"] == ["a", "b"]
    md = (tmp_path / "RESULTS.md").read_text()
    assert "## a (test n=1, teacher width 16)" in md and "## b (test n=1, teacher width 8)" in md


def test_legacy_results_keep_their_global_settings_per_set():
    legacy = {"generated": "g", "host": "h", "settings": {"teacher_width": 16}, "sets": {"a": {"variants": {}}}}
    new = {"generated": "g2", "host": "h", "commands": [], "sets": {"b": _set(8, 0.8)}}
    out = ablation.merge_results(legacy, new)
    assert out["sets"]["a"]["settings"]["teacher_width"] == 16 and "settings" not in out


def _runs(per_seed):
    return [{"seed": s, "per_image": {f"i{k}": float(v) for k, v in enumerate(vals)}} for s, vals in per_seed.items()]


def test_paired_bootstrap_finds_a_consistent_gain_and_not_noise():
    rng = np.random.default_rng(0)
    base = {s: rng.uniform(0.6, 0.9, 40) for s in range(5)}
    better = {s: v + 0.02 + rng.normal(0, 0.01, 40) for s, v in base.items()}
    noise = {s: v + rng.normal(0, 0.05, 40) for s, v in base.items()}
    p = stats.paired_difference(_runs(base), _runs(better))
    assert p["seeds"] == [0, 1, 2, 3, 4] and p["n_images"] == 40
    assert abs(p["diff"] - 0.02) < 0.005 and p["ci95"][0] > 0 and p["excludes_zero"]
    assert len(p["per_seed"]) == 5 and all(q["ci95"][0] <= q["diff"] <= q["ci95"][1] for q in p["per_seed"])
    q = stats.paired_difference(_runs(base), _runs(noise))
    assert q["ci95"][0] < 0 < q["ci95"][1] and stats.verdict(q).startswith("no clear")
    # only seeds and images both variants have are paired
    r = stats.paired_difference(_runs({0: base[0], 1: base[1]}), _runs({1: better[1], 2: better[2]}))
    assert r["seeds"] == [1]


def test_seed_level_interval_is_wide_when_the_seed_moves_the_result():
    # every image gains the same per seed, but the gain swings with the seed (one seed loses):
    # the image bootstrap (seeds fixed) excludes 0, Student's t over the 5 seed means does not
    rng = np.random.default_rng(1)
    base = {s: rng.uniform(0.6, 0.9, 30) for s in range(5)}
    gains = [0.01, 0.01, 0.02, -0.03, 0.05]
    other = {s: v + gains[s] + rng.normal(0, 0.002, 30) for s, v in base.items()}
    p = stats.paired_difference(_runs(base), _runs(other))
    assert p["ci95"][0] > 0 and p["seeds_positive"] == 4
    lo, hi = p["seed_ci95"]
    assert lo < 0 < hi
    m, sd = np.mean(gains), np.std(gains, ddof=1)  # t(4, 0.975) = 2.776
    assert abs(hi - (m + 2.776 * sd / np.sqrt(5))) < 0.002 and abs(lo - (m - 2.776 * sd / np.sqrt(5))) < 0.002
    assert stats.paired_difference(_runs({0: base[0]}), _runs({0: other[0]}))["seed_ci95"] is None


def test_help_shows_every_default():
    p = build_parser()
    sub = next(a for a in p._actions if a.dest == "cmd")
    for name in ("train", "ablation", "export"):
        text = sub.choices[name].format_help()
        assert "(default: 0.35)" in text or name == "export"
        assert "--data-root" in text and "(default:" in text
    abl = " ".join(sub.choices["ablation"].format_help().split())
    assert "--teacher-width TEACHER_WIDTH (default: 16)" in abl  # options without a help text too
    assert "--student-lr STUDENT_LR (default: 0.002)" in abl
    assert "--modalities" in sub.choices["export"].format_help()
    assert "--publish-results" in sub.choices["ablation"].format_help()


def test_report_renders_without_per_image_rows():
    res = {"generated": "g", "host": "h", "sets": {"a": _set(16, 0.9)}}
    assert "teacher width 16" in render_markdown(res)


def test_a_set_of_students_trained_alone_is_reported_without_a_teacher():
    st = _set(16, 0.9)
    st["variants"] = {"student": st["variants"].pop("teacher")}
    md = render_markdown({"generated": "g", "host": "h", "sets": {"a": st}})
    assert "## a (test n=1, no teacher)" in md and "No teacher (students trained alone)" in md
    assert "Teacher width" not in md


def test_every_module_compiles():
    for f in sorted(HERE.rglob("*.py")):
        py_compile.compile(str(f), doraise=True)


def test_same_settings_merge_variants_and_other_settings_replace_the_set(tmp_path):
    path = tmp_path / "results.json"
    a = _set(16, 0.9)
    b = _set(16, 0.8)
    b["variants"] = {"student": b["variants"].pop("teacher")}
    ablation.write_results({"generated": "g", "host": "h", "commands": [], "sets": {"x": a}}, path)
    ablation.write_results({"generated": "g", "host": "h", "commands": [], "sets": {"x": b}}, path)
    assert set(json.loads(path.read_text())["sets"]["x"]["variants"]) == {"teacher", "student"}
    c = _set(8, 0.7)
    ablation.write_results({"generated": "g", "host": "h", "commands": [], "sets": {"x": c}}, path)
    x = json.loads(path.read_text())["sets"]["x"]
    assert set(x["variants"]) == {"teacher"} and x["settings"]["teacher_width"] == 8


def test_runs_of_other_seeds_from_another_invocation_are_kept(tmp_path):
    path = tmp_path / "results.json"
    one, two = _set(16, 0.9), _set(16, 0.7)
    two["variants"]["teacher"]["runs"][0]["seed"] = 1
    two["variants"]["teacher"] = ablation._agg(two["variants"]["teacher"]["runs"])
    ablation.write_results({"generated": "g", "host": "h", "commands": [], "sets": {"x": one}}, path)
    ablation.write_results({"generated": "g", "host": "h", "commands": [], "sets": {"x": two}}, path)
    x = json.loads(path.read_text())["sets"]["x"]
    assert x["variants"]["teacher"]["seeds"] == [0, 1] and abs(x["variants"]["teacher"]["dice"] - 0.8) < 1e-9
    assert x["settings"]["seeds"] == [0, 1]


def test_report_with_an_earlier_results_file_keeps_its_sets_and_commands(tmp_path):
    new, old = tmp_path / "results_new.json", tmp_path / "results_old.json"
    new.write_text(json.dumps({"generated": "g2", "host": "h", "commands": ["new run"], "sets": {"a": _set(8, 0.9)}}))
    old.write_text(json.dumps({"generated": "g1", "host": "h", "commands": ["old run"], "sets": {"b": _set(8, 0.7)}}))
    cli(["report", str(new), "--with", str(old)])
    res = json.loads(new.read_text())
    assert sorted(res["sets"]) == ["a", "b"] and res["commands"] == ["old run", "new run"]
    assert res["generated"] == "g2" and res["sets"]["b"]["variants"]["teacher"]["dice"] == 0.7
    md = (tmp_path / "RESULTS_new.md").read_text()
    assert "## a (" in md and "## b (" in md
