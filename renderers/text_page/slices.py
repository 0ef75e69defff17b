"""Slices of the text-page renderer (``slice: true``): one line of 1-6 words (``mode: line``) or
a short paragraph (``mode: paragraph``), GOT's line- and paragraph-level crops.

With ``slice_size: auto`` the image is cropped tight around the text with a small margin
(``crop: tight``), so the text fills the square GOT resizes every image to; with
``slice_size: [w, h]`` the text is set as large as fits that canvas (``crop: fixed``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from corpora import langs
from renderers.backends import fonts
from renderers.base import Reject, Sample
from renderers.text_page.linebreak import ZH_TOKEN, is_cjk, measure_for, wrap_en, wrap_zh
from renderers.text_page.options import integer, uniform
from renderers.text_page.raster import Line, block_size, check_ink, draw_lines, ink_on_paper, sample_colours

if TYPE_CHECKING:
    from renderers.text_page import TextPageRenderer

MAX_SLICE_DRAWS = 2000  # enough for a held-out split of a few percent to find its slices


def render_slice(renderer: TextPageRenderer, rng: np.random.Generator, lang: str,
                 paragraph: str | None = None) -> Sample:
    """One line of a few words, or the first lines of a paragraph: cropped tight around the text,
    or set as large as fits a fixed canvas. Given a ``paragraph`` (in order), all of it, in as many
    lines as it takes."""
    o = renderer.options
    if paragraph is None:
        mode = "line" if rng.random() < o.slice_line_prob else "paragraph"
        index, text = _slice_text(renderer, rng, lang, mode)
    else:
        mode, index, text = "paragraph", -1, paragraph
    face = renderer.font(rng, text, lang)
    colours = sample_colours(rng)
    script = langs.script_for(lang)
    cjk = is_cjk(script)
    wrap = wrap_zh if cjk else wrap_en
    n_lines = integer(rng, o.slice_lines) if paragraph is None else None
    chars_per_line = uniform(rng, (10.0, 28.0) if cjk else (20.0, 50.0))  # paragraph column
    spacing = uniform(rng, o.line_spacing)
    margin_em = uniform(rng, (0.1, 0.4))
    fixed = o.slice_size != "auto"

    def set_text(font_px: int) -> list[str]:
        """The slice's lines at ``font_px``: the whole line, or the paragraph's first lines in a
        column of ``chars_per_line`` average characters (so the block scales with the size)."""
        if mode == "line":
            return [text]
        column = font_px * chars_per_line * (1.0 if cjk else 0.5)
        return wrap(text, measure_for(face, font_px, script), column, column)[:n_lines]

    def fits(font_px: int) -> bool:
        room = 2 * round(font_px * margin_em)
        box = block_size(measure_for(face, font_px, script), set_text(font_px), round(font_px * spacing))
        return box[0] <= o.slice_size[0] - room and box[1] <= o.slice_size[1] - room

    if fixed:  # the largest size whose block fits the canvas (binary search)
        low, high = 6, max(6, o.slice_size[1])
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fits(mid) else (low, mid - 1)
        font_px = low
        if not fits(font_px):
            raise Reject("slice-overflow", f"{text[:40]!r} does not fit {o.slice_size} at 6 px")
    else:
        font_px = integer(rng, o.slice_font_px)
    lines = set_text(font_px)
    font = fonts.load_font(face, font_px)
    target = "\n".join(lines)
    check_ink(face, target)
    line_height = round(font_px * spacing)
    ascent, descent = font.getmetrics()
    # Ink box of the whole block, drawn once on a scratch mask; right-to-left lines flush right in it.
    measure = measure_for(face, font_px, script)
    block_w, block_h = block_size(measure, lines, line_height)
    block = [Line(t, 0, i * line_height, round(block_w), 0, False, script.rtl) for i, t in enumerate(lines)]
    shaped_lang = lang if measure.shaped else None
    scratch = Image.new("L", (int(block_w) + 2 * font_px, block_h + 2 * font_px), 0)
    draw_lines(ImageDraw.Draw(scratch), [dataclasses.replace(b, x=font_px, y=b.y + font_px) for b in block],
               measure, 255, ascent + descent, shaped_lang)
    x0, y0, x1, y1 = scratch.getbbox() or (font_px, font_px, font_px + 1, font_px + 1)
    pad = round(font_px * margin_em)
    if fixed:
        size = o.slice_size
        if x1 - x0 > size[0] or y1 - y0 > size[1]:  # ink overhanging its advance box
            raise Reject("slice-overflow", f"ink of {text[:40]!r} exceeds {size}")
        dx = pad + int(rng.integers(max(1, size[0] - 2 * pad - (x1 - x0) + 1)))
        dy = pad + int(rng.integers(max(1, size[1] - 2 * pad - (y1 - y0) + 1)))
    else:
        size = (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        dx = dy = pad
    coverage = Image.new("L", size, 0)
    placed = [dataclasses.replace(b, x=b.x + font_px - x0 + dx, y=b.y + font_px - y0 + dy) for b in block]
    boxes, texts = draw_lines(ImageDraw.Draw(coverage), placed, measure, 255, ascent + descent, shaped_lang)
    image = ink_on_paper(coverage, colours["paper"], colours["ink"])
    meta = {
        "lang": lang, "script": script.name, "direction": "rtl" if script.rtl else "ltr", "slice": True, "mode": mode, "crop": "fixed" if fixed else "tight",
        "width": size[0], "height": size[1], "font": face.to_meta(), "font_px": font_px,
        "line_height": line_height, "margin": pad, "chars_per_line": round(chars_per_line, 3),
        **colours, "passages": [index] if index >= 0 else [],
        "n_lines": len(lines), "line_columns": [0] * len(lines), "line_boxes": boxes,
    }
    return Sample([image], target, meta, drawn={"lines": texts})


def _slice_text(renderer: TextPageRenderer, rng: np.random.Generator, lang: str, mode: str) -> tuple[int, str]:
    """A passage's index and the text of one slice of it: a run of words, or a whole paragraph."""
    o = renderer.options
    cjk = is_cjk(langs.script_for(lang))
    joiner = "" if cjk else " "
    # A few passages are too short for the drawn word count, and with a split a slice must fall in
    # it (renderer.holds): draw again.
    for _ in range(MAX_SLICE_DRAWS):
        index, passage = renderer.passage(rng, lang)
        if not passage:
            continue
        paragraph = passage[int(rng.integers(len(passage)))]
        if mode == "paragraph":
            if renderer.holds(paragraph):
                return index, paragraph
            continue
        units = ZH_TOKEN.findall(paragraph) if cjk else paragraph.split(" ")
        count = integer(rng, o.slice_words) * (2 if cjk else 1)
        starts = range(max(1, len(units) - count + 1))
        if renderer.selection is not None:  # the runs of this paragraph in the split, so no passage is favoured
            starts = [s for s in starts if renderer.holds(joiner.join(units[s:s + count]).strip())]
            if not starts:
                continue
        start = starts[int(rng.integers(len(starts)))]
        text = joiner.join(units[start:start + count]).strip()
        if text:
            return index, text
    raise Reject("empty-text", "no passage gave a slice")
