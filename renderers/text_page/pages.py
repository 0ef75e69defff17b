"""Whole pages of the text-page renderer: paragraphs flowed down one or more columns (:class:`Flow`),
and the fine-grained regions GOT's box- and colour-guided prompts read. Drawn at random, a page is
filled with passages and cut where it is full (:func:`render_page`); in order, one text flows over as
many pages as it needs (:func:`render_pages`). With ``pages: [low, high]`` a sample is a run of
pages of one look, the text flowing on from one to the next (GOT's multi-page OCR, ``OCR with format
across multi pages: ``): its target is the pages' lines in order, its meta one record for all of them
with each line's page (``line_pages``) and each page's line count (``page_lines``).

A page whose face is a handwriting one (``styles: {hand: w}``) is written glyph by glyph on
notebook paper (:mod:`.hand`).

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

from corpora import langs
from renderers.backends import fonts
from renderers.base import Reject, Sample
from renderers.text_page import hand
from renderers.text_page.linebreak import is_cjk, measure_for, wrap_en, wrap_zh
from renderers.text_page.options import integer, uniform
from renderers.text_page.raster import Line, check_ink, draw_lines, ink_on_paper, sample_colours

if TYPE_CHECKING:
    from renderers.text_page import TextPageRenderer

# The frame colours of colour-guided pages (GOT's prompts name red, green and blue).
FRAME_COLOURS = {"red": (220, 30, 30), "green": (20, 150, 40), "blue": (30, 60, 220)}


def sample_look(renderer: TextPageRenderer, rng: np.random.Generator, lang: str) -> dict[str, Any]:
    """Every choice of a page's layout and colours but its font."""
    o = renderer.options
    cjk = is_cjk(langs.script_for(lang))
    width, height = integer(rng, o.page_width), integer(rng, o.page_height)
    margins = [round(width * uniform(rng, o.margin)) for _ in range(4)]  # left, top, right, bottom
    n_columns = 1 + int(rng.choice(len(o.columns), p=np.array(o.columns) / sum(o.columns)))
    gap = round(width * uniform(rng, o.column_gap)) if n_columns > 1 else 0
    column_width = (width - margins[0] - margins[2] - gap * (n_columns - 1)) // n_columns
    font_px = min(integer(rng, o.font_px), max(8, column_width // (10 if cjk else 14)))
    line_height = round(font_px * uniform(rng, o.line_spacing))
    paragraph_gap = round(line_height * uniform(rng, o.paragraph_spacing))
    indent_em = 0.0
    if rng.random() < o.indent_prob:
        indent_em = 2.0 if cjk else uniform(rng, (1.0, 3.0))
    script = langs.script_for(lang)  # justified: spaced, unshaped scripts (HarfBuzz sets a shaped line whole)
    justify = script.spaced and not script.shaped and bool(rng.random() < o.justify_prob)
    last_fill = uniform(rng, (0.3, 0.95)) if rng.random() < o.partial_page_prob else 1.0
    colours = sample_colours(rng)
    return {
        "width": width, "height": height, "margins": margins, "columns": n_columns, "column_gap": gap,
        "column_width": column_width, "font_px": font_px, "line_height": line_height,
        "paragraph_gap": paragraph_gap, "indent_em": indent_em, "justify": justify, "last_fill": last_fill,
        "colours": colours,
    }


def render_page(renderer: TextPageRenderer, rng: np.random.Generator, lang: str) -> Sample:
    """A page of one or more columns filled with passages drawn at random; its target the whole
    page, or a region of it."""
    o = renderer.options
    look = sample_look(renderer, rng, lang)
    n_pages = integer(rng, o.pages) if o.pages != (1, 1) else 1
    # Draw paragraphs until they surely overfill the pages (estimated from the font size).
    body_height = look["height"] - look["margins"][1] - look["margins"][3]
    script = langs.script_for(lang)
    em_per_char = 1.0 if is_cjk(script) or script.name == "hangul" else 0.45
    capacity = (n_pages * look["columns"] * (body_height / look["line_height"])
                * (look["column_width"] / (look["font_px"] * em_per_char)))
    paragraphs: list[str] = []
    drawn: list[int] = []
    chars = 0
    while chars < 2 * capacity and len(drawn) < 1000:
        index, passage = renderer.passage(rng, lang)
        drawn.append(index)
        paragraphs.extend(passage)
        chars += sum(map(len, passage))
    face = renderer.font(rng, "".join(paragraphs), lang)
    flow = Flow(paragraphs, lang, face, look, hand.sample_hand(rng, renderer.options, face, look, lang))
    if n_pages == 1:
        lines, _ = flow.page((0, 0))
        return page_sample(renderer, rng, lang, look, flow, lines, drawn)
    pages: list[list[Line]] = []
    cursor: tuple[int, int] | None = (0, 0)
    while cursor is not None and len(pages) < n_pages:
        lines, cursor = flow.page(cursor)
        pages.append(lines)
    return pages_sample(lang, look, flow, pages, drawn)


def render_pages(renderer: TextPageRenderer, rng: np.random.Generator, lang: str,
                 paragraphs: tuple[str, ...]) -> list[Sample]:
    """A whole text over consecutive pages of one look, each page continuing where the one before
    ended (mid-paragraph too); every page is filled but the last. Their targets joined by a line
    break are every line the text was set in. With ``pages``, each part is a run of pages."""
    look = {**sample_look(renderer, rng, lang), "last_fill": 1.0}
    face = renderer.font(rng, "".join(paragraphs), lang)
    flow = Flow(list(paragraphs), lang, face, look, hand.sample_hand(rng, renderer.options, face, look, lang))
    single = renderer.options.pages == (1, 1)
    pages: list[list[Line]] = []
    parts: list[Sample] = []
    cursor: tuple[int, int] | None = (0, 0)
    while cursor is not None:
        lines, cursor = flow.page(cursor)
        if not lines:
            raise Reject("line-too-tall", f"a {look['font_px']} px line does not fit a {look['height']} px page")
        if single:  # each page drawn as it is laid out: its region draw follows it in the generator
            parts.append(page_sample(renderer, rng, lang, look, flow, lines, []))
        pages.append(lines)
    start = 0
    while not single and start < len(pages):
        run = pages[start:start + integer(rng, renderer.options.pages)]
        parts.append(pages_sample(lang, look, flow, run, []))
        start += len(run)
    return parts


def draw_page(lang: str, look: dict[str, Any], flow: Flow, lines: list[Line], page: int = 0,
              first_line: int = 0) -> tuple[Image.Image, list[list[int]], list[str], dict[str, Any]]:
    """One page of ``lines`` in ``flow``'s face: the image, each line's box, the text each line
    drew, and the meta of its handwriting (crossed-out words, paper), if it is handwritten."""
    width, height, colours = look["width"], look["height"], look["colours"]
    coverage = Image.new("L", (width, height), 0)
    if flow.hand is not None:
        return hand.draw_page(coverage, lines, flow, page, first_line)
    boxes, texts = draw_lines(ImageDraw.Draw(coverage), lines, flow.measure, 255, flow.text_height,
                              lang if flow.measure.shaped else None)
    return ink_on_paper(coverage, colours["paper"], colours["ink"]), boxes, texts, {}


def look_meta(lang: str, look: dict[str, Any], flow: Flow) -> dict[str, Any]:
    """What a page's meta records of its look (shared by every page of a multi-page sample)."""
    script = flow.script
    meta = {
        "lang": lang, "script": script.name, "direction": "rtl" if script.rtl else "ltr", "slice": False,
        "mode": "page", "width": look["width"], "height": look["height"], "font": flow.face.to_meta(),
        "font_px": look["font_px"], "margins": look["margins"], "columns": look["columns"],
        "column_gap": look["column_gap"], "column_width": look["column_width"], "line_height": look["line_height"],
        "paragraph_gap": look["paragraph_gap"], "indent": flow.indent, "justify": look["justify"],
        "last_column_fill": round(look["last_fill"], 4), **look["colours"],
    }
    if flow.hand is not None:
        meta["hand"] = flow.hand
    return meta


def pages_sample(lang: str, look: dict[str, Any], flow: Flow, pages: list[list[Line]], drawn: list[int]) -> Sample:
    """A run of pages of one look as one multi-page sample (a single page when the text ran out)."""
    images, boxes, texts, line_pages, crossed = [], [], [], [], []
    for page, lines in enumerate(pages):
        image, page_boxes, page_texts, extra = draw_page(lang, look, flow, lines, page, len(boxes))
        images.append(image)
        boxes += page_boxes
        texts += page_texts
        line_pages += [page] * len(lines)
        crossed += extra.get("crossed_out", [])
    lines = [line for page in pages for line in page]
    target = "\n".join(line.text for line in lines)
    check_ink(flow.face, target)
    meta = {
        "region": "page", **look_meta(lang, look, flow), "passages": drawn, "n_lines": len(lines),
        "line_columns": [line.column for line in lines], "line_boxes": boxes,
    }
    if len(pages) > 1:
        meta.update(page_lines=[len(page) for page in pages], line_pages=line_pages)
    if flow.hand is not None:
        meta.update(crossed_out=crossed, rule_rows=extra["rule_rows"], rule_columns=extra["rule_columns"],
                    margin_rule_x=extra["margin_rule_x"])
    return Sample(images, target, meta, drawn={"lines": texts})


def page_sample(renderer: TextPageRenderer, rng: np.random.Generator, lang: str, look: dict[str, Any], flow: Flow,
                lines: list[Line], drawn: list[int]) -> Sample:
    """The page of ``lines`` (its region drawn from ``rng`` as the options ask) as a sample."""
    o = renderer.options
    width, height, font_px = look["width"], look["height"], look["font_px"]
    target = "\n".join(line.text for line in lines)
    check_ink(flow.face, target)
    image, boxes, texts, extra = draw_page(lang, look, flow, lines)
    region = _region(renderer, rng, lines, boxes, font_px, (width, height))
    if region:
        target = "\n".join(lines[i].text for i in region["region_lines"])
        if "color" in region:
            image = image.convert("RGB")
            ImageDraw.Draw(image).rectangle(
                region["region_box_px"], outline=FRAME_COLOURS[region["color"]], width=region["frame_px"]
            )
    meta = {
        "region": region.get("region", "page"), **region, **look_meta(lang, look, flow), "passages": drawn,
        "n_lines": len(lines), "line_columns": [line.column for line in lines], "line_boxes": boxes, **extra,
    }
    if o.crops:
        meta["crops"] = o.crops
    return Sample([image], target, meta, drawn={"lines": texts})


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


class Flow:
    """A text's paragraphs set in one look, page by page: each paragraph is wrapped when first
    reached (a page drawn at random reads only what fits), and a page may start mid-paragraph.
    ``hand``: the handwriting record (:func:`.hand.sample_hand`), which widens the line spacing to
    its paper's rules and leaves each line room for its jitter and crossed-out words."""

    def __init__(self, paragraphs: list[str], lang: str, face: fonts.FontFace, look: dict[str, Any],
                 hand_record: dict[str, Any] | None = None) -> None:
        self.paragraphs, self.look, self.face, self.lang = paragraphs, look, face, lang
        self.script = langs.script_for(lang)
        self.measure = measure_for(face, look["font_px"], self.script)
        ascent, descent = self.measure.font.getmetrics()
        self.text_height = ascent + descent
        self.indent = round(look["indent_em"] * look["font_px"])
        self.wrap = wrap_zh if is_cjk(self.script) else wrap_en
        self.wrapped: dict[int, list[str]] = {}
        self.hand = hand_record
        self.room = look["column_width"]
        if hand_record is not None:
            hand.fit_look(look, hand_record, face, "".join(paragraphs))
            self.room = round(look["column_width"] * hand.WRAP_SHARE)

    def lines_of(self, p: int) -> list[str]:
        if p not in self.wrapped:
            self.wrapped[p] = self.wrap(self.paragraphs[p], self.measure, self.room - self.indent, self.room)
        return self.wrapped[p]

    def page(self, cursor: tuple[int, int]) -> tuple[list[Line], tuple[int, int] | None]:
        """The lines of one page from line ``k`` of paragraph ``p`` (``cursor = (p, k)``) down the
        columns, left to right, up to the first line that does not fit; and the cursor of that line,
        or None when the text ended on this page."""
        look, indent = self.look, self.indent
        margins, n_columns, gap = look["margins"], look["columns"], look["column_gap"]
        column_width, line_height = look["column_width"], look["line_height"]
        top, bottom = margins[1], look["height"] - margins[3]
        column, y = 0, top
        lines: list[Line] = []
        first_p, first_k = cursor
        for p in range(first_p, len(self.paragraphs)):
            wrapped = self.lines_of(p)
            start = first_k if p == first_p else 0
            if start == 0 and lines and y > top:
                y += look["paragraph_gap"]
            for k in range(start, len(wrapped)):
                limit = bottom if column < n_columns - 1 else top + (bottom - top) * look["last_fill"]
                if y + self.text_height > limit:
                    column += 1
                    y = top
                    if column == n_columns:
                        return lines, (p, k)
                rtl = self.script.rtl  # columns read right to left, the indent on the right
                place = n_columns - 1 - column if rtl else column
                x = margins[0] + place * (column_width + gap) + (indent if k == 0 and not rtl else 0)
                width = column_width - (indent if k == 0 else 0)
                lines.append(Line(wrapped[k], x, y, width, column, look["justify"] and k < len(wrapped) - 1, rtl))
                y += line_height
        return lines, None


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

