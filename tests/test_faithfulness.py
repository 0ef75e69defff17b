"""Every label is checked against what the back-end drew (issue 15, item 1): a tampered label (one cell,
one value, one note, one atom changed) is rejected by every renderer's ``validate``, with the real
back-ends. Each case renders a valid sample, checks it passes, changes one thing in the target (and in
the recorded plain reading where the renderer keeps one) and expects a ``Reject``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from renderers import registry
from renderers.base import Reject, Sample


def first_valid(renderer, seeds=range(40)) -> Sample:
    for seed in seeds:
        try:
            sample = renderer.render(np.random.default_rng(seed))
            renderer.validate(sample)
            return sample
        except Reject:
            continue
    raise AssertionError(f"{renderer.name}: no valid sample")


def tampered(sample: Sample, target: str, plain: str | None = None) -> Sample:
    meta = dict(sample.meta)
    if plain is not None:
        meta["plain"] = plain
    return Sample(sample.images, target, meta, sample.png, sample.drawn)


def change_first(pattern: str, text: str, replace) -> str:
    changed, count = re.subn(pattern, replace, text, count=1)
    assert count == 1 and changed != text, (pattern, text[:200])
    return changed


def bump_digit(match: re.Match) -> str:
    return str((int(match.group()) + 1) % 10)


@pytest.fixture(scope="module")
def formula():
    renderer = registry.load("formula")(registry.load("formula").Options())
    yield renderer
    renderer.close()


def test_formula_with_one_atom_changed_is_rejected(formula):
    sample = first_valid(formula)
    letter = change_first(r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])", sample.target, lambda m: "w" if m.group() == "q" else "q")
    with pytest.raises(Reject, match="label-not-drawn: target"):
        formula.validate(tampered(sample, letter))
    plain = change_first(r"\w", sample.meta["plain"], lambda m: "Y" if m.group() == "Z" else "Z")
    with pytest.raises(Reject, match="label-not-drawn: plain reading"):
        formula.validate(tampered(sample, sample.target, plain))


@pytest.mark.parametrize("latex", ["a + b \\] \\text{and} \\[ c", "x \\] \\[ y"])
def test_a_formula_that_splits_into_several_display_blocks_is_rejected(tmp_path, latex):
    path = tmp_path / "formulas.txt"
    path.write_text(latex + "\n", encoding="utf-8")
    renderer = registry.load("formula")(registry.load("formula").Options(), path)
    try:
        with pytest.raises(Reject, match="several-display-blocks"):
            renderer.render(np.random.default_rng(0))
    finally:
        renderer.close()


def renderer_named(name: str, **options):
    cls = registry.load(name)
    return cls(cls.Options(**options))


def raise_a_third(match: re.Match) -> str:
    """A kern pitch (a letter repeated for the octave) two letters up, same case and octave marks."""
    run = match.group()
    letter = "abcdefg"[("abcdefg".index(run[0].lower()) + 2) % 7]
    return (letter.upper() if run[0].isupper() else letter) * len(run)


def test_sheet_music_with_one_note_changed_is_rejected():
    renderer = renderer_named("sheet-music")
    try:
        for seed in range(6):  # generated pieces and corpus excerpts alike
            sample = first_valid(renderer, range(seed * 10, seed * 10 + 10))
            lines = sample.target.split("\n")
            row = next(i for i, line in enumerate(lines)
                       if line[:1] not in ("!", "*", "=", "") and re.search(r"[A-Ga-g]", line))
            lines[row] = change_first(r"([A-Ga-g])\1*", lines[row], raise_a_third)
            with pytest.raises(Reject, match="pitch-not-drawn"):
                renderer.validate(tampered(sample, "\n".join(lines)))
    finally:
        renderer.close()


def test_molecule_with_one_atom_changed_is_rejected():
    renderer = renderer_named("molecule")
    try:
        for seed in range(5):
            sample = first_valid(renderer, range(seed * 10, seed * 10 + 10))
            bad = change_first(r"(?<![A-Za-z\[])([CNO])(?![a-z])", sample.target,
                               lambda m: {"C": "N", "N": "O", "O": "S"}[m.group()])
            with pytest.raises(Reject, match="label-not-faithful"):
                renderer.validate(tampered(sample, bad))
    finally:
        renderer.close()


def tampered_chart(target: str, what: str) -> str:
    """The chart target with its first value raised by one, or its first category renamed."""
    chart = json.loads(target)
    values = chart["values"]
    series = next(iter(values))
    category = next(iter(values[series]))
    if what == "value":
        values[series][category] += 1
    else:
        chart["values"] = {s: {(c + " x" if c == category else c): v for c, v in row.items()} for s, row in values.items()}
    return json.dumps(chart, ensure_ascii=False, separators=(", ", ": "))


CHART_KINDS = ("bar", "grouped_bar", "stacked_bar", "hbar", "line", "scatter", "pie")


@pytest.mark.parametrize("value_labels", [0.0, 1.0])
@pytest.mark.parametrize("kind", CHART_KINDS)
def test_matplotlib_chart_with_one_value_or_category_changed_is_rejected(kind, value_labels):
    renderer = renderer_named("chart-matplotlib", kinds=(kind,), value_label_probability=value_labels)
    for seed in (0, 10):
        sample = first_valid(renderer, range(seed, seed + 10))
        with pytest.raises(Reject, match="value-not-drawn"):
            renderer.validate(tampered(sample, tampered_chart(sample.target, "value")))
        with pytest.raises(Reject, match="category-not-drawn"):
            renderer.validate(tampered(sample, tampered_chart(sample.target, "category")))


def test_chart_layout_rejects_texts_outside_or_overlapping_and_reads_slanted_boxes_as_drawn():
    from renderers.chart_readback import box_quad, check_layout, overlap

    def slanted(x: float, y: float, length: float = 60, height: float = 10, degrees: float = 45) -> list:
        # A label hanging from (x, y) at its right end, slanted up to the left.
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        return [[x, y], [x - length * c, y - length * s], [x - length * c - height * s, y - length * s + height * c],
                [x - height * s, y + height * c]]

    # Neighbouring slanted labels: their upright boxes overlap, the labels do not.
    assert not overlap(slanted(100, 100), slanted(130, 100))
    assert overlap(slanted(100, 100), slanted(105, 100))
    assert overlap(box_quad(0, 0, 10, 10), box_quad(5, 5, 20, 20)) and not overlap(box_quad(0, 0, 10, 10), box_quad(10.5, 0, 20, 10))
    text = {"role": "value", "text": "12", "quad": box_quad(90, 10, 110, 20)}
    with pytest.raises(Reject, match="text-outside"):
        check_layout([text], (100, 100), "labels")
    other = {"role": "value", "text": "13", "quad": box_quad(80, 12, 95, 22)}
    with pytest.raises(Reject, match="overlapping-labels"):
        check_layout([text, other], (200, 100), "labels")
    check_layout([text, {**other, "role": "title"}], (200, 100), "labels")  # matplotlib's rule: values among themselves
    with pytest.raises(Reject, match="overlapping-labels"):
        check_layout([text, {**other, "role": "title"}], (200, 100), "targets")


@pytest.mark.parametrize("pages", [(1, 1), (2, 3)])
def test_mathpix_doc_with_one_word_changed_is_rejected(pages):
    renderer = renderer_named("mathpix-doc", lang="en", pages=pages)
    try:
        sample = first_valid(renderer)
        word = re.compile(r"(?<![\\\\$A-Za-z])[A-Za-z]{4,}(?![A-Za-z$])")
        with pytest.raises(Reject, match="text-not-drawn: block"):
            renderer.validate(tampered(sample, change_first(word, sample.target, lambda m: ("q" if m.group()[0] != "q" else "z") + m.group()[1:])))
        with pytest.raises(Reject, match="text-not-drawn: plain reading"):
            renderer.validate(tampered(sample, sample.target, change_first(word, sample.meta["plain"], lambda m: m.group()[:-1] + "q")))
        digit = change_first(r"\d", sample.target, bump_digit)  # a number in a formula, a table or the text
        with pytest.raises(Reject, match="text-not-drawn"):
            renderer.validate(tampered(sample, digit))
    finally:
        renderer.close()


@pytest.fixture(scope="module")
def echarts():
    renderer = renderer_named("chart-echarts")
    yield renderer
    renderer.close()


@pytest.mark.parametrize("value_labels", [0.0, 1.0])
@pytest.mark.parametrize("kind", (*CHART_KINDS, "area"))
def test_echarts_chart_with_one_value_or_category_changed_is_rejected(echarts, kind, value_labels):
    cls = registry.load("chart-echarts")
    one = cls(cls.Options(kinds=(kind,), value_label_probability=value_labels))
    one.page = echarts.page  # share the module's browser
    sample = first_valid(one)
    with pytest.raises(Reject, match="value-not-drawn"):
        one.validate(tampered(sample, tampered_chart(sample.target, "value")))
    with pytest.raises(Reject, match="category-not-drawn"):
        one.validate(tampered(sample, tampered_chart(sample.target, "category")))


def test_echarts_value_labels_that_collide_are_dropped_and_the_rest_is_checked(echarts):
    cls = registry.load("chart-echarts")
    crowded = cls(cls.Options(kinds=("line",), value_label_probability=1.0))
    crowded.page = echarts.page
    samples = [crowded.render(np.random.default_rng(seed)) for seed in range(12)]
    dropped = [s for s in samples if s.meta.get("value_labels_dropped") == "overlapping"]
    assert dropped and len(dropped) < len(samples)
    for sample in samples:
        try:
            crowded.validate(sample)
        except Reject as reject:
            assert reject.reason != "value-not-drawn"  # other texts may still collide
            continue
        assert (sample.meta["value_labels"] is False) == (sample in dropped)
        assert any(t["role"] == "value" for t in sample.drawn["texts"]) == (sample not in dropped)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_latex_table_with_one_cell_changed_is_rejected(lang):
    renderer = renderer_named("latex-table", lang=lang, dpi=(72, 72), batch_size=8)
    try:
        samples = [s for s in renderer.render_batch([np.random.default_rng(seed) for seed in range(8)])
                   if not isinstance(s, Reject)]
        for sample in samples:
            renderer.validate(sample)
            cell = change_first(r"(?<=[&\s])\d", sample.target, bump_digit)  # a number in a cell, not a span
            with pytest.raises(Reject, match="cell-not-drawn"):
                renderer.validate(tampered(sample, cell))
            plain = change_first(r"\d", sample.meta["plain"], bump_digit)
            with pytest.raises(Reject, match="cell-not-drawn: plain reading"):
                renderer.validate(tampered(sample, sample.target, plain))
            extra = sample.target.replace("\\end{tabular}", "x & y \\\\\n\\end{tabular}")  # a row not drawn
            with pytest.raises(Reject, match="cell-not-drawn"):
                renderer.validate(tampered(sample, extra))
    finally:
        renderer.close()


def test_geometry_with_one_label_changed_is_rejected():
    renderer = renderer_named("geometry", dpi=(60, 60), batch_size=12)
    try:
        samples = renderer.render_batch([np.random.default_rng(seed) for seed in range(12)])
        for sample in samples:
            renderer.validate(sample)
            label = change_first(r"\{\$([A-Z])\$\}|\{\$(x|y)\$\}", sample.target, lambda m: "{$Z$}")
            with pytest.raises(Reject, match="label-not-drawn"):
                renderer.validate(tampered(sample, label))
            dropped = re.sub(r"\\node\[[^\]]*\] at \([A-Z]\) \{\$[A-Z]\$\};\n", "", sample.target, count=1)
            if dropped != sample.target:  # a label drawn on the page that the target no longer holds
                with pytest.raises(Reject, match="text-not-in-label"):
                    renderer.validate(tampered(sample, dropped))
    finally:
        renderer.close()


# Two letters of each script the cases draw, so a changed letter stays in the page's font.
SWAPS = {"latin": "qz", "han": "\u4eba\u5927", "arabic": "\u0628\u062a", "devanagari": "\u0915\u0916"}


def change_a_letter(text: str) -> str:
    """``text`` with its first letter (Latin, Han, Arabic or Devanagari) another of the same script."""
    def swap(match: re.Match) -> str:
        char = match.group()
        pair = SWAPS["latin" if char.isascii() else "han" if "\u4e00" <= char <= "\u9fff"
                     else "arabic" if "\u0600" <= char <= "\u06ff" else "devanagari"]
        return pair[1] if char == pair[0] else pair[0]
    return change_first(r"[A-Za-z\u4e00-\u9fff\u0620-\u064a\u0915-\u0939]", text, swap)


@pytest.mark.parametrize(("name", "reason"), [("scene-text", "label-mismatch"), ("text-page", "text-not-drawn"),
                                              ("stitch", "text-not-drawn")])
def test_text_renderers_with_one_letter_changed_are_rejected(name, reason):
    renderer = renderer_named(name)
    try:
        sample = first_valid(renderer)
        with pytest.raises(Reject, match=reason):
            renderer.validate(tampered(sample, change_a_letter(sample.target)))
    finally:
        renderer.close()


@pytest.mark.parametrize("options", [
    {"lang": "en", "slice": True, "slice_line_prob": 0.0},
    {"lang": "en", "styles": {"hand": 1.0}, "cross_out": (0.3, 0.3)},  # crossed-out words drawn, not read
    {"lang": "en", "pages": (2, 2)},
    {"lang": "en", "regions": {"color": 1.0}, "region_lines": (2, 3)},
    {"lang": "ar"},  # shaped by HarfBuzz, set right to left
    {"lang": "hi", "slice": True},
])
def test_text_page_reads_its_target_against_the_lines_drawn_and_their_ink(options):
    renderer = renderer_named("text-page", **options)
    sample = first_valid(renderer)
    lines = sample.target.split("\n")
    with pytest.raises(Reject, match="text-not-drawn: target line"):
        renderer.validate(tampered(sample, change_a_letter(sample.target)))
    if len(lines) > 1 and "region_lines" not in sample.meta:  # a region's line count is check_region's
        with pytest.raises(Reject, match="text-not-drawn: the target has"):
            renderer.validate(tampered(sample, "\n".join(lines[:-1])))
    if len(set(lines)) > 1:
        with pytest.raises(Reject, match="text-not-drawn: target line 0"):
            renderer.validate(tampered(sample, "\n".join(lines[::-1])))
    # The last line the target reads, painted over with the paper: no ink in its box.
    last = sample.meta["region_lines"][-1] if "region_lines" in sample.meta else len(lines) - 1
    page = sample.meta.get("line_pages", [0] * sample.meta["n_lines"])[last]
    images = [image.convert("RGB") for image in sample.images]
    x0, y0, x1, y1 = sample.meta["line_boxes"][last]
    images[page].paste(tuple(sample.meta["paper"]), (max(0, x0), max(0, y0), x1, y1))
    renderer.validate(Sample([image.convert("RGB") for image in sample.images], sample.target, sample.meta,
                             drawn=sample.drawn))
    with pytest.raises(Reject, match="blank-line"):
        renderer.validate(Sample(images, sample.target, sample.meta, drawn=sample.drawn))
    with pytest.raises(Reject, match="no record of the lines drawn"):
        renderer.validate(Sample(sample.images, sample.target, sample.meta))


def test_stitch_reads_its_target_against_the_parts_pasted():
    renderer = renderer_named("stitch", renderers={"text-page": 1.0}, parts=(3, 3))
    try:
        sample = first_valid(renderer)
        parts = sample.drawn["parts"]
        with pytest.raises(Reject, match="text-not-drawn: part 2"):
            renderer.validate(tampered(sample, "\n\n".join([*parts[:2], change_a_letter(parts[2])])))
        with pytest.raises(Reject, match="text-not-drawn: part 0"):
            renderer.validate(tampered(sample, "\n\n".join(parts[::-1])))
        with pytest.raises(Reject, match="text-not-drawn: the target goes on"):
            renderer.validate(tampered(sample, sample.target + "\n\nmore"))
        with pytest.raises(Reject, match="text-not-drawn: part 2"):
            renderer.validate(tampered(sample, "\n\n".join(parts[:2])))
        with pytest.raises(Reject, match="part-not-drawn"):
            renderer.validate(Sample(sample.images, sample.target, sample.meta))
    finally:
        renderer.close()
