"""The forest plot of paired differences: one row per set and KD variant, coloured by the CI."""
from tools.distill.forest import forest_svg, rows_of


def _runs(values):
    return [{"seed": s, "per_image": {f"i{k}": v + 0.01 * k for k in range(6)}} for s, v in enumerate(values)]


def test_rows_and_colours():
    res = {"sets": {"toy": {"settings": {"teacher_width": 16}, "variants": {
        "student": {"runs": _runs([0.5, 0.5, 0.5])},
        "both": {"runs": _runs([0.6, 0.62, 0.61])},
        "feat": {"runs": _runs([0.4, 0.41, 0.39])},
    }}}}
    rows = rows_of(res)
    assert [label for label, _ in rows] == ["toy (T w16): student + feature KD",
                                          "toy (T w16): TinyUnet (feature + spatial KD)"]
    svg = forest_svg(res)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<path") == 2 and svg.count("<circle") == 6
    assert "#cf222e" in svg and "#1a7f37" in svg  # feat below 0 (red), TinyUnet above (green)


def test_nothing_paired_draws_nothing():
    assert forest_svg({"sets": {"toy": {"variants": {"both": {"runs": _runs([0.6])}}}}}) == ""
