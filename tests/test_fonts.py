"""renderers.backends.fonts against the fonts installed on this machine (no mocks)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from renderers.backends import fonts

PRIVATE_USE = "\U0010fffd"  # plane-16 private use: no installed font maps it


def _face(family: str, subfamily: str | None = None) -> fonts.FontFace:
    found = [
        f for f in fonts.installed_faces()
        if f.family == family and (subfamily is None or f.subfamily == subfamily)
    ]
    assert found, f"font {family} {subfamily or ''} is not installed: `make setup` installs it (APT_PACKAGES)"
    return found[0]


def test_discovery_is_sorted_and_grouped() -> None:
    faces = fonts.installed_faces()
    assert faces, "no font found under /usr/share/fonts"
    assert [(f.path, f.index) for f in faces] == sorted((f.path, f.index) for f in faces)
    assert {f.script for f in faces} <= set(fonts.SCRIPTS) and {f.style for f in faces} <= {*fonts.STYLES, fonts.HAND}
    assert fonts.faces("latin", regular=True), "no regular Latin face"
    assert fonts.faces("cjk", regions=("sc", ""), regular=True), "no Chinese face"


def test_styles_scripts_and_regions() -> None:
    assert _face("DejaVu Sans Mono", "Book").style == "mono"
    assert _face("DejaVu Serif", "Book").style == "serif"
    assert _face("DejaVu Sans", "Book").style == "sans"
    sc = _face("Noto Serif CJK SC", "Regular")
    assert (sc.script, sc.style, sc.region, sc.index) == ("cjk", "serif", "sc", 2)
    assert _face("Noto Sans Arabic").script == "other"
    # handwriting families are their own style, so no printed page picks them
    assert _face("Dancing Script", "Regular").style == "hand" and _face("AR PL UKai CN").style == "hand"
    assert _face("AR PL KaitiM GB").style == "serif"


def test_a_face_is_chosen_for_the_language() -> None:
    rng = np.random.default_rng(0)
    styles = {"serif": 0.5, "sans": 0.4, "mono": 0.1}
    assert fonts.font_for_lang(rng, "こんにちは", "ja", styles).region == "jp"
    assert fonts.font_for_lang(rng, "안녕하세요", "ko", styles).region == "kr"
    assert "Arabic" in fonts.font_for_lang(rng, "مرحبا", "ar", {"mono": 1.0}).family  # no Arabic mono: another style
    assert "Devanagari" in fonts.font_for_lang(rng, "नमस्ते", "hi", styles).family
    assert fonts.font_for_lang(rng, "Hello", "en", {"hand": 1.0}).style == "hand"
    assert fonts.font_for_lang(rng, "مرحبا", "ar", {"hand": 1.0}).style != "hand"  # shaped: printed faces


def test_face_round_trips_through_json_meta() -> None:
    face = _face("Noto Sans CJK SC", "Regular")
    assert fonts.FontFace.from_meta(json.loads(json.dumps(face.to_meta()))) == face


def test_coverage_and_missing_glyphs() -> None:
    dejavu = _face("DejaVu Sans", "Book")
    assert fonts.covers(dejavu, "Hello, world!\nÆsop — “quoted”")
    assert fonts.missing_glyphs(dejavu, "ab" + PRIVATE_USE + "中") == {PRIVATE_USE, "中"}
    assert fonts.covers(_face("Noto Sans CJK SC", "Regular"), "床前明月光，疑是地上霜。")


def test_chinese_text_picks_a_cjk_face_that_covers_it() -> None:
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    for seed in range(5):
        face = fonts.pick_font(np.random.default_rng(seed), text, script="cjk", regions=("sc", ""))
        assert face.script == "cjk" and face.region in ("sc", "") and fonts.covers(face, text)


def test_pick_is_deterministic_and_varied() -> None:
    text = "The quick brown fox."
    picks = [fonts.pick_font(np.random.default_rng(s), text, script="latin") for s in range(20)]
    again = [fonts.pick_font(np.random.default_rng(s), text, script="latin") for s in range(20)]
    assert picks == again
    assert len({f.family for f in picks}) >= 5
    assert all(f.regular and f.script == "latin" for f in picks)
    rngs = [np.random.default_rng(s) for s in range(5)]
    monos = [fonts.pick_font(rng, text, script="latin", styles={"mono": 1}) for rng in rngs]
    assert {f.style for f in monos} == {"mono"}


def test_uncovered_text_raises_missing_glyphs() -> None:
    with pytest.raises(fonts.MissingGlyphs) as err:
        fonts.pick_font(np.random.default_rng(0), "abc" + PRIVATE_USE, script="latin")
    assert err.value.chars == {PRIVATE_USE}


def test_inkless_finds_glyphs_that_draw_nothing() -> None:
    dejavu = _face("DejaVu Sans", "Book")
    assert 0x200B in fonts.codepoints(dejavu)  # mapped, but a zero-width space draws nothing
    assert fonts.inkless(dejavu, "a b\u200bc") == {"\u200b"}
