"""Languages and the scripts they are written in: the table behind ``meta.lang`` (ISO 639-1), the
script of a text, and what drawing a script takes (direction, shaping, line breaking).

A text's script is the Unicode script of most of its letters (:func:`detect_script`; any kana makes
Japanese, any Hangul Korean, whatever the share of Han); a text whose language is not given is
labelled with its script's usual language (:data:`SCRIPT_LANG`: Latin → ``en``, Cyrillic → ``ru``,
Arabic → ``ar``, Devanagari → ``hi``, ...). A language given by name (a renderer's ``lang`` option)
must be in :data:`LANG_SCRIPT`, so its script, and so its fonts, are known.

Direction and shaping follow Unicode's bidirectional classes and HarfBuzz's complex shapers: Arabic
and Hebrew run right to left; Arabic, Hebrew points and the Indic and Thai scripts need
OpenType shaping (joined forms, conjuncts, reordered vowel signs); Han, kana and Thai are set without
spaces between words, so lines break between characters.
"""

from __future__ import annotations

import dataclasses
import unicodedata


@dataclasses.dataclass(frozen=True)
class Script:
    """One writing system: its letters' code-point ranges and how it is set."""

    name: str
    ranges: tuple[tuple[int, int], ...]
    rtl: bool = False
    shaped: bool = False  # needs OpenType shaping (HarfBuzz) to draw correctly
    spaced: bool = True  # words are separated by spaces, so lines break at spaces
    fonts: str = ""  # a word every family made for this script has in its name ("" : Latin faces)


SCRIPTS = {s.name: s for s in (
    Script("latin", ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF))),
    Script("cyrillic", ((0x400, 0x52F),)),
    Script("greek", ((0x370, 0x3FF), (0x1F00, 0x1FFF))),
    Script("arabic", ((0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
           rtl=True, shaped=True, fonts="Arabic"),
    Script("hebrew", ((0x590, 0x5FF), (0xFB1D, 0xFB4F)), rtl=True, shaped=True, fonts="Hebrew"),
    Script("devanagari", ((0x900, 0x97F), (0xA8E0, 0xA8FF)), shaped=True, fonts="Devanagari"),
    Script("bengali", ((0x980, 0x9FF),), shaped=True, fonts="Bengali"),
    Script("gurmukhi", ((0xA00, 0xA7F),), shaped=True, fonts="Gurmukhi"),
    Script("gujarati", ((0xA80, 0xAFF),), shaped=True, fonts="Gujarati"),
    Script("tamil", ((0xB80, 0xBFF),), shaped=True, fonts="Tamil"),
    Script("telugu", ((0xC00, 0xC7F),), shaped=True, fonts="Telugu"),
    Script("kannada", ((0xC80, 0xCFF),), shaped=True, fonts="Kannada"),
    Script("malayalam", ((0xD00, 0xD7F),), shaped=True, fonts="Malayalam"),
    Script("thai", ((0xE00, 0xE7F),), shaped=True, spaced=False, fonts="Thai"),
    Script("han", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F)), spaced=False),
    Script("kana", ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)), spaced=False),
    Script("hangul", ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))),
)}

# ISO 639-1 code -> script. Japanese is "kana" (its text mixes kana and Han), Chinese "han".
LANG_SCRIPT = {
    **dict.fromkeys(("en", "fr", "de", "es", "it", "pt", "nl", "pl", "cs", "sk", "sl", "hr", "bs", "sv", "da",
                     "nb", "nn", "no", "fi", "et", "lv", "lt", "hu", "ro", "tr", "eo", "ga", "ca", "eu", "gl",
                     "is", "id", "ms", "vi", "sq", "cy", "af", "sw", "tl", "la", "mt", "az", "uz"), "latin"),
    **dict.fromkeys(("ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg"), "cyrillic"),
    "el": "greek",
    **dict.fromkeys(("ar", "fa", "ur", "ps", "sd", "ug"), "arabic"),
    **dict.fromkeys(("he", "yi"), "hebrew"),
    **dict.fromkeys(("hi", "mr", "ne", "sa"), "devanagari"),
    **dict.fromkeys(("bn", "as"), "bengali"),
    "pa": "gurmukhi", "gu": "gujarati", "ta": "tamil", "te": "telugu", "kn": "kannada", "ml": "malayalam",
    "th": "thai", "zh": "han", "ja": "kana", "ko": "hangul",
}
SCRIPT_LANG = {"latin": "en", "cyrillic": "ru", "greek": "el", "arabic": "ar", "hebrew": "he",
               "devanagari": "hi", "bengali": "bn", "gurmukhi": "pa", "gujarati": "gu", "tamil": "ta",
               "telugu": "te", "kannada": "kn", "malayalam": "ml", "thai": "th", "han": "zh", "kana": "ja",
               "hangul": "ko"}
# Where a CJK language's faces come from: the region in the font's name ("" : faces naming none).
CJK_REGIONS = {"zh": ("sc", ""), "ja": ("jp",), "ko": ("kr",)}


def _table() -> list[tuple[int, int, str]]:
    return sorted((lo, hi, s.name) for s in SCRIPTS.values() for lo, hi in s.ranges)


_RANGES = _table()


def script_of_char(ch: str) -> str | None:
    """The script of one letter or mark, or None (digits, punctuation, symbols, unlisted scripts)."""
    code = ord(ch)
    for lo, hi, name in _RANGES:
        if lo <= code <= hi:
            return name
        if code < lo:
            return None
    return None


def detect_script(text: str) -> str:
    """The script of most of ``text``'s letters; Japanese (``kana``) if it holds any kana and Korean
    (``hangul``) if any Hangul, as those texts mix in Han; Han when a fifth of the letters are, as
    Chinese text quotes Latin words; ``latin`` for a text without letters."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha() or unicodedata.category(ch).startswith("M"):
            name = script_of_char(ch)
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
    if counts.get("kana"):
        return "kana"
    if counts.get("hangul"):
        return "hangul"
    if counts.get("han", 0) * 5 >= sum(counts.values()) > 0:
        return "han"
    return max(sorted(counts), key=counts.__getitem__) if counts else "latin"


def detect_lang(text: str) -> str:
    """The usual language of ``text``'s script (ISO 639-1)."""
    return SCRIPT_LANG[detect_script(text)]


def script_for(lang: str) -> Script:
    """The script ``lang`` is written in; a ``ValueError`` naming the known codes for another."""
    if lang not in LANG_SCRIPT:
        raise ValueError(f"unknown language {lang!r}: expected an ISO 639-1 code among {sorted(LANG_SCRIPT)}")
    return SCRIPTS[LANG_SCRIPT[lang]]


def fits(lang: str, text: str) -> bool:
    """Whether ``text`` is written in ``lang``'s script (Chinese text fits neither ``ja`` nor ``ko``)."""
    return detect_script(text) == LANG_SCRIPT[lang]
