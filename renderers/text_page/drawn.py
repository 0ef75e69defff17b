"""A text-page label read back against what was drawn: the text each line handed to FreeType (a
handwritten line: the glyphs it wrote that were not crossed out), which the drawing code returns and
the renderer keeps in ``Sample.drawn["lines"]``, in target order; and the ink in each line's box on
its image. A target that reads a line the page did not draw, or a line that left no ink, is rejected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from renderers.base import Reject, Sample
from renderers.text_page.hand import MARGIN_RULE
from renderers.text_page.pages import FRAME_COLOURS

# How far from the paper towards the ink a pixel must be to count as ink: the faint antialiased core
# of a hairline stroke at the smallest size still counts. A notebook rule or a colour frame may go
# further, so pixels of exactly those colours are left out first.
INK_SHARE = 0.1


def check_drawn(sample: Sample) -> None:
    """Reject a target whose lines are not the lines drawn (all of them, or a region's), in order,
    or a line whose box holds no ink on its page."""
    meta = sample.meta
    drawn = sample.drawn.get("lines")
    if drawn is None or len(drawn) != meta["n_lines"]:
        raise Reject("text-not-drawn", "the sample carries no record of the lines drawn")
    chosen = meta["region_lines"] if meta.get("region", "page") != "page" else range(len(drawn))
    read = sample.target.split("\n")
    for k, (index, line) in enumerate(zip(chosen, read)):
        if line != drawn[index]:
            raise Reject("text-not-drawn", f"target line {k} reads {line[:60]!r}, the page drew {drawn[index][:60]!r}")
    if len(read) != len(chosen):
        raise Reject("text-not-drawn", f"the target has {len(read)} lines, the page drew {len(chosen)}")
    _check_ink(sample, list(chosen), drawn)


def _check_ink(sample: Sample, chosen: list[int], drawn: list[str]) -> None:
    meta = sample.meta
    pages = meta.get("line_pages", [0] * meta["n_lines"])
    paper = np.asarray(meta["paper"], dtype=np.float32)
    towards = np.asarray(meta["ink"], dtype=np.float32) - paper
    scale = float(towards @ towards)
    others = _not_text_colours(meta)
    images: dict[int, np.ndarray] = {}
    for index in chosen:
        if not drawn[index].strip():
            continue
        page = pages[index]
        if page not in images:
            images[page] = np.asarray(sample.images[page].convert("RGB"))  # (height, width, RGB)
        x0, y0, x1, y1 = (max(0, v) for v in meta["line_boxes"][index])
        box = images[page][y0:y1, x0:x1]  # (height, width, RGB)
        share = (box.astype(np.float32) - paper) @ towards / scale  # each pixel's share of the way from paper to ink
        for colour in others:
            share[(box == colour).all(axis=-1)] = 0.0
        if not share.size or share.max() < INK_SHARE:
            raise Reject("blank-line", f"line {index} ({drawn[index][:40]!r}) left no ink in its box {meta['line_boxes'][index]}")


def _not_text_colours(meta: dict[str, Any]) -> list[np.ndarray]:
    """The colours a page draws besides its text: a handwritten page's rules, a colour-guided frame."""
    colours = []
    if "hand" in meta:
        colours += [meta["hand"]["rule"], MARGIN_RULE]
    if "color" in meta:
        colours.append(FRAME_COLOURS[meta["color"]])
    return [np.asarray(c, dtype=np.uint8) for c in colours]
