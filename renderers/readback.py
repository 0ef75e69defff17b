"""Reading a label back against what its back-end drew: the comparisons behind the renderers'
``validate`` (ARCHITECTURE.md, "The renderer contract").

A back-end's own account of a picture is spelled differently from a label's plain reading. PDF text
extraction puts spaces and line breaks wherever glyphs stand apart, may spell a ligature as one
character, draws a math minus, and has no ``^``, ``_``, ``/`` or the brackets a plain reading writes
around a root's radicand: scripts, fractions and roots are positions on the page, not characters.
:func:`skeleton` spells both sides alike by dropping exactly those; what is left (letters, digits,
operators, punctuation) must agree character for character. :func:`first_mismatch` walks a label's
pieces (a table's cells, row by row) through the drawn text in reading order; :func:`char_counts`
compares the characters of a figure's labels, in no order; :func:`word_counts` compares the letters
and digits of a formula, whose layout order is the typesetter's, not the source's.
"""

from __future__ import annotations

import collections
import dataclasses
import unicodedata
from collections.abc import Sequence

# Characters a plain reading writes for structure the page shows by position (scripts, fractions,
# roots), so they are left out of both sides.
STRUCTURE = frozenset("^_/()")
# One spelling for glyphs that print alike: TeX's math minus, its degree ring (\circ) and the text one,
# a prime and a closing quote.
_ALIKE = str.maketrans({"\u2212": "-", "\u2218": "°", "\u25e6": "°", "\u2032": "\u2019"})
# TeX's ligatures of ASCII quotes and dashes, which a plain reading leaves as typed and the page
# shows as the typographic character.
_TEX_LIGATURES = (("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"), ("`", "\u2018"),
                  ("'", "\u2019"))


def skeleton(text: str) -> str:
    """``text`` as compared: NFKC (ligatures split, ℝ → R), lookalikes merged, and whitespace,
    control characters and :data:`STRUCTURE` left out."""
    for typed, printed in _TEX_LIGATURES:
        text = text.replace(typed, printed)
    # TeX draws \neq as a slash before the "="; NFKC composes "=" + U+0338 into "≠".
    text = unicodedata.normalize("NFKC", text.replace("\u0338=", "=\u0338")).translate(_ALIKE)
    return "".join(ch for ch in text
                   if ch not in STRUCTURE and not ch.isspace() and unicodedata.category(ch)[0] != "C")


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """Where a label and a drawing part: piece ``index`` (``len(pieces)`` for drawn text left over
    after the last piece), what the label has there and what the drawing has."""

    index: int
    label: str
    drawn: str


def first_mismatch(pieces: Sequence[str], drawn: str) -> Mismatch | None:
    """The first piece that is not the next text drawn, or text drawn after the last piece.

    Both directions: every piece is drawn, in order, and nothing else is. The drawn text is taken
    in the order the back-end wrote it (a PDF's content stream), which for TeX is the source order,
    so each piece must start exactly where the one before it ended."""
    page = skeleton(drawn)
    at = 0
    for index, piece in enumerate(pieces):
        want = skeleton(piece)
        if not page.startswith(want, at):
            return Mismatch(index, want, page[at:at + len(want) + 8])
        at += len(want)
    if at < len(page):
        return Mismatch(len(pieces), "", page[at:at + 40])
    return None


def char_counts(text: str) -> collections.Counter[str]:
    """How often each character of ``skeleton(text)`` occurs: for pictures, whose text a PDF's text
    layer may give in another order than the source (a raised ° after a neighbouring label)."""
    return collections.Counter(skeleton(text))


def word_counts(text: str) -> collections.Counter[str]:
    """How often each letter and digit occurs in ``text``, accents aside (NFKD: a math italic x is
    an x, x̂ is an x; MathJax draws the accent as a glyph of its own). Modifier letters, such as
    the ˆ MathJax draws, are not counted."""
    text = unicodedata.normalize("NFKD", text)
    return collections.Counter(ch for ch in text if unicodedata.category(ch) in _WORD)


_WORD = frozenset(("Lu", "Ll", "Lt", "Lo", "Nd", "Nl", "No"))


def count_difference(label: collections.Counter[str], drawn: collections.Counter[str]) -> str:
    """What the label has that was not drawn and what was drawn that the label lacks ("" if equal)."""
    not_drawn, unlabelled = label - drawn, drawn - label
    parts = []
    if not_drawn:
        parts.append("not drawn: " + "".join(sorted(not_drawn.elements()))[:40])
    if unlabelled:
        parts.append("drawn, not in the label: " + "".join(sorted(unlabelled.elements()))[:40])
    return "; ".join(parts)
