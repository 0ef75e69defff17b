"""The text-page renderer's options (the ranges every page and slice choice is drawn from) and the
two draws from a range."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pydantic

from corpora.langs import LANG_SCRIPT
from renderers.base import RendererOptions

Range = tuple[float, float]
IntRange = tuple[int, int]


class Options(RendererOptions):
    # An ISO 639-1 code (corpora.langs), "mix" (English or Chinese by zh_prob; with a user corpus, the
    # language of each passage drawn) or languages by weight ({en: 1, ru: 0.2, ar: 0.2}).
    lang: str | dict[str, float] = "mix"
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
    # hand: handwriting faces drawn glyph by glyph on notebook paper (renderers.text_page.hand; slices
    # draw the face whole), for the languages a handwriting face covers (Latin; Cyrillic, Chinese and
    # Japanese in Kai faces); the others stay printed.
    styles: dict[Literal["serif", "sans", "mono", "hand"], float] = pydantic.Field(
        default_factory=lambda: {"serif": 0.5, "sans": 0.4, "mono": 0.1}
    )
    papers: dict[Literal["plain", "lined", "squared"], float] = pydantic.Field(  # of handwritten pages
        default_factory=lambda: {"plain": 0.3, "lined": 0.45, "squared": 0.25})
    cross_out: Range = (0.0, 0.04)  # handwritten pages: chance per word of a crossed-out word before it
    pages: IntRange = (1, 1)  # page images per sample: 2-8 is GOT's multi-page OCR, one look, text flowing on
    # What a page's target covers: the whole page, a box-guided region or a colour-guided one.
    regions: dict[Literal["page", "box", "color"], float] = pydantic.Field(default_factory=lambda: {"page": 1.0})
    region_lines: IntRange = (1, 6)  # consecutive lines of one column in a region
    # > 0: pages for GOT's multi-crop training, cut into at most this many tiles plus a thumbnail by
    # the trainer (meta["crops"]); meant for large pages (page_width/page_height of 2000 px or more).
    crops: int = pydantic.Field(0, ge=0, le=12)

    @pydantic.field_validator(
        "slice_words", "slice_lines", "slice_font_px", "page_width", "page_height", "font_px",
        "margin", "column_gap", "line_spacing", "paragraph_spacing", "region_lines", "cross_out", "pages",
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
    def _regions_are_for_pages(self) -> Options:
        fine_grained = any(w > 0 for r, w in self.regions.items() if r != "page")
        if self.slice and fine_grained:
            raise ValueError("regions (box- and colour-guided targets) apply to pages; with slice: true leave regions at {page: 1}")
        if self.crops and (self.slice or fine_grained):
            raise ValueError("crops (multi-crop pages) go with whole pages only: GOT's multi-crop prompt names no "
                             "box or colour; leave slice false and regions at {page: 1}")
        if self.pages != (1, 1):
            if not 1 <= self.pages[0] <= self.pages[1] <= 8:
                raise ValueError(f"pages must be [low, high] within 1..8, found {list(self.pages)}")
            if self.slice or fine_grained or self.crops:
                raise ValueError("pages (multi-page samples) go with whole pages only: GOT's multi-page prompt names "
                                 "no box, colour or crops; leave slice false, regions at {page: 1} and crops 0")
        if self.region_lines[0] < 1:
            raise ValueError(f"region_lines must start at 1 or more, found {list(self.region_lines)}")
        return self

    @pydantic.field_validator("lang")
    @classmethod
    def _lang(cls, value: Any) -> Any:
        codes = [value] if isinstance(value, str) else list(value)
        unknown = [c for c in codes if c not in LANG_SCRIPT and not (c == "mix" and isinstance(value, str))]
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r}: expected 'mix', an ISO 639-1 code among "
                             f"{sorted(LANG_SCRIPT)}, or such codes by weight")
        if isinstance(value, dict):
            cls._weights(value)
        return value

    @pydantic.field_validator("columns", "styles", "regions", "papers")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        weights = list(value.values()) if isinstance(value, dict) else list(value)
        if not weights or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"expected non-negative weights with a positive sum, found {value}")
        return value



def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else float(bounds[0])


def integer(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))

