"""Geometry figures with their TikZ code as the target: GOT's geometry data (Wei et al. 2024, "General
OCR Theory": TikZ-drawn points, segments, polygons, circles and curves, the TikZ source as the answer).

Each sample draws its figure from the ``rng`` (``corpora.geometry.random_figure``: triangles,
rectangles, circles and their combinations with labels, angle marks, dashed constructions, and lines,
parabolas, ellipses and hyperbolas on coordinate axes) or takes one from a user folder of ``.tikz``
files; the page is compiled by the shared batched LaTeX back-end (:mod:`renderers.backends.latex`, pdfLaTeX,
many samples per run) and rasterised at a sampled resolution.

Label rule: the target is the whole ``tikzpicture`` environment, and the page's body is exactly the
target (nothing added), under the fixed :data:`PREAMBLE`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic

from corpora.geometry import KINDS, TIKZ_LIBRARIES, Figure, random_figure, user_figures
from corpora.indexed import IndexedCorpus
from renderers.backends.latex import Job, LatexPool, page_sample
from renderers.base import PositiveIntRange, Reject, RendererOptions, Sample, render_one, render_one_item
from renderers.readback import char_counts, count_difference
from renderers.tikz_text import picture_text

PREAMBLE = ("\\documentclass[multi=gfpage,border=8pt]{standalone}\n\\usepackage{lmodern}\n\\usepackage{amsmath}\n"
            f"\\usepackage{{tikz}}\n\\usetikzlibrary{{{','.join(TIKZ_LIBRARIES)}}}\n")


class Options(RendererOptions):
    kinds: tuple[str, ...] = KINDS  # figure kinds drawn with equal chance
    dpi: PositiveIntRange = (100, 180)  # rasterising resolution, sampled per sample
    batch_size: int = pydantic.Field(48, ge=1, le=500)  # samples per LaTeX run (render_batch)
    timeout: float = pydantic.Field(60.0, gt=0)  # seconds per LaTeX run
    max_side: int = pydantic.Field(1600, ge=64)  # pixels; larger pages are rasterised smaller

    @pydantic.field_validator("kinds")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(KINDS))
        if not value or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}; unknown: {unknown}")
        return value


class GeometryRenderer:
    name = "geometry"
    markup = "tikz"
    task = "format"
    version = "3"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.batch_size = options.batch_size
        self.corpus: IndexedCorpus[Figure] | None = user_figures(corpus_path) if corpus_path is not None else None
        self.pool = LatexPool({"pdflatex": PREAMBLE}, options.timeout, options.max_side)

    def record(self, rng: np.random.Generator) -> tuple[Figure, dict]:
        figure = self.corpus.sample(rng) if self.corpus is not None else random_figure(rng, self.options.kinds)
        return self.record_for(figure, rng)

    def record_for(self, figure: Figure, rng: np.random.Generator) -> tuple[Figure, dict]:
        dpi = int(rng.integers(self.options.dpi[0], self.options.dpi[1] + 1))
        meta = {
            "lang": "en", "engine": "pdflatex", "figure": figure.record, "dpi": dpi,
            "corpus": self.corpus.source if self.corpus is not None else "generated",
        }
        return figure, meta

    def render_batch(self, rngs: list[np.random.Generator]) -> list[Sample | Reject]:
        return self._compile([self.record(rng) for rng in rngs])

    def render_items(self, items: list[Figure], rngs: list[np.random.Generator]) -> list[list[Sample] | Reject]:
        """A figure is one part; a batch of figures is one LaTeX run."""
        pages = self._compile([self.record_for(figure, rng) for figure, rng in zip(items, rngs, strict=True)])
        return [page if isinstance(page, Reject) else [page] for page in pages]

    def _compile(self, drawn: list[tuple[Figure, dict]]) -> list[Sample | Reject]:
        pages = self.pool.compile([Job("pdflatex", figure.tikz, meta["dpi"] / 72.0) for figure, meta in drawn])
        return [page_sample(page, figure.tikz, meta) for (figure, meta), page in zip(drawn, pages)]

    def render(self, rng: np.random.Generator) -> Sample:
        return render_one(self, rng)

    def render_item(self, item: Figure, rng: np.random.Generator) -> list[Sample]:
        return render_one_item(self, item, rng)


    def validate(self, sample: Sample) -> None:
        """The target is one ``tikzpicture`` whose texts (node contents, quoted and ``label=`` labels,
        :mod:`renderers.tikz_text`) are the text of the PDF page, character for character in any
        order (:func:`renderers.readback.char_counts`): nothing of them missing from the page, and
        nothing on the page that none of them holds (where every text could be read)."""
        target = sample.target.strip()
        if not (target.startswith("\\begin{tikzpicture}") and target.endswith("\\end{tikzpicture}")):
            raise Reject("not-a-tikzpicture", target[:60])
        if "text" not in sample.drawn:
            raise Reject("nothing-to-check", "the sample carries no PDF text")
        picture = picture_text(target)
        labels, page = char_counts("".join(picture.texts)), char_counts(sample.drawn["text"])
        if labels - page:
            raise Reject("label-not-drawn", count_difference(labels, page))
        if page - labels and picture.complete:
            raise Reject("text-not-in-label", count_difference(labels, page))

    def close(self) -> None:
        self.pool.close()
