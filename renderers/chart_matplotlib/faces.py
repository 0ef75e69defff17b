"""The font faces of matplotlib charts: which faces a chart may use, the face picked to cover a
chart's text, and the alias families that make matplotlib draw with exactly that face.

Faces come from :mod:`renderers.backends.fonts` (English: the families in ``EN_FAMILIES``;
Chinese: ``fonts.pick_font`` over simplified-Chinese CJK faces). A face is used only when it covers
every character the chart draws, else the sample is rejected with ``missing-glyph``, and
matplotlib is pointed at exactly that face through an alias family registered at construction
(:func:`register_alias`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib import font_manager

from corpora.charts import Chart
from renderers.backends import fonts
from renderers.base import Reject

# Families of English charts. Chinese charts take any simplified-Chinese (or region-less) CJK sans
# or serif face through fonts.pick_font.
EN_FAMILIES = (
    "DejaVu Sans",
    "DejaVu Serif",
    "Liberation Sans",
    "Liberation Serif",
    "Liberation Sans Narrow",
    "FreeSerif",
    "Carlito",
    "Caladea",
    "Linux Libertine O",
    "Linux Biolinum O",
    "Nimbus Sans",
    "URW Gothic",
    "C059",
    "P052",
)
ZH_STYLES = {"sans": 0.6, "serif": 0.4}
ZH_REGIONS = ("sc", "")
# Characters of numbers on ticks and value labels, which every font must also cover.
NUMBER_CHARS = "0123456789.,-−+e%×"

FacePair = tuple[fonts.FontFace, fonts.FontFace]  # (regular, bold)


def installed_faces() -> tuple[list[FacePair], dict[fonts.FontFace, fonts.FontFace]]:
    """The (regular, bold) faces of the installed English families, and the bold face of every
    regular face a chart may use (English and Chinese), each pair registered under its alias."""
    en_fonts = [pair for family in EN_FAMILIES if (pair := family_pair(family)) is not None]
    if not en_fonts:
        raise RuntimeError(f"none of the fonts {EN_FAMILIES} is installed; install fonts-dejavu")
    zh = fonts.faces("cjk", styles=ZH_STYLES, regions=ZH_REGIONS, regular=True)
    bold = {regular: bold for regular, bold in en_fonts}
    bold.update({face: bold_of(face, "cjk") for face in zh})
    for regular, bold_face in bold.items():
        register_alias(regular, bold_face)
    return en_fonts, bold


def pick_faces(
    rng: np.random.Generator,
    chart: Chart,
    lang: str,
    en_fonts: list[FacePair],
    bold: dict[fonts.FontFace, fonts.FontFace],
) -> FacePair:
    """A regular face of ``lang`` (else of the other language) that covers every character the
    chart draws, and its bold face (the regular one again where the bold lacks a title glyph)."""
    text = "".join(chart.texts()) + NUMBER_CHARS
    for pick_lang in (lang, "zh" if lang == "en" else "en"):
        if pick_lang == "en":
            order = rng.permutation(len(en_fonts))
            regular = next((en_fonts[i][0] for i in order if fonts.covers(en_fonts[i][0], text)), None)
        else:
            try:
                regular = fonts.pick_font(rng, text, script="cjk", styles=ZH_STYLES, regions=ZH_REGIONS)
            except fonts.MissingGlyphs:
                regular = None
        if regular is not None:
            bold_face = bold[regular]
            return regular, bold_face if fonts.covers(bold_face, chart.title) else regular
    missing = set.intersection(*(fonts.missing_glyphs(face, text) for face in bold))
    raise Reject("missing-glyph", "no installed font covers " + "".join(sorted(missing))[:40])


def family_pair(family: str) -> tuple[fonts.FontFace, fonts.FontFace] | None:
    """The regular face of an installed Latin ``family`` (upright, weight nearest 400, not condensed)
    and its bold face, or None when the family is not installed."""
    regular = [f for f in fonts.faces("latin", regular=True) if f.family == family]
    if not regular:
        return None
    face = min(regular, key=lambda f: (abs(f.weight - 400), "condensed" in f.subfamily.lower(), f))
    return face, bold_of(face, "latin")


def bold_of(regular: fonts.FontFace, script: str) -> fonts.FontFace:
    """The boldest upright face (600 or more) of ``regular``'s family and width, else ``regular``."""
    condensed = "condensed" in regular.subfamily.lower()
    bolds = [
        f
        for f in fonts.faces(script)
        if f.family == regular.family
        and not f.italic
        and f.weight >= 600
        and ("condensed" in f.subfamily.lower()) == condensed
    ]
    return max(bolds, key=lambda f: (f.weight, f), default=regular)


def alias(face: Mapping[str, Any] | fonts.FontFace) -> str:
    """The family name under which matplotlib finds exactly this face (and its bold)."""
    if isinstance(face, fonts.FontFace):
        face = face.to_meta()
    return f"gotforge {face['family']} {face['subfamily']} {face['index']}"


def register_alias(regular: fonts.FontFace, bold: fonts.FontFace) -> None:
    """Register ``regular`` and ``bold`` with matplotlib under one alias family, as its "normal"
    and "bold" weights (the same face twice where the family has no bold).

    matplotlib picks a font by family name and weight among every installed face, and a family
    name does not single out a face (DejaVu Sans has a condensed face of the same weight, and the
    Noto CJK collections hold five regions' faces), while ``FontProperties(fname=...)`` loses a
    collection's face index and tick labels take no font properties. An alias family of exactly
    the two faces the glyph coverage was checked on makes ``font.family`` exact. Registering is
    idempotent and adds names no one else uses; it runs at construction, never per sample. Each
    alias entry goes first in the font list, so a lookup that misses matplotlib's cache stops at it
    instead of scoring every installed face.
    """
    name = alias(regular)
    manager = font_manager.fontManager
    have = {(e.name, e.weight) for e in manager.ttflist if e.name.startswith("gotforge ")}
    added = False
    for weight, face in (("normal", regular), ("bold", bold)):
        if (name, weight) not in have:
            entry = font_manager.FontEntry(
                fname=face.path, index=face.index, name=name, weight=weight, size="scalable"
            )
            # At the front: a lookup stops at the first exact match (named weights score 0, numbers
            # never do), and no other family matches the alias.
            manager.ttflist.insert(0, entry)
            added = True
    if added:
        manager._findfont_cached.cache_clear()
