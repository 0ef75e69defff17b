"""Handwritten pages: a handwriting face (``styles: {hand: w}``, the Debian families
:data:`renderers.backends.fonts.HAND` names) written glyph by glyph, so a page is not one uniform
font, on plain, lined or squared notebook paper, with some words crossed out.

GOT learned handwriting from scans of real hands (CASIA-HWDB2, IAM, NorHand), which gotforge cannot
ship; this is the synthetic counterpart, as trdg's and SynthTIGER's handwriting fonts are, with the
variation a hand has and a font lacks. Each glyph (a character with its combining marks) gets its
own size, slant, baseline offset, spacing, pen width and ink density; the baseline also wanders
along the line as a slow wave. The page-level choices are drawn from the sample's generator into
``meta["hand"]``; the per-glyph ones come from a generator seeded by that record's ``seed``, the
page and the line, so a page is redrawn from its meta alone.

Crossed-out words: before a word (a character in Chinese and Japanese), with chance
``meta["hand"]["cross_out"]``, the writer first put a false start of it or another word of the line,
then struck it through or scribbled over it. They are drawn, left out of the target (which reads the
line as it was laid out), and listed in ``meta["crossed_out"]`` (page, line of the target, the
text, where in the line it stands, how it was crossed, its box). A line is wrapped to
:data:`WRAP_SHARE` of its column, and a crossed-out word is written only where the line still fits.

Paper: lined paper's rules lie in the gaps between lines (the line spacing is widened to hold
the baseline's wander, and paragraph gaps are whole lines), so no rule crosses a line's box;
squared paper adds vertical rules at the same pitch, behind the ink; a red margin rule stands left
of the text. Ruled pages are RGB; plain ones the palette page of :mod:`.raster`.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from renderers.backends import fonts
from renderers.base import Reject
from renderers.text_page.linebreak import is_cjk
from renderers.text_page.options import Options, uniform
from renderers.text_page.raster import Line, ink_on_paper

if TYPE_CHECKING:
    from renderers.text_page.pages import Flow

MAX_SIZE = 1.13  # the largest a glyph is drawn, as a share of the font size
MAX_JITTER_EM = 0.04  # the most a glyph's own baseline offset moves it
WRAP_SHARE = 0.88  # of the column a handwritten line is wrapped to: room for its jitter and crossed-out words
RULE_COLOURS = ([150, 180, 225], [170, 200, 230], [185, 185, 185])  # blue and grey notebook rules
MARGIN_RULE = [225, 110, 110]


def sample_hand(rng: np.random.Generator, options: Options, face: fonts.FontFace, look: dict[str, Any],
                lang: str) -> dict[str, Any] | None:
    """The page-level choices of a handwritten page, or None (drawing nothing from ``rng``) for a
    printed face."""
    if face.style != fonts.HAND:
        return None
    names = list(options.papers)
    p = np.array([options.papers[n] for n in names], dtype=float)
    paper = names[int(rng.choice(len(names), p=p / p.sum()))]
    return {
        "seed": int(rng.integers(2**62)), "paper": paper,
        "rule": RULE_COLOURS[int(rng.integers(len(RULE_COLOURS)))], "margin_rule": bool(rng.random() < 0.5),
        "drift_em": round(uniform(rng, (0.015, 0.06)), 4),  # the baseline's slow wave, either way
        "wave_em": round(uniform(rng, (5.0, 18.0)), 3),  # its length along the line
        "jitter_em": round(uniform(rng, (0.005, 0.02)), 4),  # each glyph's own baseline offset (sd)
        "size_sd": round(uniform(rng, (0.02, 0.06)), 4),
        "slant": round(uniform(rng, (-0.05, 0.25)), 4), "slant_sd": round(uniform(rng, (0.02, 0.06)), 4),
        "spacing_sd_em": round(uniform(rng, (0.01, 0.04)), 4),
        "heavy_p": round(uniform(rng, (0.0, 0.4)), 4),  # glyphs written with a wider pen
        "pressure": round(uniform(rng, (0.7, 0.95)), 4),  # the lightest ink density
        "cross_out": round(uniform(rng, options.cross_out), 4), "lang": lang,
    }


def fit_look(look: dict[str, Any], record: dict[str, Any], face: fonts.FontFace, text: str) -> None:
    """Widen the line spacing to hold the ink of ``text``'s glyphs at their largest, with the
    baseline's wander, and a rule between lines; on ruled paper, make paragraph gaps whole lines so
    every line sits on the rules (handwriting faces reach well past their declared ascent and descent)."""
    font_px = look["font_px"]
    font = fonts.load_font(face, math.ceil(font_px * MAX_SIZE))
    up = down = 0
    for ch in set(text) - fonts.NOT_DRAWN - {" "}:
        _, top, _, bottom = font.getbbox(ch, anchor="ls")
        up, down = max(up, -top), max(down, bottom)
    wander = (record["drift_em"] + MAX_JITTER_EM) * font_px
    look["line_height"] = max(look["line_height"], math.ceil(up + down + 2 * wander + max(4, 0.2 * font_px)))
    look["justify"] = False  # a hand writes each line at its own width
    if record["paper"] != "plain":
        look["paragraph_gap"] = look["line_height"] * round(look["paragraph_gap"] / look["line_height"])


def draw_page(coverage: Image.Image, lines: list[Line], flow: Flow, page: int = 0,
              first_line: int = 0) -> tuple[Image.Image, list[list[int]], list[str], dict[str, Any]]:
    """Write ``lines`` (the page's, in target order from line ``first_line``) on their paper: the
    image, each line's box, the glyphs each line wrote that stand (crossed-out ones left out), and
    the meta of the page (crossed-out words, rules)."""
    record, look = flow.hand, flow.look
    assert record is not None
    ink = np.zeros((coverage.height, coverage.width), dtype=np.uint8)  # (height, width) coverage
    boxes, texts, crossed = [], [], []
    for i, line in enumerate(lines):
        g = np.random.default_rng([record["seed"], page, first_line + i])
        box, written, marks = _write_line(ink, line, flow, record, g)
        boxes.append(box)
        texts.append(written)
        crossed += [{"page": page, "line": first_line + i, **mark} for mark in marks]
    rows, columns, margin = _rules(look, record, lines, boxes, ink.shape)
    for y in rows:
        over = next((b for b in boxes if b[1] <= y <= b[3]), None)
        if over is not None:
            raise Reject("rule-over-text", f"the rule at y={y} crosses the line box {over}")
    if margin is not None and any(b[0] <= margin <= b[2] for b in boxes):
        raise Reject("rule-over-text", f"the margin rule at x={margin} crosses a line box")
    image = _on_paper(ink, look["colours"], record, rows, columns, margin)
    return image, boxes, texts, {"crossed_out": crossed, "rule_rows": rows, "rule_columns": columns,
                                 "margin_rule_x": margin}


def _write_line(ink: np.ndarray, line: Line, flow: Flow, record: dict[str, Any],
                g: np.random.Generator) -> tuple[list[int], str, list[dict[str, Any]]]:
    """Write one line glyph by glyph into ``ink``; its box, the glyphs it wrote that were not
    crossed out, and its crossed-out words."""
    font_px, measure = flow.look["font_px"], flow.measure
    cjk = is_cjk(flow.script)
    units = list(line.text) if cjk else line.text.split(" ")
    room = line.width - measure.line(line.text)
    inserts: dict[int, str] = {}
    for j, unit in enumerate(units):
        if g.random() >= record["cross_out"] or not unit.strip():
            continue
        wrong = _wrong_word(g, units, j, cjk)
        extra = measure(wrong) + (0 if cjk else measure(" "))
        if wrong and extra <= room:
            inserts[j] = wrong
            room -= extra
    pieces: list[tuple[str, bool, int]] = []  # text, crossed out, where in the line's text it stands
    at = 0
    for j, unit in enumerate(units):
        if not cjk and j:
            pieces.append((" ", False, at))
            at += 1
        if j in inserts:
            pieces += [(inserts[j], True, at)] + ([] if cjk else [(" ", True, at)])
        pieces.append((unit, False, at))
        at += len(unit)
    glyphs = [(cluster, k) for k, (text, _, _) in enumerate(pieces) for cluster in _clusters(text)]
    pens, params = _place(glyphs, line, flow, record, g)
    baseline = line.y + measure.font.getmetrics()[0]
    x0, y0, x1, y1 = line.x, line.y, line.x, line.y + flow.text_height
    spans: dict[int, list[float]] = {}
    written = []
    for (cluster, k), pen, (size, shear, heavy, density, dy) in zip(glyphs, pens, params, strict=True):
        spans.setdefault(k, [pen, pen])[1] = pen + _advance(flow.face, size, cluster)
        x1 = max(x1, round(spans[k][1]))
        if not pieces[k][1]:
            written.append(cluster)
        if cluster.isspace():
            continue
        mask, ox, oy = _glyph(flow.face, size, cluster, shear, heavy)
        if mask.size:
            px, py = round(pen + ox), round(baseline + dy + oy)
            _paste(ink, mask, px, py, density)
            x0, y0 = min(x0, px), min(y0, py)
            x1, y1 = max(x1, px + mask.shape[1]), max(y1, py + mask.shape[0])
    marks = []
    for k, (text, crossed, where) in enumerate(pieces):
        if crossed and text != " ":
            box, how = _cross(ink, spans[k], baseline, font_px, g)
            marks.append({"text": text, "at": where, "how": how, "box": box})
            x0, y0, x1, y1 = min(x0, box[0]), min(y0, box[1]), max(x1, box[2]), max(y1, box[3])
    return [int(x0), int(y0), int(x1), int(y1)], "".join(written), marks


def _wrong_word(g: np.random.Generator, units: list[str], j: int, cjk: bool) -> str:
    """A false start of unit ``j`` (its first letters) or another unit of the line."""
    word = units[j]
    if not cjk and len(word) >= 3 and g.random() < 0.5:
        return word[:int(g.integers(1, len(word) - 1))]
    others = [u for u in units if u.strip() and u != word] or [word]
    return others[int(g.integers(len(others)))]


def _clusters(text: str) -> list[str]:
    """Characters with their combining marks, each written as one glyph."""
    out: list[str] = []
    for ch in text:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _place(glyphs: list[tuple[str, int]], line: Line, flow: Flow, record: dict[str, Any],
           g: np.random.Generator) -> tuple[list[float], list[tuple[int, float, bool, float, float]]]:
    """Each glyph's pen position and its (size, slant, wide pen, ink density, baseline offset),
    the line squeezed into its room when the jitter widened it."""
    font_px, n = flow.look["font_px"], len(glyphs)
    phase = float(g.uniform(0, 2 * math.pi))
    wave = record["wave_em"] * font_px
    sizes = np.rint(font_px * np.clip(1 + g.normal(0, record["size_sd"], n), 2 - MAX_SIZE, MAX_SIZE)).astype(int)
    shears = np.round(np.clip(record["slant"] + g.normal(0, record["slant_sd"], n), -0.2, 0.4), 2)
    heavy = g.random(n) < record["heavy_p"]
    density = g.uniform(record["pressure"], 1.0, n)
    jitter = np.clip(g.normal(0, record["jitter_em"], n), -MAX_JITTER_EM, MAX_JITTER_EM) * font_px
    gaps = np.clip(g.normal(0, record["spacing_sd_em"], n), -0.06, 0.08) * font_px
    pens, params, x = [], [], float(line.x)
    for i, (cluster, _) in enumerate(glyphs):
        dy = record["drift_em"] * font_px * math.sin(2 * math.pi * (x - line.x) / wave + phase) + jitter[i]
        pens.append(x)
        params.append((int(sizes[i]), float(shears[i]), bool(heavy[i]), float(density[i]), float(dy)))
        advance = _advance(flow.face, int(sizes[i]), cluster)
        x += max(0.3 * advance, advance + gaps[i])
    natural = x - line.x
    if natural > line.width:
        pens = [line.x + (p - line.x) * line.width / natural for p in pens]
    return pens, params


@functools.lru_cache(maxsize=65536)
def _advance(face: fonts.FontFace, size: int, cluster: str) -> float:
    return fonts.load_font(face, size).getlength(cluster)


def _glyph(face: fonts.FontFace, size: int, cluster: str, shear: float, heavy: bool) -> tuple[np.ndarray, int, int]:
    """The ink of one glyph slanted by ``shear`` about its baseline (its top leaning right for a
    positive one) and its top-left corner relative to the pen on the baseline."""
    mask, ox, oy = _upright(face, size, cluster, heavy)
    if not shear or not mask.size:
        return mask, ox, oy
    height, width = mask.shape
    base = -oy  # the baseline's row in the mask
    shifts = (shear * base, shear * (base - height + 1))  # of the top and bottom rows
    low = math.floor(min(0.0, *shifts))
    grown = width + math.ceil(max(0.0, *shifts)) - low + 1
    matrix = np.array([[1.0, -shear, shear * base - low], [0.0, 1.0, 0.0]])
    slanted = cv2.warpAffine(mask, matrix, (grown, height), flags=cv2.INTER_LINEAR, borderValue=0)
    return slanted, ox + low, oy


@functools.lru_cache(maxsize=16384)
def _upright(face: fonts.FontFace, size: int, cluster: str, heavy: bool) -> tuple[np.ndarray, int, int]:
    """One glyph's ink (a pure function, so cached) and its top-left corner relative to the pen."""
    font = fonts.load_font(face, size)
    left, top, right, bottom = font.getbbox(cluster, anchor="ls")
    if right <= left or bottom <= top:
        return np.zeros((0, 0), dtype=np.uint8), 0, 0
    canvas = Image.new("L", (right - left + 2, bottom - top), 0)
    ImageDraw.Draw(canvas).text((-left, -top), cluster, font=font, anchor="ls", fill=255)
    mask = np.asarray(canvas)
    if heavy:  # a wider pen: the strokes thickened by a faint copy one pixel to the right
        shifted = np.zeros_like(mask)
        shifted[:, 1:] = mask[:, :-1] * 0.6
        mask = np.maximum(mask, shifted)
    mask = np.ascontiguousarray(mask)
    mask.flags.writeable = False  # shared through the cache
    return mask, left, top


def _paste(ink: np.ndarray, mask: np.ndarray, x: int, y: int, density: float) -> None:
    height, width = ink.shape
    h, w = mask.shape
    a, b = max(0, -y), max(0, -x)
    c, d = min(h, height - y), min(w, width - x)
    if c <= a or d <= b:
        return
    part = cv2.convertScaleAbs(mask[a:c, b:d], alpha=density)
    region = ink[y + a:y + c, x + b:x + d]
    np.maximum(region, part, out=region)


def _cross(ink: np.ndarray, span: list[float], baseline: float, font_px: int,
           g: np.random.Generator) -> tuple[list[int], str]:
    """Strike through (one or two strokes) or scribble over the span ``[x0, x1]``; the box of the marks."""
    x0, x1 = span
    width = max(1, round(font_px / 14))
    if g.random() < 0.6:
        how = "strike"
        ys = [baseline - font_px * float(g.uniform(0.25, 0.4))]
        if g.random() < 0.4:
            ys.append(ys[0] + font_px * float(g.uniform(0.1, 0.2)))
        strokes = [[(x0, y + float(g.normal(0, 0.05)) * font_px), (x1, y + float(g.normal(0, 0.05)) * font_px)]
                   for y in ys]
    else:
        how = "scribble"
        turns = int(g.integers(3, 7))
        xs = np.linspace(x0, x1, 2 * turns + 1)
        high, low = baseline - 0.65 * font_px, baseline - 0.05 * font_px
        strokes = [[(float(x), high if i % 2 else low) for i, x in enumerate(xs)]]
    for points in strokes:
        cv2.polylines(ink, [np.round(np.array(points) * 16).astype(np.int32)], False, 255, width, cv2.LINE_AA, 4)
    every = np.array([p for points in strokes for p in points])
    box = [math.floor(every[:, 0].min()) - width, math.floor(every[:, 1].min()) - width,
           math.ceil(every[:, 0].max()) + width, math.ceil(every[:, 1].max()) + width]
    return [int(v) for v in box], how


def _rules(look: dict[str, Any], record: dict[str, Any], lines: list[Line], boxes: list[list[int]],
           shape: tuple[int, int]) -> tuple[list[int], list[int], int | None]:
    """The rows of the paper's horizontal rules (one a line pitch apart, midway in the band the
    lines' ink leaves free), the columns of squared paper's vertical ones, and the margin rule's
    column (None: no margin rule)."""
    if record["paper"] == "plain":
        return [], [], None
    height, width = shape
    pitch = look["line_height"]
    above = min((box[1] - line.y for line, box in zip(lines, boxes, strict=True)), default=0)
    below = max((box[3] - line.y for line, box in zip(lines, boxes, strict=True)), default=pitch // 2)
    anchor = look["margins"][1] + (above + below + pitch) // 2  # lines lie a whole pitch apart on ruled paper
    rows = list(range(anchor % pitch, height, pitch))
    columns = list(range(look["margins"][0] % pitch, width, pitch)) if record["paper"] == "squared" else []
    margin = round(look["margins"][0] * 0.6) if record["margin_rule"] else None
    return rows, columns, margin


def _on_paper(ink: np.ndarray, colours: dict[str, Any], record: dict[str, Any], rows: list[int],
              columns: list[int], margin: int | None) -> Image.Image:
    """The ink on its paper: a palette page on plain paper; on ruled paper an RGB page whose rules
    lie under the ink."""
    if record["paper"] == "plain":
        return ink_on_paper(Image.fromarray(ink), colours["paper"], colours["ink"])
    paper = np.empty((*ink.shape, 3), dtype=np.uint8)  # (height, width, RGB)
    paper[:] = colours["paper"]
    paper[rows, :] = record["rule"]
    paper[:, columns] = record["rule"]
    if margin is not None:
        paper[:, margin] = MARGIN_RULE
    solid = np.empty_like(paper)
    solid[:] = colours["ink"]
    alpha = ink.astype(np.float32) / 255  # (height, width)
    return Image.fromarray(cv2.blendLinear(solid, paper, alpha, 1 - alpha), "RGB")
