"""Stitched posters for GOT's multi-crop training: 2-12 samples of other renderers laid out in a grid
on one large image (Wei et al. 2024, "General OCR Theory": for its multi-crop post-training, single
pages were stitched horizontally and vertically into large images).

The parts come from the renderers named in ``renderers`` (drawn by weight; by default text pages
and Mathpix-markdown pages), each built once, through the registry, with its default options and
its built-in corpus, and closed in :meth:`StitchRenderer.close`. Sample, then apply: the part count,
the grid (a row, a column or a block, never more than ``MAX_GRID_ASPECT`` times as many rows as
columns or the other way round), the gap, the margin, the background and each part's renderer and
seed are drawn first; each part is then the sample its renderer makes from
``numpy.random.default_rng(seed)``, a pure function of that child seed. A part that its renderer
rejects, or that is not one whole page (several pages, or a box-, colour- or crop-guided sample,
whose target is not what the picture shows), is drawn again with the next seed drawn from the
poster's generator, up to ``MAX_ATTEMPTS`` times per part.

Layout: parts in row-major order, each centred in its cell (a column as wide as its widest part, a
row as tall as its tallest); the whole poster is scaled down, if needed, so it holds at most
``max_pixels`` (GOT's multi-crop reads at most 12 tiles of 1024 px), and rejected when that would
shrink the parts below ``min_scale``. Target: the parts' targets in that order, joined by a blank
line; task ``format``; ``meta["crops"]`` the 1024-px tiles that cover the poster (at most
``max_crops``), so the trainer cuts GOT's tiles and asks its multi-crop query. ``validate`` reads the
target against the targets of the parts as they were pasted (``Sample.drawn["parts"]``, in order).
``meta["parts"]`` records each part: renderer, version, seed, attempts, language, task, its cell and
box (pixels and 0-1000), and that renderer's own meta under its name.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
import pydantic
from PIL import Image

from renderers import registry
from renderers.base import META_KEYS, PositiveIntRange, Reject, RendererOptions, Sample

MAX_ATTEMPTS = 4  # seeds tried per part before the poster is rejected
TILE = 1024  # GOT's crop side
MAX_GRID_ASPECT = 3  # rows per column (or columns per row) at most: no 1 x 10 strips
NOT_WHOLE_PAGE = ("box", "color", "crops", "pages")  # part meta keys whose target is not the whole picture
PART_JOINER = "\n\n"  # between the parts' targets in the poster's

Weight = Annotated[float, pydantic.Field(ge=0)]


class Options(RendererOptions):
    renderers: dict[str, Weight] = pydantic.Field(default_factory=lambda: {"text-page": 1.0, "mathpix-doc": 1.0})
    parts: PositiveIntRange = (2, 12)
    gap: tuple[int, int] = (0, 24)  # px between cells
    margin: tuple[int, int] = (0, 32)  # px around the grid
    max_pixels: int = pydantic.Field(12 * TILE * TILE, ge=TILE * TILE)
    min_scale: float = pydantic.Field(0.5, gt=0, le=1)  # smaller parts would shrink text past reading
    max_crops: int = pydantic.Field(12, ge=1, le=12)

    @pydantic.field_validator("renderers")
    @classmethod
    def _renderers(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or sum(value.values()) <= 0:
            raise ValueError(f"expected renderer names with weights >= 0 and a positive sum, found {value}")
        if "stitch" in value:
            raise ValueError("stitch cannot be a part of itself")
        return value

    @pydantic.field_validator("parts")
    @classmethod
    def _parts(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 2 <= value[0] <= value[1] <= 12:
            raise ValueError(f"parts must be [low, high] within 2..12, found {list(value)}")
        return value

    @pydantic.field_validator("gap", "margin")
    @classmethod
    def _pixels(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError(f"expected [low, high] pixels with 0 <= low <= high, found {list(value)}")
        return value


class StitchRenderer:
    """Posters of other renderers' pages in a grid, for multi-crop training."""

    name = "stitch"
    markup = "mixed"
    task = "format"
    version = "1"
    Options = Options
    corpus = None  # each part draws from its own renderer's built-in corpus

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        if corpus_path is not None:
            raise ValueError("stitch takes no corpus: its parts draw from their own renderers' corpora")
        self.options = options
        self.names = [name for name, weight in options.renderers.items() if weight > 0]
        weights = np.array([options.renderers[name] for name in self.names], dtype=float)
        self.p = weights / weights.sum()
        classes = {name: registry.load(name) for name in self.names}  # unknown names fail here, listing the known
        self.parts: dict[str, Any] = {}
        try:
            for name, cls in classes.items():
                self.parts[name] = cls(cls.Options(), None)
        except BaseException:
            self.close()
            raise

    # -- sample the record -------------------------------------------------------------------
    def render(self, rng: np.random.Generator) -> Sample:
        o = self.options
        count = int(rng.integers(o.parts[0], o.parts[1] + 1))
        grids = [c for c in range(1, count + 1) if max(c / math.ceil(count / c), math.ceil(count / c) / c) <= MAX_GRID_ASPECT]
        columns = grids[int(rng.integers(len(grids)))]
        gap = int(rng.integers(o.gap[0], o.gap[1] + 1))
        margin = int(rng.integers(o.margin[0], o.margin[1] + 1))
        background = [int(rng.integers(225, 256))] * 3
        chosen = [self.names[int(i)] for i in rng.choice(len(self.names), size=count, p=self.p)]
        seeds = [int(s) for s in rng.integers(2**63, size=count)]
        samples, attempts = self._draw_parts(rng, chosen, seeds)

        images = [np.asarray(s.images[0].convert("RGB")) for s in samples]
        sizes = np.array([[im.shape[1], im.shape[0]] for im in images], dtype=float)  # (parts, width/height)
        natural = _layout(sizes, columns, gap, margin)[0]
        scale = min(1.0, math.sqrt(o.max_pixels / (natural[0] * natural[1])))
        if scale < o.min_scale:
            raise Reject("poster-too-large", f"{natural[0]:.0f}x{natural[1]:.0f} px needs scale {scale:.2f}")
        if scale < 1:  # parts, gap and margin alike, so the poster keeps its proportions
            sizes = np.maximum(1, np.floor(sizes * scale))
            images = [cv2.resize(im, (int(w), int(h)), interpolation=cv2.INTER_AREA) for im, (w, h) in zip(images, sizes)]
            gap, margin = math.floor(gap * scale), math.floor(margin * scale)
        (width, height), origins = _layout(sizes, columns, gap, margin)
        poster = np.empty((height, width, 3), dtype=np.uint8)
        poster[:] = background
        parts, pasted = [], []
        for k, (sample, image, (x, y)) in enumerate(zip(samples, images, origins)):
            h, w = image.shape[:2]
            poster[y:y + h, x:x + w] = image
            pasted.append(sample.target)
            box_px = [x, y, x + w, y + h]
            parts.append(_part_record(chosen[k], self.parts[chosen[k]], sample, seeds[k], attempts[k],
                                      divmod(k, columns), box_px, (width, height)))
        langs = sorted({part["lang"] for part in parts})
        meta = {
            "lang": langs[0] if len(langs) == 1 else "mix",
            "crops": max(1, min(o.max_crops, math.ceil(width / TILE) * math.ceil(height / TILE))),
            "width": width, "height": height, "rows": math.ceil(count / columns), "columns": columns,
            "gap": gap, "margin": margin, "background": background, "scale": round(scale, 4), "parts": parts,
        }
        return Sample([Image.fromarray(poster)], PART_JOINER.join(s.target for s in samples), meta,
                      drawn={"parts": pasted})

    def validate(self, sample: Sample) -> None:
        """Reject a target that is not the pasted parts' targets (each validated by its own renderer
        when drawn) in reading order, or a part whose box is not on the poster."""
        pasted = sample.drawn.get("parts")
        records = sample.meta["parts"]
        if pasted is None or len(pasted) != len(records):
            raise Reject("part-not-drawn", "the sample carries no record of the parts pasted")
        width, height = sample.images[0].size
        for k, record in enumerate(records):
            x0, y0, x1, y1 = record["box_px"]
            if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
                raise Reject("part-not-drawn", f"part {k}'s box {record['box_px']} is not on the {width}x{height} poster")
        at = 0
        for k, target in enumerate(pasted):
            joiner = PART_JOINER if k else ""
            if not sample.target.startswith(joiner + target, at):
                read = sample.target[at + len(joiner):at + len(joiner) + 60]
                raise Reject("text-not-drawn", f"part {k} ({records[k]['renderer']}) drew {target[:60]!r}, the target reads {read!r}")
            at += len(joiner) + len(target)
        if at != len(sample.target):
            raise Reject("text-not-drawn", f"the target goes on past its {len(pasted)} parts: {sample.target[at:at + 60]!r}")

    def _draw_parts(self, rng: np.random.Generator, chosen: list[str], seeds: list[int]) -> tuple[list[Sample], list[int]]:
        """Each part's sample, from its seed; a part that fails is drawn again with a seed from ``rng``
        (in part order, so the retries too are a pure function of ``rng``). Also the seeds used."""
        results: list[Sample | Reject | None] = [None] * len(chosen)
        for name in dict.fromkeys(chosen):  # one batch per renderer: the same samples as one by one
            indices = [k for k, n in enumerate(chosen) if n == name]
            batch = self.parts[name].render_batch([np.random.default_rng(seeds[k]) for k in indices])
            for k, result in zip(indices, batch):
                results[k] = self._checked(name, result)
        attempts = [0] * len(chosen)
        for k, name in enumerate(chosen):
            while isinstance(results[k], Reject):
                if attempts[k] + 1 >= MAX_ATTEMPTS:
                    raise Reject("part-rejected", f"{name}, {MAX_ATTEMPTS} seeds: {results[k]}")
                attempts[k] += 1
                seeds[k] = int(rng.integers(2**63))
                try:
                    results[k] = self._checked(name, self.parts[name].render(np.random.default_rng(seeds[k])))
                except Reject as reject:
                    results[k] = reject
        return results, attempts  # type: ignore[return-value]

    def _checked(self, name: str, result: Sample | Reject) -> Sample | Reject:
        """The part, or why it cannot be one: its renderer's rejection or validation, or not a whole page."""
        if isinstance(result, Reject):
            return result
        if len(result.images) != 1 or any(key in result.meta for key in NOT_WHOLE_PAGE):
            return Reject("not-whole-page", f"{name}: {len(result.images)} images, meta keys {sorted(result.meta)[:8]}")
        try:
            self.parts[name].validate(result)
        except Reject as reject:
            return reject
        return result

    def close(self) -> None:
        # The parts stay: a renderer used after close() starts its back-ends afresh (the engine's restart).
        for renderer in getattr(self, "parts", {}).values():
            renderer.close()


def _layout(sizes: np.ndarray, columns: int, gap: int, margin: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """Poster size and each part's top-left corner: row-major cells, each part centred in its cell."""
    count = len(sizes)
    rows = math.ceil(count / columns)
    widths = np.zeros(columns)
    heights = np.zeros(rows)
    for k, (w, h) in enumerate(sizes):
        row, col = divmod(k, columns)
        widths[col], heights[row] = max(widths[col], w), max(heights[row], h)
    left = margin + np.concatenate([[0], np.cumsum(widths + gap)[:-1]])
    top = margin + np.concatenate([[0], np.cumsum(heights + gap)[:-1]])
    size = (int(2 * margin + widths.sum() + gap * (columns - 1)), int(2 * margin + heights.sum() + gap * (rows - 1)))
    origins = []
    for k, (w, h) in enumerate(sizes):
        row, col = divmod(k, columns)
        origins.append((int(left[col] + (widths[col] - w) // 2), int(top[row] + (heights[row] - h) // 2)))
    return size, origins


def _part_record(name: str, renderer: Any, sample: Sample, seed: int, attempts: int, cell: tuple[int, int],
                 box_px: list[int], size: tuple[int, int]) -> dict[str, Any]:
    """One part's meta: who drew it from which seed, where it is, and its renderer's own choices
    under that renderer's name (as the engine stores a sample's meta, so parts never clash)."""
    width, height = size
    own = {k: v for k, v in sample.meta.items() if k not in META_KEYS}
    return {
        "renderer": name, "renderer_version": str(renderer.version), "seed": seed, "attempts": attempts,
        "lang": sample.meta["lang"], "task": sample.meta.get("task", renderer.task), "cell": list(cell),
        "box_px": box_px,
        "box": [round(1000 * v / side) for v, side in zip(box_px, (width, height, width, height))],
        name: own,
    }
