"""The raster of text pages and slices: paper and ink colours, laid-out lines drawn once as an
antialiased coverage mask, and the mask turned into a palette image whose 256 colours run from the
paper to the ink (:func:`ink_on_paper`): the same pixels as drawing in RGB, within rounding, in
less memory and faster to encode as PNG.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from renderers.backends import fonts
from renderers.base import Reject
from renderers.text_page.linebreak import Measure

PAPERS = {  # tone: (probability, lowest RGB, highest RGB), drawn per channel then kept ordered
    "white": (0.5, (246, 246, 246), (255, 255, 255)),
    "cream": (0.3, (242, 232, 208), (252, 246, 232)),
    "grey": (0.2, (214, 214, 214), (236, 236, 236)),
}
INKS = {  # tint: RGB offset added to a dark grey
    "black": (0, 0, 0),
    "blue-black": (0, 6, 28),
    "brown-black": (26, 12, 0),
}


@dataclasses.dataclass(frozen=True)
class Line:
    """One laid-out line: its text, where its room starts, and whether it is stretched to ``width``.
    A right-to-left line is set flush right in its room, ``x + width`` its right edge."""

    text: str
    x: int
    y: int
    width: int  # the column width available to it (justified lines fill it)
    column: int
    justify: bool
    rtl: bool = False


def sample_colours(rng: np.random.Generator) -> dict[str, Any]:
    """The paper tone and colour and the ink tint and colour of one image."""
    tones = list(PAPERS)
    tone = tones[int(rng.choice(len(tones), p=[PAPERS[t][0] for t in tones]))]
    _, low, high = PAPERS[tone]
    paper = [int(rng.integers(lo, hi + 1)) for lo, hi in zip(low, high, strict=True)]
    if tone != "cream":  # white and grey papers are neutral
        paper = [paper[0]] * 3
    tint = list(INKS)[int(rng.integers(len(INKS)))]
    base = int(rng.integers(0, 56))
    ink = [min(255, base + d) for d in INKS[tint]]
    return {"paper_tone": tone, "paper": paper, "ink_tint": tint, "ink": ink}


def check_ink(face: fonts.FontFace, text: str) -> None:
    """Reject a text that is empty or holds a glyph ``face`` maps but draws no ink for."""
    if not text.strip():
        raise Reject("empty-text", "no line fitted")
    blank = fonts.inkless(face, text)
    if blank:
        codes = " ".join(f"U+{ord(c):04X}" for c in sorted(blank))
        raise Reject("blank-glyph", f"{face.family} draws nothing for {codes}")


def ink_on_paper(coverage: Image.Image, paper: list[int], ink: list[int]) -> Image.Image:
    """The page as a palette image: index ``a`` of the ``coverage`` mask (0 = paper, 255 = full
    ink, as FreeType's antialiased glyphs cover each pixel) is the colour ``paper + (ink - paper) *
    a / 255``. A page of one paper tone and one ink has no other colours, so this is lossless; and
    one byte a pixel encodes as PNG faster than RGB, into a smaller file."""
    levels = np.arange(256, dtype=np.float64)[:, None] / 255  # (256, 1)
    start, end = np.asarray(paper, dtype=np.float64), np.asarray(ink, dtype=np.float64)
    palette = np.rint(start + (end - start) * levels).astype(np.uint8)  # (256, RGB)
    page = Image.frombytes("P", coverage.size, coverage.tobytes())
    page.putpalette(palette.tobytes(), "RGB")
    return page


def block_size(measure: Measure, lines: list[str], line_height: int) -> tuple[float, int]:
    """Advance width of the widest line and height of a block of lines."""
    ascent, descent = measure.font.getmetrics()
    width = max((measure.line(t) for t in lines), default=0.0)
    return width, (len(lines) - 1) * line_height + ascent + descent if lines else 0


def draw_lines(
    draw: ImageDraw.ImageDraw, lines: list[Line], measure: Measure, ink: Any, text_height: int,
    lang: str | None = None,
) -> tuple[list[list[int]], list[str]]:
    """Draw the lines (justified ones word by word; a shaped font in its direction and ``lang``, a
    right-to-left line flush right); return each line's box [x0, y0, x1, y1] and the text each line
    handed to FreeType (its words joined by a space), which ``validate`` reads the target against."""
    font = measure.font
    boxes, texts = [], []
    for line in lines:
        words = line.text.split(" ")
        natural = measure.line(line.text)
        space = measure(" ")
        stretch = (line.width - natural) / (len(words) - 1) if line.justify and len(words) > 1 else 0.0
        if measure.shaped:  # HarfBuzz orders and joins the whole line; never justified
            left = line.x + line.width - round(natural) if line.rtl else line.x
            draw.text((left, line.y), line.text, font=font, fill=ink, direction="rtl" if line.rtl else "ltr",
                      language=lang)
            boxes.append([left, line.y, left + round(natural), line.y + text_height])
            texts.append(line.text)
            continue
        if 0 < stretch <= 2 * space:
            x = float(line.x)
            for word in words:
                draw.text((round(x), line.y), word, font=font, fill=ink)
                x += measure(word) + space + stretch
            right = line.x + line.width
            texts.append(" ".join(words))
        else:
            draw.text((line.x, line.y), line.text, font=font, fill=ink)
            right = line.x + round(natural)
            texts.append(line.text)
        boxes.append([line.x, line.y, right, line.y + text_height])
    return boxes, texts
