"""The text-page renderer with real fonts and the built-in fortunes corpora (no mocks)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from got_model.prompts import query_for_meta
from pipelines.render.checks import check_sample
from renderers.backends import fonts
from renderers.base import Reject, Sample
from renderers.text_page import Options, TextPageRenderer
from renderers.text_page.linebreak import NO_LINE_END, NO_LINE_START, Measure, normalise, wrap_en, wrap_zh
from renderers.text_page.pages import FRAME_COLOURS, scaled_box
from renderers.text_page.raster import ink_on_paper

CJK = range(0x4E00, 0xA000)


def render(seed: int, corpus: Path | None = None, **options: object) -> Sample:
    renderer = TextPageRenderer(Options(**options), corpus)
    sample = renderer.render(np.random.default_rng(seed))
    renderer.validate(sample)
    return sample


def png(sample: Sample) -> bytes:
    buffer = io.BytesIO()
    sample.images[0].save(buffer, format="PNG")
    return buffer.getvalue()


def has_ink(image: Image.Image, box: list[int], paper: list[int]) -> bool:
    pixels = np.asarray(image.crop(tuple(box)).convert("RGB"), dtype=np.int16)
    return bool((np.abs(pixels - np.array(paper)).max(axis=-1) > 60).any())


def check_lines_match_layout(sample: Sample) -> None:
    """The target has one line per laid-out line box, and every box holds ink."""
    meta = sample.meta
    assert sample.target.split("\n") and all(line.strip() for line in sample.target.split("\n"))
    n_lines = len(sample.target.split("\n"))
    assert n_lines == meta["n_lines"] == len(meta["line_boxes"]) == len(meta["line_columns"])
    for box in meta["line_boxes"]:
        assert has_ink(sample.images[0], box, meta["paper"]), f"line box {box} is empty"
    json.dumps(meta)  # JSON-serialisable
    if not meta.get("justify"):
        # Drawing the target's lines, in order, at the recorded boxes gives the very same image:
        # the page is a palette image whose indices are the glyphs' coverage, paper (0) to ink (255).
        font = fonts.load_font(fonts.FontFace.from_meta(meta["font"]), meta["font_px"])
        redrawn = Image.new("L", sample.images[0].size, 0)
        draw = ImageDraw.Draw(redrawn)
        for line, box in zip(sample.target.split("\n"), meta["line_boxes"], strict=True):
            draw.text((box[0], box[1]), line, font=font, fill=255)
        page = sample.images[0]
        assert page.mode == "P" and redrawn.tobytes() == page.tobytes(), "the target is not what was drawn"
        palette = page.getpalette("RGB")
        assert palette[:3] == meta["paper"] and palette[255 * 3:256 * 3] == meta["ink"]


def test_english_page() -> None:
    sample = render(1, lang="en", justify_prob=0.0)
    assert sample.meta["lang"] == "en" and sample.meta["font"]["script"] == "latin"
    assert sample.images[0].size == (sample.meta["width"], sample.meta["height"])
    assert sample.meta["n_lines"] >= 10 and not any(ord(c) in CJK for c in sample.target)
    check_lines_match_layout(sample)


def test_chinese_page_uses_a_chinese_font() -> None:
    sample = render(2, lang="zh", columns=(0.0, 1.0))
    assert sample.meta["lang"] == "zh"
    assert sample.meta["font"]["script"] == "cjk" and sample.meta["font"]["region"] in ("sc", "")
    assert sum(ord(c) in CJK for c in sample.target) > 100
    assert not any(line[0] in NO_LINE_START for line in sample.target.split("\n"))
    check_lines_match_layout(sample)


def test_two_columns_read_left_column_first() -> None:
    sample = render(3, lang="en", columns=(0.0, 1.0), partial_page_prob=0.0, justify_prob=0.0)
    meta = sample.meta
    assert meta["columns"] == 2 and set(meta["line_columns"]) == {0, 1}
    placed = list(zip(meta["line_columns"], meta["line_boxes"], strict=True))
    order = [(column, box[1]) for column, box in placed]
    assert order == sorted(order), "target lines are not in column-then-top-to-bottom order"
    left = [box for column, box in placed if column == 0]
    right = [box for column, box in placed if column == 1]
    assert max(b[2] for b in left) <= min(b[0] for b in right)
    # The first target line is drawn at the top of the left column.
    first = meta["line_boxes"][0]
    assert first[1] == min(b[1] for b in left) and first[0] < right[0][0]
    check_lines_match_layout(sample)


def test_nothing_is_drawn_outside_the_line_boxes() -> None:
    sample = render(4, lang="en", justify_prob=1.0)
    check_lines_match_layout(sample)
    image = np.asarray(sample.images[0].convert("RGB"), dtype=np.int16).copy()
    for x0, y0, x1, y1 in sample.meta["line_boxes"]:
        image[max(0, y0 - 4):y1 + 4, max(0, x0 - 4):x1 + 4] = sample.meta["paper"]
    assert np.abs(image - np.array(sample.meta["paper"])).max() <= 60


def test_same_seed_same_bytes_and_a_used_instance_equals_a_fresh_one() -> None:
    for options in ({"lang": "en"}, {"lang": "zh"}, {"slice": True}):
        used = TextPageRenderer(Options(**options))
        for seed in range(3):
            used.render(np.random.default_rng(seed))
        again = used.render(np.random.default_rng(11))
        fresh = TextPageRenderer(Options(**options)).render(np.random.default_rng(11))
        assert png(again) == png(fresh)
        assert (again.target, again.meta) == (fresh.target, fresh.meta)
    assert png(render(5, lang="en")) != png(render(6, lang="en"))


def test_mix_draws_both_languages() -> None:
    renderer = TextPageRenderer(Options(lang="mix", slice=True))
    langs = {renderer.render(np.random.default_rng(seed)).meta["lang"] for seed in range(12)}
    assert langs == {"en", "zh"}


def test_tight_line_slice_fills_its_image() -> None:
    for seed, lang in enumerate(("en", "zh", "en", "zh")):
        sample = render(seed, lang=lang, slice=True, slice_line_prob=1.0, slice_words=(1, 2))
        meta = sample.meta
        assert (meta["mode"], meta["crop"], meta["n_lines"]) == ("line", "tight", 1)
        assert "\n" not in sample.target and sample.target
        image = sample.images[0]
        ink = np.abs(np.asarray(image.convert("RGB"), dtype=np.int16) - np.array(meta["paper"])).max(axis=-1) > 60
        ys, xs = np.nonzero(ink)
        assert xs.max() - xs.min() + 1 >= 0.6 * image.width and ys.max() - ys.min() + 1 >= 0.4 * image.height
        assert meta["font_px"] >= 24


def test_slice_at_a_configured_size() -> None:
    for seed in range(4):
        sample = render(seed, lang="mix", slice=True, slice_size=(320, 96))
        assert sample.images[0].size == (320, 96) and sample.meta["crop"] == "fixed"
        check_lines_match_layout(sample)


def test_paragraph_slice_is_a_short_paragraph() -> None:
    for seed in range(4):
        sample = render(seed, lang="en", slice=True, slice_line_prob=0.0, slice_lines=(2, 4))
        assert sample.meta["mode"] == "paragraph" and 1 <= sample.meta["n_lines"] <= 4
        check_lines_match_layout(sample)


def test_a_character_no_font_has_is_rejected(tmp_path: Path) -> None:
    corpus = tmp_path / "text.txt"
    corpus.write_text("Hello \U0010fffd world, this is plain text.\n", encoding="utf-8")
    for options in ({"lang": "en"}, {"lang": "en", "slice": True, "slice_line_prob": 0.0}):
        renderer = TextPageRenderer(Options(**options), corpus)
        assert renderer.corpus is not None and len(renderer.corpus) == 1
        with pytest.raises(Reject) as err:
            renderer.render(np.random.default_rng(0))
        assert err.value.reason == "missing-glyph"


def test_validate_rechecks_glyphs_and_the_engine_rejects_blank_pages() -> None:
    renderer = TextPageRenderer(Options(lang="en", slice=True))
    sample = renderer.render(np.random.default_rng(0))
    with pytest.raises(Reject, match="missing-glyph"):
        renderer.validate(Sample(sample.images, sample.target + "中\U0010fffd", sample.meta))
    check_sample(sample)
    blank = ink_on_paper(Image.new("L", sample.images[0].size, 0), sample.meta["paper"], sample.meta["ink"])
    with pytest.raises(Reject, match="blank-image"):
        check_sample(Sample([blank], sample.target, sample.meta))
    with pytest.raises(Reject, match="empty-text"):
        renderer.validate(Sample(sample.images, " ", sample.meta))


def test_invisible_characters_are_normalised_away(tmp_path: Path) -> None:
    raw = "zero\u200bwidth soft\u00adhyphen\u00a0and\u3000spaces\ufeff\x07"
    assert normalise(raw) == "zerowidth softhyphen and spaces"
    corpus = tmp_path / "text.txt"
    corpus.write_text("Zero\u200bwidth and soft\u00adhyphen\u00a0text.\n", encoding="utf-8")
    sample = render(0, corpus, lang="en", slice=True, slice_line_prob=0.0)
    assert sample.target.replace("\n", " ") == "Zerowidth and softhyphen text."


def test_user_corpus_in_the_wrong_language_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "zh.txt"
    corpus.write_text("床前明月光，疑是地上霜。\n", encoding="utf-8")
    with pytest.raises(Reject, match="lang") as err:  # the corpus is read when drawn, not at start-up
        render(0, corpus, lang="en")
    assert err.value.reason == "no-passage-in-lang"
    assert render(0, corpus, lang="mix", slice=True).meta["lang"] == "zh"


def test_wrapping_keeps_every_word_and_the_width() -> None:
    face = fonts.pick_font(np.random.default_rng(0), "abc", script="latin")
    measure = Measure(fonts.load_font(face, 20))
    paragraph = (
        "It is a truth universally acknowledged, that a single man in possession of a good fortune "
        "must be in want of a wife."
    )
    lines = wrap_en(paragraph, measure, 150, 200)
    assert " ".join(lines) == paragraph and len(lines) > 3
    assert measure.line(lines[0]) <= 150 and all(measure.line(line) <= 200 for line in lines)
    zh_face = fonts.pick_font(np.random.default_rng(0), "中", script="cjk", regions=("sc", ""))
    zh = Measure(fonts.load_font(zh_face, 20))
    text = "子曰：《学而》时习之，不亦说乎？有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？"
    for width in range(60, 200, 10):
        zh_lines = wrap_zh(text, zh, width, width)
        assert "".join(zh_lines) == text
        assert not any(line[0] in NO_LINE_START or line[-1] in NO_LINE_END for line in zh_lines)


def test_palette_page_matches_antialiased_drawing_in_rgb() -> None:
    """The palette page decodes to the colours PIL's own RGB text drawing gives, within rounding."""
    font = fonts.load_font(fonts.FontFace.from_meta(render(7, lang="en").meta["font"]), 28)
    paper, ink = [242, 236, 214], [30, 22, 10]
    coverage = Image.new("L", (420, 60), 0)
    ImageDraw.Draw(coverage).text((8, 8), "Quartz glyph ~ jumps", font=font, fill=255)
    rgb = Image.new("RGB", coverage.size, tuple(paper))
    ImageDraw.Draw(rgb).text((8, 8), "Quartz glyph ~ jumps", font=font, fill=tuple(ink))
    decoded = np.asarray(ink_on_paper(coverage, paper, ink).convert("RGB"), dtype=np.int16)
    assert np.abs(decoded - np.asarray(rgb, dtype=np.int16)).max() <= 1
    assert len(np.unique(np.asarray(coverage))) > 20  # antialiased, not a two-colour page


def test_engine_histogram_of_a_palette_page_equals_the_converted_one() -> None:
    from pipelines.render.checks import grey_histogram

    for seed, options in ((1, {"lang": "zh"}), (2, {"slice": True})):
        page = render(seed, **options).images[0]
        assert page.mode == "P" and grey_histogram(page) == page.convert("L").histogram()


def region_and_page(seed: int, region: str) -> tuple[Sample, Sample]:
    """The fine-grained sample of ``seed`` and the whole-page sample of the same seed."""
    return render(seed, lang="en", regions={region: 1.0}), render(seed, lang="en")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_box_guided_page_reads_exactly_the_lines_in_its_box(seed: int) -> None:
    sample, page = region_and_page(seed, "box")
    meta = sample.meta
    assert meta["region"] == "box" and "color" not in meta
    assert np.array_equal(np.asarray(sample.images[0]), np.asarray(page.images[0]))  # the same page drawn
    page_lines = page.target.split("\n")
    chosen = meta["region_lines"]
    assert chosen == list(range(chosen[0], chosen[-1] + 1))  # consecutive lines ...
    assert len({page.meta["line_columns"][i] for i in chosen}) == 1  # ... of one column
    assert sample.target.split("\n") == [page_lines[i] for i in chosen]
    x0, y0, x1, y1 = meta["region_box_px"]
    for i, (a, b, c, d) in enumerate(meta["line_boxes"]):
        assert (a >= x0 and b >= y0 and c <= x1 and d <= y1) == (i in chosen)
    width, height = sample.images[0].size
    assert meta["box"] == [round(1000 * x0 / width), round(1000 * y0 / height), round(1000 * x1 / width),
                           round(1000 * y1 / height)]
    assert query_for_meta({**meta, "task": "ocr"}) == "[{}, {}, {}, {}] OCR: ".format(*meta["box"])


def test_colour_guided_page_frames_its_region_and_changes_nothing_else() -> None:
    sample, page = region_and_page(3, "color")
    meta = sample.meta
    assert meta["region"] == "color" and "box" not in meta and meta["color"] in FRAME_COLOURS
    assert query_for_meta({**meta, "task": "ocr"}) == f"[{meta['color']}] OCR: "
    framed = np.asarray(sample.images[0].convert("RGB")).astype(int)
    plain = np.asarray(page.images[0].convert("RGB")).astype(int)
    x0, y0, x1, y1 = meta["region_box_px"]
    frame = np.zeros(plain.shape[:2], dtype=bool)
    frame[y0 : y1 + 1, x0 : x1 + 1] = True
    w = meta["frame_px"]
    frame[y0 + w : y1 + 1 - w, x0 + w : x1 + 1 - w] = False
    assert (framed[frame] == FRAME_COLOURS[meta["color"]]).all()
    assert np.array_equal(framed[~frame], plain[~frame])
    assert sample.target.split("\n") == [page.target.split("\n")[i] for i in meta["region_lines"]]


def test_validate_rejects_a_region_that_does_not_hold_its_target() -> None:
    renderer = TextPageRenderer(Options(lang="en", regions={"box": 1.0}))
    sample = renderer.render(np.random.default_rng(4))
    renderer.validate(sample)
    extra = Sample(sample.images, sample.target + "\nanother line", sample.meta)
    with pytest.raises(Reject, match="region-mismatch"):
        renderer.validate(extra)
    moved = {**sample.meta, "box": [v + 5 for v in sample.meta["box"]]}
    with pytest.raises(Reject, match="region-mismatch"):
        renderer.validate(Sample(sample.images, sample.target, moved))
    assert scaled_box([0, 0, 850, 1100], (850, 1100)) == [0, 0, 1000, 1000]


def test_regions_are_for_pages_only() -> None:
    with pytest.raises(ValueError, match="regions"):
        Options(slice=True, regions={"page": 0.5, "box": 0.5})
    with pytest.raises(ValueError):
        Options(regions={"page": 1.0, "boxes": 1.0})  # unknown region kind


def test_large_pages_for_multi_crop_carry_crops_and_its_prompt() -> None:
    sample = render(0, lang="en", crops=6, page_width=(2000, 2100), page_height=(2600, 2700), font_px=(24, 30))
    assert sample.meta["crops"] == 6 and sample.meta["region"] == "page"
    assert min(sample.images[0].size) >= 2000
    assert query_for_meta({**sample.meta, "task": "ocr"}) == "OCR with format upon the patch reference: "
    with pytest.raises(ValueError, match="crops"):
        Options(crops=4, regions={"page": 0.5, "box": 0.5})
    with pytest.raises(ValueError, match="crops"):
        Options(crops=4, slice=True)
