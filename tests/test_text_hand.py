"""Handwritten text pages: glyph-by-glyph variation, crossed-out words, notebook paper."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from got_model.prompts import query_for_meta
from pipelines.render.checks import check_sample
from renderers.base import Sample
from renderers.text_page import Options, TextPageRenderer

HAND = {"hand": 1.0}


def render(seed: int, corpus: Path | None = None, **options: object) -> tuple[TextPageRenderer, Sample]:
    renderer = TextPageRenderer(Options(**{"styles": HAND, **options}), corpus)
    sample = renderer.render(np.random.default_rng(seed))
    check_sample(sample)
    renderer.validate(sample)
    return renderer, sample


def ink_of(sample: Sample, page: int = 0) -> np.ndarray:
    meta = sample.meta
    pixels = np.asarray(sample.images[page].convert("RGB"), dtype=np.int16)
    return np.abs(pixels - np.array(meta["ink"])).max(axis=-1) < 90


def test_a_handwritten_page_is_in_a_handwriting_face_and_its_boxes_hold_its_lines() -> None:
    _, sample = render(0, lang="en", cross_out=(0.0, 0.0))
    meta = sample.meta
    assert meta["font"]["style"] == "hand" and meta["hand"]["paper"] in ("plain", "lined", "squared")
    assert len(sample.target.split("\n")) == meta["n_lines"] == len(meta["line_boxes"])
    ink = ink_of(sample)
    for box in meta["line_boxes"]:
        assert ink[box[1]:box[3], box[0]:box[2]].any(), f"line box {box} is empty"
    covered = np.zeros_like(ink)
    for x0, y0, x1, y1 in meta["line_boxes"]:
        covered[max(0, y0):y1 + 1, max(0, x0):x1 + 1] = True
    assert not (ink & ~covered).any(), "ink outside the line boxes"


def test_two_occurrences_of_a_letter_differ(tmp_path: Path) -> None:
    corpus = tmp_path / "o.txt"
    corpus.write_text(" ".join(["o"] * 30) + "\n", encoding="utf-8")
    _, sample = render(1, corpus, lang="en", cross_out=(0.0, 0.0), papers={"plain": 1.0})
    x0, y0, x1, y1 = sample.meta["line_boxes"][0]
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink_of(sample)[y0:y1, x0:x1].astype(np.uint8))
    blobs = stats[1:]  # (x, y, width, height, area) of each 'o', the background left out
    assert count - 1 >= 10
    sizes = {(int(w), int(h)) for _, _, w, h, _ in blobs}
    tops = {int(y) for _, y, _, _, _ in blobs}
    assert len(sizes) > 3 and len(tops) > 2, "every 'o' is drawn the same: no per-glyph variation"


def test_crossed_out_words_are_drawn_recorded_and_left_out_of_the_target() -> None:
    _, plain = render(2, lang="en", cross_out=(0.0, 0.0), papers={"plain": 1.0})
    _, crossed = render(2, lang="en", cross_out=(0.2, 0.2), papers={"plain": 1.0})
    marks = crossed.meta["crossed_out"]
    assert marks and not plain.meta["crossed_out"]
    assert crossed.target == plain.target, "a crossed-out word changed the target"
    lines = crossed.target.split("\n")
    ink = ink_of(crossed)
    for mark in marks:
        line = lines[mark["line"]]
        assert 0 <= mark["at"] <= len(line) and mark["text"].strip() and mark["how"] in ("strike", "scribble")
        as_drawn = line[:mark["at"]] + mark["text"] + " " + line[mark["at"]:]
        assert as_drawn != line and as_drawn not in crossed.target
        x0, y0, x1, y1 = mark["box"]
        assert ink[y0:y1, x0:x1].any(), f"nothing drawn for the crossed-out {mark['text']!r}"
        box = crossed.meta["line_boxes"][mark["line"]]
        assert box[0] <= x0 and x1 <= box[2] and box[1] <= y0 and y1 <= box[3]


@pytest.mark.parametrize("paper", ["lined", "squared"])
def test_paper_rules_stay_out_of_the_line_boxes(paper: str) -> None:
    for seed in range(3):
        _, sample = render(seed, lang="mix", papers={paper: 1.0})
        meta = sample.meta
        assert meta["hand"]["paper"] == paper and meta["rule_rows"] and sample.images[0].mode == "RGB"
        for y in meta["rule_rows"]:
            assert not any(b[1] <= y <= b[3] for b in meta["line_boxes"]), f"rule {y} crosses a line"
        if meta["margin_rule_x"] is not None:
            assert not any(b[0] <= meta["margin_rule_x"] <= b[2] for b in meta["line_boxes"])
        pixels = np.asarray(sample.images[0])
        rule_row = next(y for y in meta["rule_rows"] if y > meta["margins"][1])
        on_rule = pixels[rule_row, :, :]
        assert (np.abs(on_rule.astype(int) - meta["hand"]["rule"]).max(axis=-1) <= 1).mean() > 0.9
        assert bool(meta["rule_columns"]) == (paper == "squared")


def test_box_guided_handwritten_pages_hold_exactly_their_lines() -> None:
    for seed in range(3):
        _, sample = render(seed, lang="en", regions={"box": 1.0})
        assert sample.meta["region"] == "box" and query_for_meta({**sample.meta, "task": "ocr"}).endswith("OCR: ")


def test_handwriting_falls_back_to_print_where_no_hand_covers_the_script() -> None:
    _, sample = render(0, lang="hi")
    assert sample.meta["font"]["style"] != "hand" and "hand" not in sample.meta


def test_handwritten_pages_replay_from_the_seed() -> None:
    a = TextPageRenderer(Options(styles=HAND, lang="zh")).render(np.random.default_rng(5))
    b = TextPageRenderer(Options(styles=HAND, lang="zh")).render(np.random.default_rng(5))
    assert a.images[0].tobytes() == b.images[0].tobytes() and a.meta == b.meta and a.target == b.target
