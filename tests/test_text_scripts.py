"""Text pages in other scripts: shaping (checked against HarfBuzz itself, through uharfbuzz),
direction, fonts chosen for the language, the language recorded, and glyphs missing from a font."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import uharfbuzz as hb
from PIL import Image, ImageDraw

from corpora import langs
from corpora.text import default_passages
from renderers.backends import fonts, shaping
from renderers.base import Reject, Sample
from renderers.text_page import Options, TextPageRenderer

ARABIC = "قال الحكيم إن العلم نور والجهل ظلام."
DEVANAGARI = "क्षत्रिय विद्वान् श्रद्धा से प्रार्थना करते हैं।"
SUPERSAMPLE = 4


def slice_of(tmp_path: Path, text: str, lang: str, **options: object) -> tuple[TextPageRenderer, Sample]:
    """``text`` drawn as a one-paragraph slice from a user corpus, validated."""
    corpus = tmp_path / f"{lang}.txt"
    corpus.write_text(text + "\n", encoding="utf-8")
    renderer = TextPageRenderer(Options(lang=lang, slice=True, slice_line_prob=0.0, slice_lines=(1, 1),
                                        slice_font_px=(40, 40), **options), corpus)
    sample = renderer.render_item(renderer.corpus.item(0), np.random.default_rng(0))[0]
    renderer.validate(sample)
    return renderer, sample


class _Outline:
    """A pen (fontTools' protocol, which uharfbuzz draws into) that flattens a glyph's contours."""

    def __init__(self, dx: float, dy: float, scale: float) -> None:
        self.dx, self.dy, self.scale = dx, dy, scale
        self.contours: list[list[tuple[float, float]]] = []

    def _point(self, p: tuple[float, float]) -> tuple[float, float]:
        return (self.dx + p[0] * self.scale) * SUPERSAMPLE, (self.dy - p[1] * self.scale) * SUPERSAMPLE

    def moveTo(self, p):
        self.contours.append([self._point(p)])

    def lineTo(self, p):
        self.contours[-1].append(self._point(p))

    def qCurveTo(self, *points):
        start = self.contours[-1][-1]
        pts = [self._point(p) for p in points]
        controls, end = pts[:-1], pts[-1]
        # implied on-curve points between consecutive off-curve ones (TrueType)
        segments = []
        for i, c in enumerate(controls):
            nxt = end if i == len(controls) - 1 else ((c[0] + controls[i + 1][0]) / 2, (c[1] + controls[i + 1][1]) / 2)
            segments.append((c, nxt))
        for c, e in segments:
            for t in np.linspace(0, 1, 9)[1:]:
                self.contours[-1].append(((1 - t) ** 2 * start[0] + 2 * (1 - t) * t * c[0] + t * t * e[0],
                                          (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * c[1] + t * t * e[1]))
            start = e

    def curveTo(self, *points):
        p0 = self.contours[-1][-1]
        p1, p2, p3 = (self._point(p) for p in points)
        for t in np.linspace(0, 1, 12)[1:]:
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3
            self.contours[-1].append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                                      a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))

    def closePath(self):
        pass

    endPath = closePath


def harfbuzz_reference(face: fonts.FontFace, text: str, lang: str, rtl: bool, size: tuple[int, int],
                       origin: tuple[float, float], font_px: int, each_char: bool = False) -> np.ndarray:
    """``text`` shaped by HarfBuzz and drawn at HarfBuzz's own advances and offsets from the pen
    ``origin`` (left end of the baseline), the outlines filled by the non-zero rule: a boolean mask.
    ``each_char``: every character shaped alone (no joining), as an unshaped layout would draw it."""
    font = shaping.hb_font(face.path, face.index)
    scale = font_px / font.face.upem
    glyphs: list[tuple[int, float, float, float]] = []  # gid, x advance, x offset, y offset (font units)
    pieces = list(text) if each_char else [text]
    for piece in (reversed(pieces) if rtl and each_char else pieces):
        buf = hb.Buffer()
        buf.add_str(piece)
        buf.guess_segment_properties()
        buf.direction = "rtl" if rtl else "ltr"
        buf.language = lang
        hb.shape(font, buf)
        glyphs += [(info.codepoint, pos.x_advance, pos.x_offset, pos.y_offset)
                   for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True)]
    width, height = size
    winding = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), dtype=np.int16)
    x = 0.0
    for gid, advance, x_off, y_off in glyphs:
        pen = _Outline(origin[0] + (x + x_off) * scale, origin[1] - y_off * scale, 1.0 * scale)
        font.draw_glyph_with_pen(gid, pen)
        for contour in pen.contours:
            if len(contour) < 3:
                continue
            xs, ys = np.array(contour).T
            area = 0.5 * float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))
            layer = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
            ImageDraw.Draw(layer).polygon(contour, fill=1)
            winding += np.asarray(layer, dtype=np.int16) * (1 if area > 0 else -1)
        x += advance
    filled = (winding != 0).reshape(height, SUPERSAMPLE, width, SUPERSAMPLE).mean(axis=(1, 3))
    return filled >= 0.5


def near(a: np.ndarray, b: np.ndarray) -> float:
    """The share of ``a``'s ink within a pixel of ``b``'s (FreeType's hinting moves edges by one)."""
    grown = cv2.dilate(b.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return float((a & grown).sum() / max(1, a.sum()))


def same_ink(a: np.ndarray, b: np.ndarray) -> float:
    return min(near(a, b), near(b, a))


@pytest.mark.parametrize(("text", "lang", "rtl"), [(ARABIC, "ar", True), (DEVANAGARI, "hi", False)])
def test_a_line_is_drawn_as_harfbuzz_shapes_it(tmp_path: Path, text: str, lang: str, rtl: bool) -> None:
    _, sample = slice_of(tmp_path, text, lang)
    meta = sample.meta
    assert sample.target == text and meta["lang"] == lang and meta["direction"] == ("rtl" if rtl else "ltr")
    face = fonts.FontFace.from_meta(meta["font"])
    assert langs.SCRIPTS[meta["script"]].fonts in face.family  # a face made for the script
    drawn = np.asarray(sample.images[0]) >= 128  # palette indices are ink coverage
    ascent = fonts.load_font(face, meta["font_px"]).getmetrics()[0]
    x0, y0, _, _ = meta["line_boxes"][0]
    size = sample.images[0].size
    pen = (x0, y0 + ascent)
    shaped = harfbuzz_reference(face, text, lang, rtl, size, pen, meta["font_px"])
    assert same_ink(drawn, shaped) > 0.99, "the drawn line is not HarfBuzz's glyphs at HarfBuzz's positions"
    # the comparison tells shaped text from unjoined characters and from the other direction
    assert same_ink(drawn, harfbuzz_reference(face, text, lang, rtl, size, pen, meta["font_px"], each_char=True)) < 0.7
    assert same_ink(drawn, harfbuzz_reference(face, text, lang, not rtl, size, pen, meta["font_px"])) < 0.8
    # glyph ids: no .notdef, and not the characters' nominal glyphs (joined forms, conjuncts)
    gids = [gid for gid, _ in shaping.shape(face, text, lang, langs.SCRIPTS[meta["script"]])]
    nominal = [shaping.hb_font(face.path, face.index).get_nominal_glyph(ord(c)) for c in text]
    assert 0 not in gids and gids != (nominal[::-1] if rtl else nominal)


def test_arabic_page_reads_right_to_left_flush_right(tmp_path: Path) -> None:
    renderer = TextPageRenderer(Options(lang="ar", columns=(0.0, 1.0), indent_prob=0.0, partial_page_prob=0.0))
    sample = renderer.render(np.random.default_rng(3))
    renderer.validate(sample)
    meta = sample.meta
    assert (meta["lang"], meta["script"], meta["direction"], meta["columns"]) == ("ar", "arabic", "rtl", 2)
    left, width, gap = meta["margins"][0], meta["column_width"], meta["column_gap"]
    for column, box in zip(meta["line_columns"], meta["line_boxes"], strict=True):
        right = left + (1 - column) * (width + gap) + width  # the first column read is the right one
        assert box[2] == right, f"line box {box} is not flush right at {right}"
    ink = np.asarray(sample.images[0]) >= 128
    for box in meta["line_boxes"]:  # each line's ink reaches its right edge, and no further
        cols = np.nonzero(ink[box[1]:box[3], box[0] - 3:box[2] + 3].any(axis=0))[0] + box[0] - 3
        assert box[2] - 6 <= cols.max() <= box[2] + 2
    # the full stop of a sentence-final line is its leftmost mark
    lines = sample.target.split("\n")
    k = next(i for i, line in enumerate(lines) if line.endswith(".") and " " in line)
    face, size = fonts.FontFace.from_meta(meta["font"]), meta["font_px"]
    font = shaping.font_for(face, size, langs.SCRIPTS["arabic"])
    stop_width = font.getlength(".")
    box = meta["line_boxes"][k]
    first_ink = np.nonzero(ink[box[1]:box[3], box[0]:box[2]].any(axis=0))[0].min()
    gap_after = np.nonzero(~ink[box[1]:box[3], box[0] + first_ink:box[2]].any(axis=0))[0].min()
    assert gap_after <= stop_width + 2, "the leftmost mark of the line is wider than a full stop"


def test_a_character_missing_from_the_font_is_rejected(tmp_path: Path) -> None:
    corpus = tmp_path / "ar.txt"
    corpus.write_text("مرحبا \U0010fffd بالعالم\n", encoding="utf-8")
    renderer = TextPageRenderer(Options(lang="ar"), corpus)
    with pytest.raises(Reject) as err:
        renderer.render(np.random.default_rng(0))
    assert err.value.reason == "missing-glyph"
    # validate checks the cmap, and what HarfBuzz shapes: a character mapped to .notdef rejects
    _, sample = slice_of(tmp_path, ARABIC, "ar")
    with pytest.raises(Reject, match="missing-glyph"):
        renderer.validate(Sample(sample.images, sample.target + "中", sample.meta))
    face = fonts.FontFace.from_meta(sample.meta["font"])
    assert shaping.notdef_chars(face, "سلام 中", "ar", langs.SCRIPTS["arabic"]) == {"中"}


def test_japanese_and_korean_use_their_own_cjk_faces(tmp_path: Path) -> None:
    for lang, region in (("ja", "jp"), ("ko", "kr")):
        sample = TextPageRenderer(Options(lang=lang)).render(np.random.default_rng(1))
        assert sample.meta["lang"] == lang and sample.meta["font"]["region"] == region
    corpus = tmp_path / "ja.txt"
    corpus.write_text("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n", encoding="utf-8")
    renderer = TextPageRenderer(Options(), corpus)  # lang mix: the language is the script's
    sample = renderer.render_item(renderer.corpus.item(0), np.random.default_rng(0))[0]
    assert sample.meta["lang"] == "ja" and sample.meta["font"]["region"] == "jp"


def test_russian_is_labelled_ru_and_drawn_in_a_face_with_cyrillic(tmp_path: Path) -> None:
    sample = TextPageRenderer(Options(lang="ru")).render(np.random.default_rng(0))
    assert sample.meta["lang"] == "ru" and sum("а" <= c <= "я" for c in sample.target) > 100
    corpus = tmp_path / "ru.txt"
    corpus.write_text("Москва — столица России. Привет, мир!\n", encoding="utf-8")
    renderer = TextPageRenderer(Options(), corpus)
    sample = renderer.render(np.random.default_rng(0))
    renderer.validate(sample)
    assert sample.meta["lang"] == "ru" and sample.meta["script"] == "cyrillic"
    assert fonts.covers(fonts.FontFace.from_meta(sample.meta["font"]), "абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


def test_hebrew_with_latin_punctuation_is_drawn_in_a_face_that_has_both() -> None:
    # Noto's Hebrew families lack ',.?', which Hebrew text uses; every built-in Hebrew page was refused.
    sample = TextPageRenderer(Options(lang="he")).render(np.random.default_rng(0))
    face = fonts.FontFace.from_meta(sample.meta["font"])
    assert sample.meta["lang"] == "he" and sum("\u05d0" <= c <= "\u05ea" for c in sample.target) > 100
    assert fonts.covers(face, sample.target) and fonts.covers(face, ",.?")


def test_a_user_corpus_takes_its_language_from_the_option(tmp_path: Path) -> None:
    corpus = tmp_path / "de.txt"
    corpus.write_text("Über allen Gipfeln ist Ruh.\n", encoding="utf-8")
    assert TextPageRenderer(Options(lang="de"), corpus).render(np.random.default_rng(0)).meta["lang"] == "de"
    assert TextPageRenderer(Options(), corpus).render(np.random.default_rng(0)).meta["lang"] == "en"


def test_languages_by_weight_draw_from_their_own_builtin_text() -> None:
    renderer = TextPageRenderer(Options(lang={"de": 1.0, "pl": 1.0, "hi": 1.0}, slice=True))
    seen: dict[str, set[str]] = {}
    for seed in range(24):
        sample = renderer.render(np.random.default_rng(seed))
        seen.setdefault(sample.meta["lang"], set()).add(sample.meta["script"])
    assert set(seen) == {"de", "pl", "hi"} and seen["hi"] == {"devanagari"}
    with pytest.raises(ValueError, match="built-in"):
        TextPageRenderer(Options(lang="sw"))  # Swahili: no built-in text, a user corpus is needed
    with pytest.raises(ValueError, match="ISO 639-1"):
        Options(lang="xx")


def test_the_builtin_text_covers_debian_fortunes_languages() -> None:
    for lang in ("ru", "de", "es", "it", "pl", "cs", "bg", "pt"):
        passage = " ".join(default_passages((lang,)).sample(np.random.default_rng(0)))
        assert langs.detect_script(passage) == langs.LANG_SCRIPT[lang], (lang, passage[:80])


def test_script_detection() -> None:
    assert [langs.detect_lang(t) for t in ("Hello", "Привет", "مرحبا", "नमस्ते", "こんにちは世界", "안녕", "你好 hi")] \
        == ["en", "ru", "ar", "hi", "ja", "ko", "zh"]
