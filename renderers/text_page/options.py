"""The text-page renderer's options (the ranges every page and slice choice is drawn from) and the
two draws from a range."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pydantic

from renderers.base import RendererOptions

Range = tuple[float, float]
IntRange = tuple[int, int]


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
    def _regions_are_for_pages(self) -> Options:
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



def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else float(bounds[0])


def integer(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))

