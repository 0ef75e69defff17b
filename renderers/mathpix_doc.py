"""Formatted document pages in Mathpix markdown, rendered by mathpix-markdown-it (MathJax for the math)
in headless Chromium, with the page's exact ``.mmd`` source as the target: GOT's formatted-document
data (GOT paper, section 3.3, "plain and formatted documents": Mathpix-markdown targets, ``OCR with
format: ``).

Content (:mod:`corpora.documents`): headings, paragraphs with inline ``$…$`` math, display ``\\[…\\]``
formulas, bullet and numbered lists and ``tabular`` tables, assembled from the English or Chinese text
corpora, the formula generator and a table generator; or a user folder of ``.mmd``/``.md`` files
rendered as written (drawn at random: starting at a random block of the file; in order,
``render_item``: the whole file over consecutive pages, each page a part). The page lays the blocks out in order
and keeps the ones that fit (a block too wide for its column is left out); the target is the kept
blocks joined by a blank line, i.e. the ``.mmd`` source that was rendered, block by block.

Multi-page samples (``pages: [low, high]``, GOT's multi-page OCR, ``OCR with format across multi
pages: ``): one look for every page, and the blocks flow on from page to page as in a document (each
page starts at the block after the last one the page before kept); the target is every page's
blocks joined by a blank line, ``meta["page_blocks"]`` how many each page drew.

``meta["plain"]`` holds the plain-text reading (:func:`corpora.documents.mmd_to_plain`: math as Unicode
via pylatexenc, tables as rows of tab-separated cells), so the trainer can also ask ``OCR: `` of the
same image.

``validate`` compares each block of the target, and the plain reading, with what the browser drew of
it (the page returns each block's text, its formulas as the glyphs MathJax drew and its list numbers):
a block whose math the renderer left as text (``$x$9``: no math before a digit) reads otherwise and
is rejected.

Look (all in ``meta``): page size and shape, margins, one or two columns and their gap, font family
(system fonts), size, line height, alignment, ink and paper colours. Safety: raw HTML is off in the
renderer and corpus text is escaped, so markup in a corpus line is drawn as its characters; a user
document may show images from its own folder only (the browser back-end blocks other files).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pydantic
from PIL import Image

from corpora.documents import (
    Document,
    block_plain,
    mmd_to_plain,
    random_document,
    split_blocks,
    user_documents,
)
from corpora.indexed import IndexedCorpus
from renderers.backends.browser import JS_DIR, BrowserOptions, BrowserPage
from renderers.base import Reject, Sample
from renderers.readback import count_difference, word_counts

FONTS = {
    "en": ("Liberation Serif", "DejaVu Serif", "Latin Modern Roman", "C059", "P052", "Linux Libertine O",
           "Caladea", "FreeSerif", "Liberation Sans", "DejaVu Sans", "Carlito", "Noto Sans"),
    "zh": ("Noto Serif CJK SC", "Noto Sans CJK SC", "AR PL UMing CN", "WenQuanYi Zen Hei"),
}
LATIN_WITH_ZH = ("Liberation Serif", "DejaVu Serif", "Liberation Sans", "Noto Sans")
ASPECTS = (1.414, 1.294, 1.2, 1.0, 0.8)  # height / width: A4, letter, shorter pages, slides
PAPERS = ("#ffffff", "#ffffff", "#ffffff", "#fbf8ef", "#f6f6f4")
INKS = ("#000000", "#111111", "#1c1c1c", "#0b1a33", "#2b1a0c")
VIEWPORT = (1200, 1600)
WINDOW = 48  # blocks sent for a page of a whole document at first (more when they all fit)


class Options(BrowserOptions):
    lang: Literal["en", "zh", "mix"] = "mix"
    zh_probability: float = pydantic.Field(0.4, ge=0, le=1)
    page_width: tuple[int, int] = (640, 1000)
    max_height: int = pydantic.Field(1400, le=VIEWPORT[1])
    font_px: tuple[int, int] = (13, 19)
    line_height: tuple[float, float] = (1.3, 1.75)
    two_column_probability: float = pydantic.Field(0.3, ge=0, le=1)
    margin: tuple[float, float] = (0.04, 0.09)  # each side, fraction of the page width
    justify_probability: float = pydantic.Field(0.5, ge=0, le=1)
    pages: tuple[int, int] = (1, 1)  # pages per sample: 2-8 is GOT's multi-page OCR

    @pydantic.field_validator("pages")
    @classmethod
    def _pages(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1] <= 8:
            raise ValueError(f"pages must be [low, high] within 1..8, found {list(value)}")
        return value

    @pydantic.field_validator("page_width")
    @classmethod
    def _width(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 300 <= value[0] <= value[1] <= VIEWPORT[0]:
            raise ValueError(f"page_width must be [low, high] within 300..{VIEWPORT[0]}, found {list(value)}")
        return value


class MathpixDocRenderer:
    name: ClassVar[str] = "mathpix-doc"
    markup: ClassVar[str] = "mmd"
    task: ClassVar[str] = "format"
    version: ClassVar[str] = "8"
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: Options | None = None, corpus_path: Path | None = None) -> None:
        self.options = options or Options()
        self.corpus: IndexedCorpus[Document] | None = user_documents(corpus_path) if corpus_path is not None else None
        # A user document may show images from its own folder, and no other file.
        readable = () if corpus_path is None else (corpus_path if corpus_path.is_dir() else corpus_path.parent,)
        self.page = BrowserPage(JS_DIR / "mathpix.html", viewport=VIEWPORT, timeout_s=self.options.timeout_s,
                                recycle_every=self.options.recycle_every, readable=readable)

    def sample_look(self, rng: np.random.Generator, lang: str) -> dict[str, Any]:
        o = self.options
        width = int(rng.integers(o.page_width[0], o.page_width[1] + 1))
        height = min(int(width * ASPECTS[int(rng.integers(len(ASPECTS)))]), o.max_height)
        margins = [round(width * float(rng.uniform(*o.margin))) for _ in range(4)]
        columns = 2 if rng.random() < o.two_column_probability and width >= 700 else 1
        font = FONTS[lang][int(rng.integers(len(FONTS[lang])))]
        if lang == "zh":  # Latin letters and digits from a Latin face, the rest from the CJK face
            font = f"'{LATIN_WITH_ZH[int(rng.integers(len(LATIN_WITH_ZH)))]}', '{font}'"
        else:
            font = f"'{font}', 'Noto Serif CJK SC'"
        return {
            "width": width,
            "height": height,
            "margin": margins,
            "columns": columns,
            "gap": round(width * float(rng.uniform(0.03, 0.06))),
            "font_family": font,
            "font_px": int(rng.integers(o.font_px[0], o.font_px[1] + 1)),
            "line_height": round(float(rng.uniform(*o.line_height)), 2),
            "align": "justify" if rng.random() < o.justify_probability else "left",
            "ink": INKS[int(rng.integers(len(INKS)))],
            "paper": PAPERS[int(rng.integers(len(PAPERS)))],
        }

    def _pages_per_sample(self, rng: np.random.Generator) -> int:
        o = self.options
        return 1 if o.pages == (1, 1) else int(rng.integers(o.pages[0], o.pages[1] + 1))

    def render(self, rng: np.random.Generator) -> Sample:
        o = self.options
        n_pages = self._pages_per_sample(rng)
        if self.corpus is not None:
            index, document = self.corpus.draw(rng)
            start = int(rng.integers(len(document.blocks)))
            blocks = document.blocks[start:]
            lang = document.lang
            meta: dict[str, Any] = {"origin": "user", "item": index, "first_block": start}
            look = self.sample_look(rng, lang)
        else:
            lang = o.lang if o.lang != "mix" else ("zh" if rng.random() < o.zh_probability else "en")
            look = self.sample_look(rng, lang)
            column_px = (look["width"] - look["margin"][1] - look["margin"][3]
                         - (look["columns"] - 1) * look["gap"]) / look["columns"]
            char_px = look["font_px"] * (1.0 if lang == "zh" else 0.5)
            column_chars = max(10, int(column_px / char_px))
            lines = (look["height"] - look["margin"][0] - look["margin"][2]) / (look["font_px"] * look["line_height"])
            capacity = int(lines * look["columns"] * column_chars) * n_pages
            document = random_document(rng, lang, capacity, column_chars)
            blocks = document.blocks
            meta = {"origin": "generated", "block_kinds": document.record["kinds"]}
        pngs, kept, page_blocks, texts = self._render_pages(list(blocks), look, n_pages)
        if "block_kinds" in meta:
            meta["block_kinds"] = [meta["block_kinds"][i] for i in kept]
        meta["offered_blocks"] = len(blocks)
        return self._sample(list(blocks), kept, pngs, page_blocks, look, lang, meta, n_pages, texts)

    def render_item(self, item: Document, rng: np.random.Generator) -> list[Sample]:
        """The whole document, flowing over consecutive pages in one look: one part per page, or per
        run of pages with ``pages``. The parts' targets joined by a blank line are the document's
        ``.mmd`` (its blocks so joined); a block that fits no column rejects the draw."""
        look = self.sample_look(rng, item.lang)
        blocks = list(item.blocks)
        parts: list[Sample] = []
        start = 0
        while start < len(blocks):
            n_pages = self._pages_per_sample(rng)
            pngs, kept, page_blocks, texts = self._render_pages(blocks, look, n_pages, start, window=WINDOW)
            if kept != list(range(start, start + len(kept))):
                left_out = sorted(set(range(start, kept[-1] + 1)) - set(kept))
                raise Reject("block-left-out", f"block {left_out[0]} fits no column: {blocks[left_out[0]][:60]!r}")
            meta = {"origin": "user", "first_block": start}
            parts.append(self._sample(blocks, kept, pngs, page_blocks, look, item.lang, meta, n_pages, texts))
            start = kept[-1] + 1
        return parts

    def _sample(self, blocks: list[str], kept: list[int], pngs: list[bytes], page_blocks: list[int],
                look: dict[str, Any], lang: str, meta: dict[str, Any], n_pages: int, texts: list[str]) -> Sample:
        target = "\n\n".join(blocks[i] for i in kept)
        if n_pages > 1:
            meta["page_blocks"] = page_blocks
        meta.update(look, lang=lang, blocks=len(kept), plain=mmd_to_plain(target))
        images = [Image.open(io.BytesIO(png)) for png in pngs]
        return Sample(images, target, meta, png=pngs, drawn={"texts": texts})

    def _render_pages(self, blocks: list[str], look: dict[str, Any], n_pages: int, first: int = 0,
                      window: int | None = None) -> tuple[list[bytes], list[int], list[int], list[str]]:
        """Up to ``n_pages`` pages of one look from block ``first`` on, the blocks flowing from page
        to page as in a document: each page starts at the block after the last one the page before
        kept. Returns the pages' PNGs, the indices of the blocks drawn, how many each page drew and
        the text drawn of each block drawn (for ``validate``); fewer pages when the blocks run out first. ``window``: blocks sent for a page, doubled while
        the page keeps all of them (a block's place depends only on the blocks before it), so a
        long document is not sent whole for every page."""
        pngs: list[bytes] = []
        kept: list[int] = []
        page_blocks: list[int] = []
        texts: list[str] = []
        start = first
        while len(pngs) < n_pages and start < len(blocks):
            size = window or len(blocks)
            while True:
                captured = self.page.render("renderDocument", {"blocks": blocks[start:start + size], **look})
                on_page = [start + int(i) for i in captured.result["kept"]]
                if start + size >= len(blocks) or on_page[-1] < start + size - 1:
                    break
                size *= 2
            assert captured.png is not None
            pngs.append(captured.png)
            kept += on_page
            texts += captured.result["texts"]
            page_blocks.append(len(on_page))
            start = on_page[-1] + 1
        return pngs, kept, page_blocks, texts

    def validate(self, sample: Sample) -> None:
        """The pages have the size in the meta, and each block of the target, and the recorded plain
        reading as a whole, hold the letters and digits the browser drew (its text, the glyphs of its
        formulas, the numbers of its lists: :func:`renderers.readback.word_counts`)."""
        if not sample.meta["plain"].strip():
            raise Reject("empty-plain", "the page reads as no text")
        for image in sample.images:
            if image.size != (sample.meta["width"], sample.meta["height"]):
                raise Reject("bad-image", f"image is {image.size}, meta says "
                                          f"{sample.meta['width']}x{sample.meta['height']}")
        if "texts" not in sample.drawn:
            raise Reject("nothing-to-check", "the sample carries no drawn text")
        drawn, blocks = sample.drawn["texts"], split_blocks(sample.target)
        if len(blocks) != len(drawn):
            raise Reject("block-not-drawn", f"the target has {len(blocks)} blocks, the pages {len(drawn)}")
        for number, (block, text) in enumerate(zip(blocks, drawn, strict=True)):
            label, shown = word_counts(block_plain(block)), word_counts(text)
            if label != shown:
                raise Reject("text-not-drawn", f"block {number + 1}: {count_difference(label, shown)}")
        label, shown = word_counts(sample.meta["plain"]), word_counts(" ".join(drawn))
        if label != shown:
            raise Reject("text-not-drawn", f"plain reading: {count_difference(label, shown)}")

    def close(self) -> None:
        self.page.close()
