"""Whole pages of the text-page renderer: paragraphs flowed down one or more columns, and the
fine-grained regions GOT's box- and colour-guided prompts read.

A fine-grained page's target is a run of 1-6 consecutive lines of one column (``region_lines``).
``box`` records the region as ``meta["box"]`` = [x1, y1, x2, y2] on GOT's 0-1000 scale of the
image's width and height (the query becomes ``[x1, y1, x2, y2] OCR: ``); ``color`` draws a red,
green or blue frame around it on the page (``meta["color"]``, query ``[red] OCR: ``). The region's
box is its lines' boxes padded by a quarter of the font size, less than a line's height, so it
holds exactly the target's lines (:func:`check_region` checks this against ``meta["line_boxes"]``).
A colour-guided page is RGB (its frame is a colour off the paper-to-ink ramp). ``crops: N`` marks
whole pages for GOT's multi-crop training (``meta["crops"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from renderers.base import Reject, Sample
from renderers.text_page.linebreak import Measure, measure_for, wrap_en, wrap_zh
from renderers.text_page.options import integer, uniform
from renderers.text_page.raster import Line, check_ink, draw_lines, ink_on_paper, sample_colours

if TYPE_CHECKING:
    from renderers.text_page import TextPageRenderer

# The frame colours of colour-guided pages (GOT's prompts name red, green and blue).
FRAME_COLOURS = {"red": (220, 30, 30), "green": (20, 150, 40), "blue": (30, 60, 220)}


def render_page(renderer: TextPageRenderer, rng: np.random.Generator, lang: str) -> Sample:
    """A page of one or more columns; its target the whole page, or a region of it."""
    o = renderer.options
    width, height = integer(rng, o.page_width), integer(rng, o.page_height)
    margins = [round(width * uniform(rng, o.margin)) for _ in range(4)]  # left, top, right, bottom
    n_columns = 1 + int(rng.choice(len(o.columns), p=np.array(o.columns) / sum(o.columns)))
    gap = round(width * uniform(rng, o.column_gap)) if n_columns > 1 else 0
    column_width = (width - margins[0] - margins[2] - gap * (n_columns - 1)) // n_columns
    font_px = min(integer(rng, o.font_px), max(8, column_width // (10 if lang == "zh" else 14)))
    line_height = round(font_px * uniform(rng, o.line_spacing))
    paragraph_gap = round(line_height * uniform(rng, o.paragraph_spacing))
    indent_em = 0.0
    if rng.random() < o.indent_prob:
        indent_em = 2.0 if lang == "zh" else uniform(rng, (1.0, 3.0))
    justify = lang == "en" and bool(rng.random() < o.justify_prob)
    last_fill = uniform(rng, (0.3, 0.95)) if rng.random() < o.partial_page_prob else 1.0
    colours = sample_colours(rng)

    # Draw paragraphs until they surely overfill the page (estimated from the font size).
    body_height = height - margins[1] - margins[3]
    em_per_char = 1.0 if lang == "zh" else 0.45
    capacity = n_columns * (body_height / line_height) * (column_width / (font_px * em_per_char))
    paragraphs: list[str] = []
    drawn: list[int] = []
    chars = 0
    while chars < 2 * capacity and len(drawn) < 1000:
        index, passage = renderer.passage(rng, lang)
        drawn.append(index)
        paragraphs.extend(passage)
        chars += sum(map(len, passage))
    face = renderer.font(rng, "".join(paragraphs), lang)
    measure = measure_for(face, font_px)
    ascent, descent = measure.font.getmetrics()
    indent = round(indent_em * font_px)

    lines = _layout(
        paragraphs, lang, measure, n_columns, column_width, gap, margins, height,
        line_height, ascent + descent, paragraph_gap, indent, justify, last_fill,
    )
    target = "\n".join(line.text for line in lines)
    check_ink(face, target)
    coverage = Image.new("L", (width, height), 0)
    boxes = draw_lines(ImageDraw.Draw(coverage), lines, measure, 255, ascent + descent)
    image = ink_on_paper(coverage, colours["paper"], colours["ink"])
    region = _region(renderer, rng, lines, boxes, font_px, (width, height))
    if region:
        target = "\n".join(lines[i].text for i in region["region_lines"])
        if "color" in region:
            image = image.convert("RGB")
            ImageDraw.Draw(image).rectangle(
                region["region_box_px"], outline=FRAME_COLOURS[region["color"]], width=region["frame_px"]
            )
    meta = {
        "region": region.get("region", "page"), **region,
        "lang": lang, "slice": False, "mode": "page", "width": width, "height": height,
        "font": face.to_meta(), "font_px": font_px, "margins": margins, "columns": n_columns,
        "column_gap": gap, "column_width": column_width, "line_height": line_height,
        "paragraph_gap": paragraph_gap, "indent": indent, "justify": justify,
        "last_column_fill": round(last_fill, 4), **colours, "passages": drawn,
        "n_lines": len(lines), "line_columns": [line.column for line in lines], "line_boxes": boxes,
    }
    if o.crops:
        meta["crops"] = o.crops
    return Sample([image], target, meta)


def _region(
    renderer: TextPageRenderer,
    rng: np.random.Generator,
    lines: list[Line],
    boxes: list[list[int]],
    font_px: int,
    size: tuple[int, int],
) -> dict[str, Any]:
    """The region a fine-grained target covers (its meta), or {} for a whole-page target."""
    kinds, p = renderer.region_choice
    kind = kinds[int(rng.choice(len(kinds), p=p))]
    if kind == "page":
        return {}
    column = int(rng.choice(sorted({line.column for line in lines})))
    in_column = [i for i, line in enumerate(lines) if line.column == column]
    count = min(integer(rng, renderer.options.region_lines), len(in_column))
    first = int(rng.integers(len(in_column) - count + 1))
    chosen = in_column[first : first + count]
    pad = max(1, font_px // 4)  # < a line's height: the neighbouring lines stay outside
    width, height = size
    box_px = [
        max(0, min(boxes[i][0] for i in chosen) - pad),
        max(0, min(boxes[i][1] for i in chosen) - pad),
        min(width - 1, max(boxes[i][2] for i in chosen) + pad),
        min(height - 1, max(boxes[i][3] for i in chosen) + pad),
    ]
    region: dict[str, Any] = {"region": kind, "region_lines": chosen, "region_box_px": box_px}
    if kind == "box":
        region["box"] = scaled_box(box_px, size)
    else:
        region["color"] = list(FRAME_COLOURS)[int(rng.integers(len(FRAME_COLOURS)))]
        region["frame_px"] = int(rng.integers(2, 4))
    return region


def _layout(
    paragraphs: list[str], lang: str, measure: Measure, n_columns: int, column_width: int, gap: int,
    margins: list[int], height: int, line_height: int, text_height: int, paragraph_gap: int,
    indent: int, justify: bool, last_fill: float,
) -> list[Line]:
    """Flow paragraphs down the columns, left to right; stop at the first line that does not fit."""
    wrap = wrap_zh if lang == "zh" else wrap_en
    top, bottom = margins[1], height - margins[3]
    column, y = 0, top
    lines: list[Line] = []
    for paragraph in paragraphs:
        wrapped = wrap(paragraph, measure, column_width - indent, column_width)
        if lines and y > top:
            y += paragraph_gap
        for k, text in enumerate(wrapped):
            limit = bottom if column < n_columns - 1 else top + (bottom - top) * last_fill
            if y + text_height > limit:
                column += 1
                y = top
                if column == n_columns:
                    return lines
            x = margins[0] + column * (column_width + gap) + (indent if k == 0 else 0)
            width = column_width - (indent if k == 0 else 0)
            lines.append(Line(text, x, y, width, column, justify and k < len(wrapped) - 1))
            y += line_height
    return lines


def scaled_box(box_px: list[int], size: tuple[int, int]) -> list[int]:
    """A pixel box [x1, y1, x2, y2] on GOT's 0-1000 scale of the image width and height."""
    width, height = size
    return [round(1000 * v / side) for v, side in zip(box_px, (width, height, width, height), strict=True)]


def check_region(meta: dict[str, Any], target: str) -> None:
    """The region's box holds exactly the lines its target reads, and ``box`` is that box scaled."""
    x0, y0, x1, y1 = meta["region_box_px"]
    inside = [i for i, (a, b, c, d) in enumerate(meta["line_boxes"]) if a >= x0 and b >= y0 and c <= x1 and d <= y1]
    if inside != meta["region_lines"] or len(inside) != target.count("\n") + 1:
        raise Reject("region-mismatch", f"box {meta['region_box_px']} holds lines {inside}, the target reads {meta['region_lines']}")
    if "box" in meta and meta["box"] != scaled_box(meta["region_box_px"], (meta["width"], meta["height"])):
        raise Reject("region-mismatch", f"box {meta['box']} is not {meta['region_box_px']} scaled to 0-1000")

