"""Installed fonts: discovery, grouping by script and style, glyph coverage, and picking a font.

Shared by every renderer that draws text with PIL (text pages, charts, ...). It follows the
OpenType spec for what it reads (fontTools docs): the ``name`` table for family and subfamily,
``OS/2`` for weight, italic bit, PANOSE and code-page bits, ``post`` for fixed pitch, and the best
Unicode ``cmap`` subtable for coverage.

* Discovery scans the font folders once per process (sorted paths, so the same fonts give the same
  order, and the same rng the same pick, on every machine). ``.ttc`` collections yield one
  :class:`FontFace` per face index. Type 1 fonts (``.pfb``) are skipped: URW base35 ships the
  same faces as ``.otf``.
* Coverage is the set of codepoints in a face's cmap, read with fontTools once per face and kept
  as a ``frozenset``. CJK faces (flagged by their OS/2 code-page bits) are read lazily, on first
  use, because each holds ~65k codepoints (~0.1 s apiece); the rest are read at discovery to
  classify them (~0.4 s for ~400 faces here, so no on-disk cache).
* ``script`` is ``latin`` (cmap has ASCII letters and digits), ``cjk`` (common hanzi or CJK
  code pages) or ``other`` (other scripts, symbol, math and decorative faces).
* ``style`` is ``serif``, ``sans`` or ``mono``, from fixed pitch, the family name and PANOSE; or
  ``hand`` for the handwriting families Debian packages (:data:`_HAND`), which a renderer picks
  only when it asks for that style by name, so installing them changes no printed page.

:func:`pick_font` draws a family (weighted by style, uniform within a style) in an rng-ordered
sequence and returns the first face that covers the whole text, so only the cmaps it needs are
read. ``"\\n"`` is never drawn and never needs a glyph; a space does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from fontTools.ttLib import TTCollection, TTFont, TTLibError
from PIL import ImageFont

from corpora import langs

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
STYLES = ("serif", "sans", "mono")
HAND = "hand"
SCRIPTS = ("latin", "cjk", "other")
NOT_DRAWN = frozenset("\n")

_LATIN_PROBE = frozenset(map(ord, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
_HAN_PROBE = frozenset(map(ord, "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"))
_CJK_CODE_PAGES = 0b1111 << 17  # OS/2 ulCodePageRange1 bits 17-20: JIS, GB 2312, Korean, Big5
_REGIONS = {"SC": "sc", "CN": "sc", "TC": "tc", "TW": "tc", "HK": "hk", "JP": "jp", "KR": "kr"}
# Faces whose letters are not letters (symbols, math, keycaps, drop caps, dingbats).
_NOT_TEXT = re.compile(r"symbol|math|emoji|music|keyboard|initials|dingbat|D050000L|Nushu", re.IGNORECASE)
# Handwriting and brush (Kai) families from Debian's fonts-dkg-handwriting, -comic-neue, -kristi,
# -dancingscript, -kaushanscript, -ecolier-court, -humor-sans, -femkeklaver, -breip, -lxgw-wenkai and
# -arphic-ukai. AR PL KaitiM stays serif: it was a printed-text face before these were installed.
_HAND = re.compile(r"handwriting|comic neue|kristi|dancing script|kaushan|ecolier|humor sans|femkeklaver|"
                   r"breip|wenkai|\bukai\b", re.IGNORECASE)
_MONO = re.compile(r"\bmono|courier|typewriter|\bcode\b", re.IGNORECASE)
_SERIF = re.compile(r"serif|roman|ming|song|\bkai", re.IGNORECASE)  # Ming/Song/Kai: CJK serif kinds
_SANS = re.compile(r"sans|gothic|\bhei\b|carlito|biolinum|grotesk|helvet|arial", re.IGNORECASE)


class MissingGlyphs(LookupError):
    """No candidate face covers the text. ``chars`` are those the closest candidate lacks."""

    def __init__(self, chars: set[str], candidates: int) -> None:
        shown = "".join(sorted(chars))[:20]
        codes = " ".join(f"U+{ord(c):04X}" for c in sorted(chars)[:8])
        super().__init__(f"no font among {candidates} candidates covers {shown!r} ({codes})")
        self.chars = chars


@dataclasses.dataclass(frozen=True, order=True)
class FontFace:
    """One face of an installed font file; ``dataclasses.asdict`` of it is what meta records."""

    path: str
    index: int  # face index inside a .ttc collection, 0 otherwise
    family: str
    subfamily: str
    style: str  # serif | sans | mono | hand
    script: str  # latin | cjk | other
    region: str  # CJK faces: sc | tc | hk | jp | kr, or "" when the name names none
    weight: int  # OS/2 usWeightClass
    italic: bool

    @property
    def regular(self) -> bool:
        """An upright face of normal weight (Light to Medium), the one body text uses."""
        return 300 <= self.weight <= 500 and not self.italic

    def to_meta(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> FontFace:
        return cls(**{f.name: meta[f.name] for f in dataclasses.fields(cls)})


def _open(path: str, index: int = 0) -> TTFont:
    if path.lower().endswith(".ttc"):
        return TTFont(path, fontNumber=index, lazy=True)
    return TTFont(path, lazy=True)


def _read_codepoints(tt: TTFont) -> frozenset[int]:
    # The cmap maps codepoints to glyph names; naming glyphs from 'post'/'CFF ' is most of the
    # parse time and coverage needs only the codepoints, so give the font placeholder names.
    tt.setGlyphOrder([f"g{i}" for i in range(tt["maxp"].numGlyphs)])
    return frozenset(tt.getBestCmap() or ())


def _fixed_pitch(tt: TTFont) -> bool:
    # post.isFixedPitch is the uint32 at byte 12 of the table; read it raw, because decompiling
    # 'post' parses every glyph name (the slowest part of discovery otherwise).
    try:
        raw = tt.reader["post"]
    except KeyError:
        return False
    return len(raw) >= 16 and struct.unpack(">I", raw[12:16])[0] != 0


def _style(family: str, tt: TTFont, cjk: bool) -> str:
    """hand / mono / serif / sans from the family name first, then the fixed-pitch flag and PANOSE."""
    if _HAND.search(family):
        return HAND
    if _MONO.search(family):
        return "mono"
    if _SERIF.search(family):
        return "serif"
    if _SANS.search(family):
        return "sans"
    os2 = tt.get("OS/2")
    panose = os2.panose if os2 is not None else None
    # CJK faces are fixed pitch for their ideographs whatever their Latin: trust the name only.
    if not cjk and (_fixed_pitch(tt) or (panose is not None and panose.bProportion == 9)):
        return "mono"
    if panose is not None and panose.bFamilyType == 2 and 11 <= panose.bSerifStyle <= 13:
        return "sans"
    return "serif"


def _describe(
    path: str, index: int, tt: TTFont, codepoints: dict[tuple[str, int], frozenset[int]]
) -> FontFace:
    names = tt["name"]
    family = names.getBestFamilyName() or Path(path).stem
    subfamily = names.getBestSubFamilyName() or "Regular"
    os2 = tt.get("OS/2")
    weight = int(os2.usWeightClass) if os2 is not None else 400
    italic = bool(os2.fsSelection & 1) if os2 is not None else "italic" in subfamily.lower()
    cjk_pages = os2 is not None and os2.version >= 1 and bool(os2.ulCodePageRange1 & _CJK_CODE_PAGES)
    if _NOT_TEXT.search(family):
        script = "other"
    elif cjk_pages or "CJK" in family:
        script = "cjk"  # cmap read on first use
    else:
        cps = codepoints[(path, index)] = _read_codepoints(tt)
        script = "cjk" if _HAN_PROBE <= cps else "latin" if _LATIN_PROBE <= cps else "other"
    region = next((_REGIONS[t] for t in family.split() if t in _REGIONS), "") if script == "cjk" else ""
    style = _style(family, tt, script == "cjk")
    return FontFace(path, index, family, subfamily, style, script, region, weight, italic)


_CODEPOINTS: dict[tuple[str, int], frozenset[int]] = {}


@functools.cache
def installed_faces(roots: tuple[str, ...] = FONT_DIRS) -> tuple[FontFace, ...]:
    """Every readable face under ``roots``, in sorted path then face-index order."""
    files = sorted(
        str(p) for root in roots if Path(root).is_dir()
        for p in Path(root).rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file()
    )
    faces: list[FontFace] = []
    for path in files:
        try:
            is_collection = path.lower().endswith(".ttc")
            opened = TTCollection(path, lazy=True) if is_collection else TTFont(path, lazy=True)
            with opened:
                fonts = opened.fonts if is_collection else [opened]
                faces.extend(_describe(path, i, tt, _CODEPOINTS) for i, tt in enumerate(fonts))
        except (TTLibError, OSError, KeyError, AssertionError, ValueError):
            continue  # a damaged or unsupported font file is not a reason to stop
    return tuple(faces)


def codepoints(face: FontFace) -> frozenset[int]:
    """The codepoints ``face`` maps to a glyph (read once per process)."""
    key = (face.path, face.index)
    cps = _CODEPOINTS.get(key)
    if cps is None:
        with _open(face.path, face.index) as tt:
            cps = _CODEPOINTS[key] = _read_codepoints(tt)
    return cps


def missing_glyphs(face: FontFace, text: str) -> set[str]:
    """Characters of ``text`` that ``face`` has no glyph for (newlines need none)."""
    cps = codepoints(face)
    return {ch for ch in set(text) - NOT_DRAWN if ord(ch) not in cps}


def covers(face: FontFace, text: str) -> bool:
    cps = codepoints(face)
    return all(ord(ch) in cps for ch in set(text) - NOT_DRAWN)


def faces(
    script: str | None = None,
    *,
    styles: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    regular: bool | None = None,
) -> list[FontFace]:
    """Installed faces filtered by script, style, CJK region and regular (upright, normal weight)."""
    styles_ = None if styles is None else set(styles)
    regions_ = None if regions is None else set(regions)
    return [
        f for f in installed_faces()
        if (script is None or f.script == script)
        and (styles_ is None or f.style in styles_)
        and (regions_ is None or f.region in regions_)
        and (regular is None or f.regular == regular)
    ]


def pick_font(
    rng: np.random.Generator,
    text: str,
    *,
    script: str,
    styles: Mapping[str, float] | None = None,
    regions: Iterable[str] | None = None,
    regular: bool | None = True,
) -> FontFace:
    """A face of ``script`` that covers every character of ``text``.

    ``styles`` weights the styles (``{"serif": 0.5, "sans": 0.4, "mono": 0.1}``; ``None``: equal);
    within a style every family is equally likely, within a family every face. Raises
    :class:`MissingGlyphs` when no candidate covers the text.
    """
    weights = dict(styles) if styles is not None else dict.fromkeys(STYLES, 1.0)
    wanted = [s for s, w in weights.items() if w > 0]
    return pick_among(rng, text, faces(script, styles=wanted, regions=regions, regular=regular), weights)


def pick_among(rng: np.random.Generator, text: str, candidates: list[FontFace],
               weights: Mapping[str, float]) -> FontFace:
    """The first face covering ``text`` in an rng-drawn order of ``candidates``' families (weighted
    by style, uniform within a style), then of a family's faces; :class:`MissingGlyphs` if none."""
    families: dict[tuple[str, str], list[FontFace]] = {}
    for face in candidates:
        families.setdefault((face.style, face.family), []).append(face)
    if not families:
        raise MissingGlyphs(set(text) - NOT_DRAWN, 0)
    keys = sorted(families)
    per_style = {s: sum(1 for k in keys if k[0] == s) for s in weights}
    p = np.array([weights[s] / per_style[s] for s, _ in keys])
    order = rng.choice(len(keys), size=len(keys), replace=False, p=p / p.sum())
    best: set[str] | None = None
    for k in order:
        members = families[keys[int(k)]]
        for j in rng.permutation(len(members)):
            missing = missing_glyphs(members[int(j)], text)
            if not missing:
                return members[int(j)]
            if best is None or len(missing) < len(best):
                best = missing
    raise MissingGlyphs(best or set(), len(candidates))


def lang_faces(lang: str, styles: Iterable[str], regular: bool | None = True) -> list[FontFace]:
    """The installed faces made for ``lang``'s script (:mod:`corpora.langs`), of ``styles``: for
    Chinese, Japanese and Korean the CJK faces of its region (``sc``/none, ``jp``, ``kr``); for a
    script with fonts of its own the families naming it (Noto Naskh Arabic, Noto Sans Devanagari,
    ...); else the Latin faces (Latin, Cyrillic and Greek share them; coverage then decides).
    Handwriting (``hand``) is a style of the unshaped scripts (it is written glyph by glyph, which
    would break a shaped script's joins): the CJK handwriting faces for Chinese and Japanese, the
    Latin ones for Latin-script languages, any for the others (only Kai faces have Cyrillic)."""
    script = langs.script_for(lang)
    styles = set(styles)
    printed = styles - {HAND}
    found: list[FontFace] = []
    if printed:
        if lang in langs.CJK_REGIONS:
            found = faces("cjk", styles=printed, regions=langs.CJK_REGIONS[lang], regular=regular)
        elif script.fonts:
            found = [f for f in installed_faces() if script.fonts in f.family and f.style in printed
                     and not _NOT_TEXT.search(f.family) and (regular is None or f.regular == regular)]
        else:
            found = faces("latin", styles=printed, regular=regular)
    if HAND in styles and not script.shaped:
        group = "cjk" if lang in langs.CJK_REGIONS else "latin" if script.name == "latin" else None
        found += [f for f in faces(group, styles=(HAND,), regular=regular)]
    return found


def font_for_lang(rng: np.random.Generator, text: str, lang: str, styles: Mapping[str, float],
                  regular: bool | None = True) -> FontFace:
    """A face made for ``lang`` that covers ``text``, its family drawn by ``styles``' weights among the
    styles ``lang`` has faces in (a script without a wanted style's faces, such as Arabic without
    monospace, draws among its other styles; a text no handwriting face covers, among the printed
    ones). :class:`MissingGlyphs` when no face covers the text."""
    wanted = {s: w for s, w in styles.items() if w > 0}
    printed = {s: w for s, w in wanted.items() if s != HAND} or dict.fromkeys(STYLES, 1.0)
    error: MissingGlyphs | None = None
    for weights in (wanted, printed) if HAND in wanted else (wanted,):
        candidates = lang_faces(lang, weights, regular)
        if not candidates:
            weights = dict.fromkeys(STYLES, 1.0)
            candidates = lang_faces(lang, weights, regular)
        try:
            return pick_among(rng, text, candidates, weights)
        except MissingGlyphs as err:
            error = err
    script = langs.script_for(lang)
    if script.fonts and lang not in langs.CJK_REGIONS:
        # A script's own families may lack the Latin punctuation its texts use (Noto Sans Hebrew has no
        # ',.?'); the broad Latin faces that also draw the script (DejaVu, FreeFont) are the fallback.
        with contextlib.suppress(MissingGlyphs):
            return pick_among(rng, text, faces("latin", styles=list(printed), regular=regular), printed)
    assert error is not None
    raise error


@functools.lru_cache(maxsize=512)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


def load_font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    """A PIL FreeType font for ``face`` at ``size`` px, cached (fonts are immutable once built).

    Uses PIL's basic layout (no shaping): identical on every machine whether or not libraqm is
    installed, and faster; fine for Latin and Han text.
    """
    return _load(face.path, face.index, int(size))


_INK: dict[tuple[str, int], dict[str, bool]] = {}


def inkless(face: FontFace, text: str) -> set[str]:
    """Characters of ``text`` (other than spaces and newlines) whose glyph in ``face`` draws nothing."""
    seen = _INK.setdefault((face.path, face.index), {})
    font = None
    for ch in set(text) - NOT_DRAWN - {" "}:
        if ch not in seen:
            font = font or load_font(face, 32)
            seen[ch] = font.getmask(ch).getbbox() is not None
    return {ch for ch in set(text) - NOT_DRAWN - {" "} if not seen[ch]}
