"""Shaped text for the scripts that need it (Arabic, Hebrew, the Indic scripts, Thai: see
:mod:`corpora.langs`): fonts laid out by HarfBuzz, and the check that shaping found a glyph.

Drawing goes through Pillow's libraqm layout (``ImageFont.Layout.RAQM``: FriBiDi for the
bidirectional order, HarfBuzz for joined forms, conjuncts and mark placement), the same FreeType
rasteriser as every other text gotforge draws. Scripts that need no shaping keep Pillow's basic
layout (:func:`renderers.backends.fonts.load_font`), so Latin, Cyrillic, Greek and CJK pages are
drawn as before whatever the machine's libraqm.

A character the font's cmap maps can still shape to glyph 0 (``.notdef``, the tofu box), and a
sequence the font cannot join is drawn from fallback glyphs: :func:`notdef_chars` shapes the text
with HarfBuzz itself (``uharfbuzz``) and returns the characters whose clusters hold glyph 0, which
renderers reject as ``missing-glyph`` beside the cmap check.
"""

from __future__ import annotations

import functools

import uharfbuzz as hb
from PIL import ImageFont, features

from corpora.langs import Script
from renderers.backends import fonts


def has_raqm() -> bool:
    return bool(features.check("raqm"))


@functools.lru_cache(maxsize=256)
def _raqm(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    if not has_raqm():
        raise RuntimeError("shaping right-to-left and Indic text needs Pillow's libraqm layout: install Pillow's "
                           "wheel and Debian's libfribidi0 (make setup), then check PIL.features.check('raqm')")
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)


def font_for(face: fonts.FontFace, size: int, script: Script) -> ImageFont.FreeTypeFont:
    """A Pillow font for ``face`` at ``size`` px: shaped by HarfBuzz (raqm) when ``script`` needs it,
    else the basic layout every unshaped page uses."""
    if script.shaped:
        return _raqm(face.path, face.index, int(size))
    return fonts.load_font(face, size)


def direction(script: Script) -> str:
    return "rtl" if script.rtl else "ltr"


@functools.lru_cache(maxsize=64)
def hb_font(path: str, index: int) -> hb.Font:
    """HarfBuzz's font for one face of a file (kept: loading a CJK collection takes a while)."""
    return hb.Font(hb.Face(hb.Blob.from_file_path(path), index))


def shape(face: fonts.FontFace, text: str, lang: str, script: Script) -> list[tuple[int, int]]:
    """HarfBuzz's glyphs for ``text``: ``(glyph id, cluster)`` in visual order, as drawn (right to left
    text comes out reversed), with the direction of ``script`` and the language ``lang``."""
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.direction = direction(script)
    buf.language = lang
    hb.shape(hb_font(face.path, face.index), buf)
    return [(info.codepoint, info.cluster) for info in buf.glyph_infos]


def notdef_chars(face: fonts.FontFace, text: str, lang: str, script: Script) -> set[str]:
    """Characters of ``text`` whose shaped clusters hold glyph 0 (``.notdef``) in ``face``."""
    missing: set[str] = set()
    for line in text.split("\n"):
        glyphs = shape(face, line, lang, script)
        starts = sorted({cluster for _, cluster in glyphs})
        ends = dict(zip(starts, starts[1:] + [len(line)], strict=True))
        for gid, cluster in glyphs:
            if gid == 0:  # clusters are character indices (uharfbuzz adds the text as code points)
                missing.update(line[cluster:ends[cluster]].strip())
    return missing
