"""Scene text in other scripts: fonts made for the language, shaped right-to-left masks, reading
order right to left within a row."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from corpora import langs
from renderers.backends import fonts, shaping
from renderers.base import Reject
from renderers.scene_text import Options, SceneTextRenderer, geometry


@pytest.mark.parametrize(("lang", "word"), [("ar", "Arabic"), ("hi", "Devanagari"), ("ru", "")])
def test_instances_are_in_faces_made_for_the_language(lang: str, word: str) -> None:
    renderer = SceneTextRenderer(Options(lang=lang))
    sample = None
    for seed in range(6):  # some images keep no instance (low contrast everywhere): the next seed
        try:
            sample = renderer.render(np.random.default_rng(seed))
            break
        except Reject:
            continue
    assert sample is not None
    renderer.validate(sample)
    assert sample.meta["lang"] == lang
    for inst in sample.meta["instances"]:
        assert word in inst["font"]["family"]
        assert langs.detect_script(inst["text"]) == langs.LANG_SCRIPT[lang]


def test_an_arabic_mask_is_shaped_right_to_left() -> None:
    face = next(f for f in fonts.installed_faces() if f.family == "Noto Naskh Arabic" and f.regular)
    text = "السلام عليكم"
    mask = geometry.text_mask(face, 48, text, 0.0)
    script = langs.SCRIPTS["arabic"]
    font = shaping.font_for(face, 48, script)
    def ink(font, **how) -> np.ndarray:
        canvas = Image.new("L", (600, 120), 0)
        ImageDraw.Draw(canvas).text((20, 20), text, font=font, fill=255, **how)
        pixels = np.asarray(canvas)
        ys, xs = np.nonzero(pixels)
        return pixels[ys.min():ys.max() + 1, xs.min():xs.max() + 1]

    inner = mask[geometry.PAD:-geometry.PAD, geometry.PAD:-geometry.PAD]
    assert np.array_equal(inner, ink(font, direction="rtl"))  # HarfBuzz's joined forms, right to left
    unshaped = ink(fonts.load_font(face, 48))  # characters one by one, left to right, unjoined
    assert inner.shape != unshaped.shape or not np.array_equal(inner, unshaped)


def test_a_right_to_left_row_reads_from_the_right() -> None:
    left = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    right = left + [50, 0]
    assert geometry.reading_order([left, right]) == [0, 1]
    assert geometry.reading_order([left, right], rtl=True) == [1, 0]


def test_languages_by_weight_and_unknown_ones() -> None:
    renderer = SceneTextRenderer(Options(lang={"en": 1.0, "ar": 1.0}, instances=(3, 6)))
    assert {renderer.render(np.random.default_rng(seed)).meta["lang"] for seed in range(8)} == {"en", "ar"}
    with pytest.raises(ValueError, match="built-in"):
        Options(lang="sw")
