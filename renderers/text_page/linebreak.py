"""Text into lines: normalisation, advance widths, and greedy line breaking that never hyphenates.

English breaks at spaces; Chinese between any two characters (a Latin word inside Chinese stays
whole), keeping closing punctuation off line starts and opening brackets off line ends. A word
wider than the column is split between characters.
"""

from __future__ import annotations

import re
import unicodedata

from PIL import ImageFont

from corpora.langs import SCRIPTS, Script
from renderers.backends import fonts, shaping

# Closing punctuation a Chinese line must not start with, opening brackets it must not end with.
NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·,.;:?!)]}%")
NO_LINE_END = set("（《「『【〔〈“‘([{")
CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
ZH_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+|.", re.DOTALL)
_DEFAULT_IGNORABLE = re.compile("[\u034f\u180b-\u180d\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_SPACES = re.compile(r" {2,}")


def normalise(text: str) -> str:
    """NFC; Unicode spaces → " "; control, format and variation characters dropped; spaces collapsed."""
    out = []
    for ch in unicodedata.normalize("NFC", _DEFAULT_IGNORABLE.sub("", text)):
        cat = unicodedata.category(ch)
        if cat in ("Zs", "Zl", "Zp") or ch in "\t\n\r":
            out.append(" ")
        elif cat not in ("Cc", "Cf"):
            out.append(ch)
    return _SPACES.sub(" ", "".join(out)).strip()



class Measure:
    """Advance widths in one font, each distinct word or character measured once.

    Instances are shared per (face, size, shaping) across samples: a width is a pure function of
    them, so the cache changes speed, never output. ``line`` sums cached token widths (kerning across
    a space is ignored: at most a pixel or two; shaping never joins across a space). ``shaped``: the
    font is laid out by HarfBuzz (:mod:`renderers.backends.shaping`), so drawing it takes a direction.
    """

    MAX_ENTRIES = 50_000

    def __init__(self, font: ImageFont.FreeTypeFont, shaped: bool = False) -> None:
        self.font = font
        self.shaped = shaped
        self.cache: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        width = self.cache.get(text)
        if width is None:
            if len(self.cache) >= self.MAX_ENTRIES:
                self.cache.clear()
            width = self.cache[text] = self.font.getlength(text)
        return width

    def line(self, text: str) -> float:
        if CJK_CHAR.search(text):
            return sum(map(self, ZH_TOKEN.findall(text)))
        words = text.split(" ")
        return sum(map(self, words)) + self(" ") * (len(words) - 1)


_MEASURES: dict[tuple[str, int, int, bool], Measure] = {}


def measure_for(face: fonts.FontFace, size: int, script: Script = SCRIPTS["latin"]) -> Measure:
    """The shared :class:`Measure` of ``face`` at ``size`` px, shaped when ``script`` needs it."""
    key = (face.path, face.index, size, script.shaped)
    if key not in _MEASURES:
        if len(_MEASURES) >= 256:
            _MEASURES.clear()
        _MEASURES[key] = Measure(shaping.font_for(face, size, script), script.shaped)
    return _MEASURES[key]


def is_cjk(script: Script) -> bool:
    """Han and kana: set without spaces, broken between characters (:func:`wrap_zh`)."""
    return script.name in ("han", "kana")


def _hard_break(word: str, measure: Measure, width: float) -> list[str]:
    """Split a word wider than the column between characters (no hyphen is added), never before a
    combining mark (a vowel sign or virama stays with its consonant)."""
    pieces, current = [], ""
    for ch in word:
        if current and not unicodedata.category(ch).startswith("M") and measure(current + ch) > width:
            pieces.append(current)
            current = ""
        current += ch
    return pieces + [current]


def wrap_en(paragraph: str, measure: Measure, first: float, width: float) -> list[str]:
    """Greedy wrap at spaces; ``first`` is the first line's width (after the indent)."""
    lines: list[str] = []
    words: list[str] = []
    used = 0.0
    space = measure(" ")
    for word in paragraph.split(" "):
        limit = first if not lines else width
        w = measure(word)
        if words and used + space + w <= limit:
            words.append(word)
            used += space + w
            continue
        if words:
            lines.append(" ".join(words))
            limit = width
        if w > limit:
            *done, word = _hard_break(word, measure, limit)
            lines.extend(done)
            w = measure(word)
        words, used = [word], w
    if words:
        lines.append(" ".join(words))
    return lines


def wrap_zh(paragraph: str, measure: Measure, first: float, width: float) -> list[str]:
    """Greedy wrap between any two characters (Latin words kept whole). Closing punctuation is kept
    off line starts (the previous character comes down with it), opening brackets off line ends."""
    lines: list[list[str]] = []
    current: list[str] = []
    used = 0.0
    for token in ZH_TOKEN.findall(paragraph):
        limit = first if not lines else width
        w = measure(token)
        if not current or used + w <= limit or token == " ":
            current.append(token)
            used += w
            continue
        carry: list[str] = []
        if token in NO_LINE_START and len(current) > 1:
            carry = [current.pop()]
        while len(current) > 1 and current[-1] in NO_LINE_END:
            carry.insert(0, current.pop())
        lines.append(current)
        current = carry + [token]
        used = sum(measure(t) for t in current)
    if current:
        lines.append(current)
    return [text for text in ("".join(tokens).strip() for tokens in lines) if text]

