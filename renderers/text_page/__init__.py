"""Plain-text document pages and slices in English or Chinese: GOT's stage-1 plain OCR data.

GOT (Wei et al. 2024, "General OCR Theory", its pre-training data engine) trains on pages whose plain
text was extracted with PyMuPDF (``fitz``), and on line- and paragraph-level slices cropped from
them. This renderer makes the synthetic counterpart: passages from :mod:`corpora.text` set with
PIL/FreeType in one or two columns, with varied fonts, sizes, margins, line spacing, paragraph
indents and spacing, paper tone and ink colour.

Target: the text in reading order (columns left to right, each top to bottom), **one visual line
per line: lines joined by "\\n", no blank line between paragraphs, no indent, no trailing
newline**. This follows how GOT's plain targets were made: the GOT author says plain OCR "only
uses the Fitz extracted data without format" (GOT-OCR2.0 issue #182), and PyMuPDF's plain-text
writer (``Page.get_text("text")``) ends every extracted line with one "\\n" and adds nothing
between blocks. A word is never hyphenated: English breaks at spaces, Chinese between any two
characters (a Latin word inside Chinese stays whole), keeping closing punctuation off line starts
and opening brackets off line ends.

Slices (``slice: true``) are one line of 1-6 words (``mode: line``) or a short paragraph
(``mode: paragraph``). With ``slice_size: auto`` the image is cropped tight around the text with
a small margin (``crop: tight``), so the text fills the square GOT resizes every image to; with
``slice_size: [w, h]`` the text is set as large as fits that canvas (``crop: fixed``).

Every glyph of the target is in the font used: the font is picked to cover the text drawn
(:func:`renderers.backends.fonts.pick_font`), else the sample is rejected (``missing-glyph``). Text is
NFC-normalised; Unicode spaces become a space; format and control characters (zero-width space,
soft hyphen, BOM, ...) are removed; a mapped glyph that draws no ink rejects (``blank-glyph``).

Fine-grained pages (GOT's box- and colour-guided OCR, option ``regions``): a page whose target
is only a region of it, a run of 1-6 consecutive lines of one column (``region_lines``). ``box``
records the region as ``meta["box"]`` = [x1, y1, x2, y2] on GOT's 0-1000 scale of the image's
width and height (the query becomes ``[x1, y1, x2, y2] OCR: ``); ``color`` draws a red, green or
blue frame around it on the page (``meta["color"]``, query ``[red] OCR: ``). The region's box is
its lines' boxes padded by a quarter of the font size, less than a line's height, so it holds
exactly the target's lines (``validate`` checks this against ``meta["line_boxes"]``). The default
``regions: {page: 1}`` makes whole pages only. ``crops: N`` marks whole pages for GOT's multi-crop
training (``meta["crops"]``: the trainer cuts at most N tiles plus a thumbnail; meant for pages
of 2000 px or more, set with ``page_width``/``page_height``).

Image: text is drawn once as an antialiased coverage mask and stored as a palette image whose 256
colours run from the paper to the ink (:func:`ink_on_paper`): the same pixels as drawing in RGB,
within rounding, at a third of the memory and a fifth of the PNG encoding time. A colour-guided
page is RGB (its frame is a colour off the paper-to-ink ramp).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic
from PIL import Image, ImageDraw, ImageFont

from corpora.base import Corpus, CorpusError
from corpora.text import Passage, detect_lang, passages
from renderers.backends import fonts
from renderers.base import Reject, RendererOptions, Sample

Range = tuple[float, float]
IntRange = tuple[int, int]

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
# The frame colours of colour-guided pages (GOT's prompts name red, green and blue).
FRAME_COLOURS = {"red": (220, 30, 30), "green": (20, 150, 40), "blue": (30, 60, 220)}
# Closing punctuation a Chinese line must not start with, opening brackets it must not end with.
NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·,.;:?!)]}%")
NO_LINE_END = set("（《「『【〔〈“‘([{")
_CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_ZH_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+|.", re.DOTALL)
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


class Options(RendererOptions):
    lang: Literal["en", "zh", "mix"] = "mix"
    zh_prob: float = pydantic.Field(0.5, ge=0, le=1)  # for lang "mix": chance a sample is Chinese
    slice: bool = False
    slice_size: Literal["auto"] | tuple[int, int] = "auto"
    slice_line_prob: float = pydantic.Field(0.6, ge=0, le=1)  # else a short paragraph
    slice_words: IntRange = (1, 6)  # English words in a line slice (Chinese: 2x as characters)
    slice_lines: IntRange = (2, 6)  # lines in a paragraph slice
    slice_font_px: IntRange = (24, 64)  # text size of tight-cropped slices
    page_width: IntRange = (850, 1100)
    page_height: IntRange = (1100, 1500)
    font_px: IntRange = (17, 30)
    columns: tuple[float, ...] = (0.7, 0.3)  # probability of 1, 2, ... columns
    margin: Range = (0.05, 0.12)  # each side, as a fraction of the page width
    column_gap: Range = (0.03, 0.06)  # fraction of the page width
    line_spacing: Range = (1.15, 1.7)  # baseline distance / font size
    paragraph_spacing: Range = (0.0, 0.8)  # extra space between paragraphs, in line heights
    indent_prob: float = pydantic.Field(0.6, ge=0, le=1)  # first-line indent (Chinese: 2 em)
    justify_prob: float = pydantic.Field(0.5, ge=0, le=1)  # English only
    partial_page_prob: float = pydantic.Field(0.15, ge=0, le=1)  # last column filled part way
    styles: dict[Literal["serif", "sans", "mono"], float] = pydantic.Field(
        default_factory=lambda: {"serif": 0.5, "sans": 0.4, "mono": 0.1}
    )
    # What a page's target covers: the whole page, a box-guided region or a colour-guided one.
    regions: dict[Literal["page", "box", "color"], float] = pydantic.Field(default_factory=lambda: {"page": 1.0})
    region_lines: IntRange = (1, 6)  # consecutive lines of one column in a region
    # > 0: pages for GOT's multi-crop training, cut into at most this many tiles plus a thumbnail by
    # the trainer (meta["crops"]); meant for large pages (page_width/page_height of 2000 px or more).
    crops: int = pydantic.Field(0, ge=0, le=12)

    @pydantic.field_validator(
        "slice_words", "slice_lines", "slice_font_px", "page_width", "page_height", "font_px",
        "margin", "column_gap", "line_spacing", "paragraph_spacing", "region_lines",
    )
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError(f"expected a range [low, high] with 0 <= low <= high, found {list(value)}")
        return value

    @pydantic.field_validator("slice_size")
    @classmethod
    def _size(cls, value: Any) -> Any:
        if value != "auto" and min(value) < 32:
            raise ValueError(f"slice_size must be 'auto' or [width, height] of at least 32 px, found {value}")
        return value

    @pydantic.model_validator(mode="after")
    def _regions_are_for_pages(self) -> "Options":
        fine_grained = any(w > 0 for r, w in self.regions.items() if r != "page")
        if self.slice and fine_grained:
            raise ValueError("regions (box- and colour-guided targets) apply to pages; with slice: true leave regions at {page: 1}")
        if self.crops and (self.slice or fine_grained):
            raise ValueError("crops (multi-crop pages) go with whole pages only: GOT's multi-crop prompt names no "
                             "box or colour; leave slice false and regions at {page: 1}")
        if self.region_lines[0] < 1:
            raise ValueError(f"region_lines must start at 1 or more, found {list(self.region_lines)}")
        return self

    @pydantic.field_validator("columns", "styles", "regions")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        weights = list(value.values()) if isinstance(value, dict) else list(value)
        if not weights or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"expected non-negative weights with a positive sum, found {value}")
        return value


@dataclasses.dataclass(frozen=True)
class Line:
    """One laid-out line: its text, where it starts, and whether it is stretched to ``width``."""

    text: str
    x: int
    y: int
    width: int  # the column width available to it (justified lines fill it)
    column: int
    justify: bool


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else float(bounds[0])


def _integer(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


class Measure:
    """Advance widths in one font, each distinct word or character measured once.

    Instances are shared per (face, size) across samples: a width is a pure function of them, so
    the cache changes speed, never output. ``line`` sums cached token widths (kerning across a
    space is ignored: at most a pixel or two).
    """

    MAX_ENTRIES = 50_000

    def __init__(self, font: ImageFont.FreeTypeFont) -> None:
        self.font = font
        self.cache: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        width = self.cache.get(text)
        if width is None:
            if len(self.cache) >= self.MAX_ENTRIES:
                self.cache.clear()
            width = self.cache[text] = self.font.getlength(text)
        return width

    def line(self, text: str) -> float:
        if _CJK_CHAR.search(text):
            return sum(map(self, _ZH_TOKEN.findall(text)))
        words = text.split(" ")
        return sum(map(self, words)) + self(" ") * (len(words) - 1)


_MEASURES: dict[tuple[str, int, int], Measure] = {}


def measure_for(face: fonts.FontFace, size: int) -> Measure:
    key = (face.path, face.index, size)
    if key not in _MEASURES:
        if len(_MEASURES) >= 256:
            _MEASURES.clear()
        _MEASURES[key] = Measure(fonts.load_font(face, size))
    return _MEASURES[key]


def _hard_break(word: str, measure: Measure, width: float) -> list[str]:
    """Split a word wider than the column between characters (no hyphen is added)."""
    pieces, current = [], ""
    for ch in word:
        if current and measure(current + ch) > width:
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
    for token in _ZH_TOKEN.findall(paragraph):
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


class TextPageRenderer:
    """English/Chinese plain-text pages (one or two columns) and line/paragraph slices."""

    name = "text-page"
    markup = "text"
    task = "ocr"
    version = "3"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: Corpus[Passage] | None = None
        langs = ("en", "zh") if options.lang == "mix" else (options.lang,)
        self.pools: dict[str, tuple[Passage, ...]] = {}
        if corpus_path is not None:
            self.corpus = passages(corpus_path, options.lang)
            by_lang: dict[str, list[Passage]] = {"en": [], "zh": []}
            for passage in self.corpus.items:
                by_lang[detect_lang(" ".join(passage))].append(passage)
            self.pools = {lang: tuple(by_lang[lang]) for lang in langs if by_lang[lang]}
            if not self.pools:
                found = ", ".join(f"{len(v)} {k}" for k, v in by_lang.items())
                raise CorpusError(
                    f"corpus {corpus_path} has no {'/'.join(langs)} passage (found {found}); "
                    f"set the text-page option lang to match it or to 'mix'"
                )
        else:
            self.pools = {lang: tuple(passages(None, lang).items) for lang in langs}
        self._normalised: dict[tuple[str, int], tuple[str, ...]] = {}
        weights = np.array(list(options.regions.values()), dtype=float)
        self._region_choice = (list(options.regions), weights / weights.sum())

    # -- content -------------------------------------------------------------------------------

    def _lang(self, rng: np.random.Generator) -> str:
        if len(self.pools) == 1:
            return next(iter(self.pools))
        return "zh" if rng.random() < self.options.zh_prob else "en"

    def _passage(self, rng: np.random.Generator, lang: str) -> tuple[int, tuple[str, ...]]:
        pool = self.pools[lang]
        index = int(rng.integers(len(pool)))
        key = (lang, index)
        if key not in self._normalised:  # a pure cache: same passage, same text
            self._normalised[key] = tuple(p for p in map(normalise, pool[index]) if p)
        return index, self._normalised[key]

    def _font(self, rng: np.random.Generator, text: str, lang: str) -> fonts.FontFace:
        try:
            if lang == "zh":
                return fonts.pick_font(
                    rng, text, script="cjk", styles=self.options.styles, regions=("sc", "")
                )
            return fonts.pick_font(rng, text, script="latin", styles=self.options.styles)
        except fonts.MissingGlyphs as err:
            raise Reject("missing-glyph", str(err)) from err

    @staticmethod
    def _colours(rng: np.random.Generator) -> dict[str, Any]:
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

    # -- pages ---------------------------------------------------------------------------------

    def render(self, rng: np.random.Generator) -> Sample:
        lang = self._lang(rng)
        if self.options.slice:
            return self._render_slice(rng, lang)
        return self._render_page(rng, lang)

    def _render_page(self, rng: np.random.Generator, lang: str) -> Sample:
        o = self.options
        width, height = _integer(rng, o.page_width), _integer(rng, o.page_height)
        margins = [round(width * _uniform(rng, o.margin)) for _ in range(4)]  # left, top, right, bottom
        n_columns = 1 + int(rng.choice(len(o.columns), p=np.array(o.columns) / sum(o.columns)))
        gap = round(width * _uniform(rng, o.column_gap)) if n_columns > 1 else 0
        column_width = (width - margins[0] - margins[2] - gap * (n_columns - 1)) // n_columns
        font_px = min(_integer(rng, o.font_px), max(8, column_width // (10 if lang == "zh" else 14)))
        line_height = round(font_px * _uniform(rng, o.line_spacing))
        paragraph_gap = round(line_height * _uniform(rng, o.paragraph_spacing))
        indent_em = 0.0
        if rng.random() < o.indent_prob:
            indent_em = 2.0 if lang == "zh" else _uniform(rng, (1.0, 3.0))
        justify = lang == "en" and bool(rng.random() < o.justify_prob)
        last_fill = _uniform(rng, (0.3, 0.95)) if rng.random() < o.partial_page_prob else 1.0
        colours = self._colours(rng)

        # Draw paragraphs until they surely overfill the page (estimated from the font size).
        body_height = height - margins[1] - margins[3]
        em_per_char = 1.0 if lang == "zh" else 0.45
        capacity = n_columns * (body_height / line_height) * (column_width / (font_px * em_per_char))
        paragraphs: list[str] = []
        drawn: list[int] = []
        chars = 0
        while chars < 2 * capacity and len(drawn) < 1000:
            index, passage = self._passage(rng, lang)
            drawn.append(index)
            paragraphs.extend(passage)
            chars += sum(map(len, passage))
        face = self._font(rng, "".join(paragraphs), lang)
        measure = measure_for(face, font_px)
        ascent, descent = measure.font.getmetrics()
        indent = round(indent_em * font_px)

        lines = self._layout(
            paragraphs, lang, measure, n_columns, column_width, gap, margins, height,
            line_height, ascent + descent, paragraph_gap, indent, justify, last_fill,
        )
        target = "\n".join(line.text for line in lines)
        self._check_ink(face, target)
        coverage = Image.new("L", (width, height), 0)
        boxes = _draw(ImageDraw.Draw(coverage), lines, measure, 255, ascent + descent)
        image = ink_on_paper(coverage, colours["paper"], colours["ink"])
        region = self._region(rng, lines, boxes, font_px, (width, height))
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
        self, rng: np.random.Generator, lines: list[Line], boxes: list[list[int]], font_px: int, size: tuple[int, int]
    ) -> dict[str, Any]:
        """The region a fine-grained target covers (its meta), or {} for a whole-page target."""
        kinds, p = self._region_choice
        kind = kinds[int(rng.choice(len(kinds), p=p))]
        if kind == "page":
            return {}
        column = int(rng.choice(sorted({line.column for line in lines})))
        in_column = [i for i, line in enumerate(lines) if line.column == column]
        count = min(_integer(rng, self.options.region_lines), len(in_column))
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

    @staticmethod
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

    @staticmethod
    def _check_ink(face: fonts.FontFace, text: str) -> None:
        if not text.strip():
            raise Reject("empty-text", "no line fitted")
        blank = fonts.inkless(face, text)
        if blank:
            codes = " ".join(f"U+{ord(c):04X}" for c in sorted(blank))
            raise Reject("blank-glyph", f"{face.family} draws nothing for {codes}")

    # -- slices --------------------------------------------------------------------------------

    def _slice_text(self, rng: np.random.Generator, lang: str, mode: str) -> tuple[int, str]:
        o = self.options
        for _ in range(20):  # a few passages are too short for the drawn word count: draw again
            index, passage = self._passage(rng, lang)
            if not passage:
                continue
            paragraph = passage[int(rng.integers(len(passage)))]
            if mode == "paragraph":
                return index, paragraph
            units = _ZH_TOKEN.findall(paragraph) if lang == "zh" else paragraph.split(" ")
            count = _integer(rng, o.slice_words) * (2 if lang == "zh" else 1)
            start = int(rng.integers(max(1, len(units) - count + 1)))
            text = ("" if lang == "zh" else " ").join(units[start:start + count]).strip()
            if text:
                return index, text
        raise Reject("empty-text", "no passage gave a slice")

    def _render_slice(self, rng: np.random.Generator, lang: str) -> Sample:
        o = self.options
        mode = "line" if rng.random() < o.slice_line_prob else "paragraph"
        index, text = self._slice_text(rng, lang, mode)
        face = self._font(rng, text, lang)
        colours = self._colours(rng)
        wrap = wrap_zh if lang == "zh" else wrap_en
        n_lines = _integer(rng, o.slice_lines)
        chars_per_line = _uniform(rng, (10.0, 28.0) if lang == "zh" else (20.0, 50.0))  # paragraph column
        spacing = _uniform(rng, o.line_spacing)
        margin_em = _uniform(rng, (0.1, 0.4))
        fixed = o.slice_size != "auto"

        def set_text(font_px: int) -> list[str]:
            """The slice's lines at ``font_px``: the whole line, or the paragraph's first lines in a
            column of ``chars_per_line`` average characters (so the block scales with the size)."""
            if mode == "line":
                return [text]
            column = font_px * chars_per_line * (1.0 if lang == "zh" else 0.5)
            return wrap(text, measure_for(face, font_px), column, column)[:n_lines]

        def fits(font_px: int) -> bool:
            room = 2 * round(font_px * margin_em)
            box = _block_size(measure_for(face, font_px), set_text(font_px), round(font_px * spacing))
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
            font_px = _integer(rng, o.slice_font_px)
        lines = set_text(font_px)
        font = fonts.load_font(face, font_px)
        target = "\n".join(lines)
        self._check_ink(face, target)
        line_height = round(font_px * spacing)
        ascent, descent = font.getmetrics()
        block = [Line(t, 0, i * line_height, 0, 0, False) for i, t in enumerate(lines)]
        # Ink box of the whole block, drawn once on a scratch mask.
        measure = measure_for(face, font_px)
        block_w, block_h = _block_size(measure, lines, line_height)
        scratch = Image.new("L", (int(block_w) + 2 * font_px, block_h + 2 * font_px), 0)
        _draw(ImageDraw.Draw(scratch), [dataclasses.replace(b, x=font_px, y=b.y + font_px) for b in block],
              measure, 255, ascent + descent)
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
        boxes = _draw(ImageDraw.Draw(coverage), placed, measure, 255, ascent + descent)
        image = ink_on_paper(coverage, colours["paper"], colours["ink"])
        meta = {
            "lang": lang, "slice": True, "mode": mode, "crop": "fixed" if fixed else "tight",
            "width": size[0], "height": size[1], "font": face.to_meta(), "font_px": font_px,
            "line_height": line_height, "margin": pad, "chars_per_line": round(chars_per_line, 3),
            **colours, "passages": [index],
            "n_lines": len(lines), "line_columns": [0] * len(lines), "line_boxes": boxes,
        }
        return Sample([image], target, meta)

    # -- checks --------------------------------------------------------------------------------

    def validate(self, sample: Sample) -> None:
        """Reject an empty target, a target glyph the recorded font lacks, or a region whose box
        does not hold exactly the target's lines (a blank image is rejected by the engine's own
        check, :func:`pipelines.render.checks.check_sample`)."""
        if not sample.target.strip():
            raise Reject("empty-text", "the target is empty")
        if sample.meta.get("region", "page") != "page":
            _check_region(sample.meta, sample.target)
        face = fonts.FontFace.from_meta(sample.meta["font"])
        missing = fonts.missing_glyphs(face, sample.target)
        if missing:
            codes = " ".join(f"U+{ord(c):04X}" for c in sorted(missing))
            raise Reject("missing-glyph", f"{face.family} lacks {codes}")


def scaled_box(box_px: list[int], size: tuple[int, int]) -> list[int]:
    """A pixel box [x1, y1, x2, y2] on GOT's 0-1000 scale of the image width and height."""
    width, height = size
    return [round(1000 * v / side) for v, side in zip(box_px, (width, height, width, height), strict=True)]


def _check_region(meta: dict[str, Any], target: str) -> None:
    """The region's box holds exactly the lines its target reads, and ``box`` is that box scaled."""
    x0, y0, x1, y1 = meta["region_box_px"]
    inside = [i for i, (a, b, c, d) in enumerate(meta["line_boxes"]) if a >= x0 and b >= y0 and c <= x1 and d <= y1]
    if inside != meta["region_lines"] or len(inside) != target.count("\n") + 1:
        raise Reject("region-mismatch", f"box {meta['region_box_px']} holds lines {inside}, the target reads {meta['region_lines']}")
    if "box" in meta and meta["box"] != scaled_box(meta["region_box_px"], (meta["width"], meta["height"])):
        raise Reject("region-mismatch", f"box {meta['box']} is not {meta['region_box_px']} scaled to 0-1000")


def ink_on_paper(coverage: Image.Image, paper: list[int], ink: list[int]) -> Image.Image:
    """The page as a palette image: index ``a`` of the ``coverage`` mask (0 = paper, 255 = full
    ink, as FreeType's antialiased glyphs cover each pixel) is the colour ``paper + (ink - paper) *
    a / 255``. A page of one paper tone and one ink has no other colours, so this is lossless; and
    one byte a pixel encodes as PNG about five times faster than RGB (~5 ms for a 1.2-megapixel
    page instead of ~25) into a file about half the size."""
    levels = np.arange(256, dtype=np.float64)[:, None] / 255  # (256, 1)
    start, end = np.asarray(paper, dtype=np.float64), np.asarray(ink, dtype=np.float64)
    palette = np.rint(start + (end - start) * levels).astype(np.uint8)  # (256, RGB)
    page = Image.frombytes("P", coverage.size, coverage.tobytes())
    page.putpalette(palette.tobytes(), "RGB")
    return page


def _block_size(measure: Measure, lines: list[str], line_height: int) -> tuple[float, int]:
    """Advance width of the widest line and height of a block of lines."""
    ascent, descent = measure.font.getmetrics()
    width = max((measure.line(t) for t in lines), default=0.0)
    return width, (len(lines) - 1) * line_height + ascent + descent if lines else 0


def _draw(
    draw: ImageDraw.ImageDraw, lines: list[Line], measure: Measure, ink: Any, text_height: int
) -> list[list[int]]:
    """Draw the lines (justified ones word by word); return each line's box [x0, y0, x1, y1]."""
    font = measure.font
    boxes = []
    for line in lines:
        words = line.text.split(" ")
        natural = measure.line(line.text)
        space = measure(" ")
        stretch = (line.width - natural) / (len(words) - 1) if line.justify and len(words) > 1 else 0.0
        if 0 < stretch <= 2 * space:
            x = float(line.x)
            for word in words:
                draw.text((round(x), line.y), word, font=font, fill=ink)
                x += measure(word) + space + stretch
            right = line.x + line.width
        else:
            draw.text((line.x, line.y), line.text, font=font, fill=ink)
            right = line.x + round(natural)
        boxes.append([line.x, line.y, right, line.y + text_height])
    return boxes
