"""LaTeX tables with their ``tabular`` source as the target: the table part of GOT's formatted-OCR data
(Wei et al. 2024, "General OCR Theory": tables rendered with LaTeX, the LaTeX source as the answer).

Each sample first draws its record from the ``rng`` (language, the table from ``corpora.tables`` or
the user corpus, type style, resolution), then the page is compiled by the shared batched LaTeX
back-end (:mod:`renderers.backends.latex`): English with pdfLaTeX, Chinese with XeLaTeX + xeCJK (Noto CJK SC).
``render_batch`` compiles many samples in one run per engine; ``render`` is a batch of one and gives
the same page (see the batching contract in :mod:`renderers.base`). With ``pages: [low, high]`` a
generated table is long and broken over that many pages (:mod:`renderers.latex_table_pages`, GOT's
multi-page OCR); its target is still the whole ``tabular``.

Label rule: the target is the ``tabular`` environment exactly as compiled. A page's body is
``meta["latex_prefix"]`` (type style: family, size, ``\\arraystretch``, ``\\tabcolsep``) + newline +
target, under the fixed :data:`PREAMBLES`. ``meta["plain"]`` is the table's plain reading (one line
per row, cells tab-separated, via ``pylatexenc``). ``validate`` checks both the target's cells and
the recorded reading against the text of the PDF page that was drawn (the back-end's
``Sample.drawn["text"]``), cell by cell in reading order; a glyph missing from the font rejects the
page in the back-end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pydantic

from corpora.indexed import IndexedCorpus
from corpora.tables import Table, plain_cells, random_table, user_tables
from renderers.backends.latex import Job, LatexPool, Page, page_sample
from renderers.base import (
    PositiveIntRange,
    PositiveRange,
    Reject,
    RendererOptions,
    Sample,
    render_one,
    render_one_item,
)
from renderers.latex_table_pages import page_bodies, page_breaks
from renderers.readback import first_mismatch

_PACKAGES = r"""\usepackage{amsmath,amssymb,array,multirow,booktabs}"""
PREAMBLES = {
    "pdflatex": "\\documentclass[multi=gfpage,border=6pt]{standalone}\n\\usepackage[T1]{fontenc}\n"
                "\\usepackage{lmodern}\n" + _PACKAGES,
    "xelatex": "\\documentclass[multi=gfpage,border=6pt]{standalone}\n" + _PACKAGES + "\n\\usepackage{xeCJK}\n"
               "\\setCJKmainfont{Noto Serif CJK SC}\n\\setCJKsansfont{Noto Sans CJK SC}\n",
}
ENGINE_FOR_LANG = {"en": "pdflatex", "zh": "xelatex"}
SIZES = ("\\small", "\\normalsize", "\\large")

Probability = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]


class Options(RendererOptions):
    lang: Literal["en", "zh", "mix"] = "mix"
    zh_prob: Probability = 0.5  # for lang "mix": chance a sample is Chinese
    dpi: PositiveIntRange = (150, 250)  # rasterising resolution, sampled per sample
    sans_prob: Probability = 0.25
    array_stretch: PositiveRange = (1.0, 1.5)
    tabcolsep_pt: PositiveRange = (4.0, 8.0)
    batch_size: int = pydantic.Field(48, ge=1, le=500)  # samples per engine call (render_batch)
    timeout: float = pydantic.Field(60.0, gt=0)  # seconds per LaTeX run
    max_side: int = pydantic.Field(2048, ge=64)  # pixels; larger pages are rasterised smaller
    pages: PositiveIntRange = (1, 1)  # pages a generated table is broken over: 2-8 is GOT's multi-page OCR
    page_rows: PositiveIntRange = (8, 16)  # body rows per page of a broken table

    @pydantic.field_validator("pages")
    @classmethod
    def _pages(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1] <= 8:
            raise ValueError(f"pages must be [low, high] within 1..8, found {list(value)}")
        return value


class LatexTableRenderer:
    name = "latex-table"
    markup = "latex"
    task = "format"
    version = "3"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.batch_size = options.batch_size
        self.corpus: IndexedCorpus[Table] | None = user_tables(corpus_path) if corpus_path is not None else None
        self.pool = LatexPool(PREAMBLES, options.timeout, options.max_side)

    # -- sample the record -------------------------------------------------------------------------
    def record(self, rng: np.random.Generator) -> tuple[Table, dict[str, Any]]:
        o = self.options
        n_pages = 1
        if self.corpus is not None:
            table = self.corpus.sample(rng)
        else:
            lang = o.lang if o.lang != "mix" else ("zh" if rng.random() < o.zh_prob else "en")
            if o.pages != (1, 1):
                n_pages = int(rng.integers(o.pages[0], o.pages[1] + 1))
            rows = (n_pages * o.page_rows[0], n_pages * o.page_rows[1]) if n_pages > 1 else (2, 8)
            table = random_table(rng, lang, rows)
        table, meta = self.record_for(table, rng)
        if n_pages > 1:
            meta["page_breaks"] = page_breaks(table, n_pages, rng)
        return table, meta

    def record_for(self, table: Table, rng: np.random.Generator) -> tuple[Table, dict[str, Any]]:
        o = self.options
        sans = bool(rng.random() < o.sans_prob)
        size = SIZES[int(rng.integers(len(SIZES)))]
        stretch = round(float(rng.uniform(*o.array_stretch)), 2)
        sep = round(float(rng.uniform(*o.tabcolsep_pt)), 1)
        dpi = int(rng.integers(o.dpi[0], o.dpi[1] + 1))
        prefix = (("\\sffamily" if sans else "") + size + f"\\renewcommand{{\\arraystretch}}{{{stretch}}}"
                  f"\\setlength{{\\tabcolsep}}{{{sep}pt}}")
        meta = {
            "lang": table.lang, "engine": ENGINE_FOR_LANG[table.lang], "table": table.record,
            "plain": table.plain, "latex_prefix": prefix, "dpi": dpi,
            "corpus": self.corpus.source if self.corpus is not None else "generated",
        }
        return table, meta

    # -- apply it ----------------------------------------------------------------------------------
    def render_batch(self, rngs: list[np.random.Generator]) -> list[Sample | Reject]:
        return self._compile([self.record(rng) for rng in rngs])

    def render_items(self, items: list[Table], rngs: list[np.random.Generator]) -> list[list[Sample] | Reject]:
        """A table is one part; a batch of tables is one LaTeX run."""
        pages = self._compile([self.record_for(table, rng) for table, rng in zip(items, rngs, strict=True)])
        return [page if isinstance(page, Reject) else [page] for page in pages]

    def _compile(self, drawn: list[tuple[Table, dict[str, Any]]]) -> list[Sample | Reject]:
        """One LaTeX run per engine for every page of every sample (a broken table's pages are
        consecutive bodies), then each sample's pages back together."""
        bodies = [page_bodies(table, meta["page_breaks"]) if "page_breaks" in meta else [table.latex]
                  for table, meta in drawn]
        jobs = [Job(meta["engine"], f"{meta['latex_prefix']}\n{body}", meta["dpi"] / 72.0)
                for (_, meta), own in zip(drawn, bodies, strict=True) for body in own]
        pages = iter(self.pool.compile(jobs))
        out: list[Sample | Reject] = []
        for (table, meta), own in zip(drawn, bodies, strict=True):
            mine = [next(pages) for _ in own]
            if len(mine) == 1:
                out.append(page_sample(mine[0], table.latex, meta))
            else:
                out.append(_pages_sample(mine, table.latex, meta))
        return out

    def render(self, rng: np.random.Generator) -> Sample:
        return render_one(self, rng)

    def render_item(self, item: Table, rng: np.random.Generator) -> list[Sample]:
        return render_one_item(self, item, rng)


    def validate(self, sample: Sample) -> None:
        """The target's cells, and those of the recorded plain reading, are the text of the PDF page,
        cell by cell in reading order, with nothing else on the page (:func:`renderers.readback.first_mismatch`);
        at least one cell is not empty."""
        try:
            cells = plain_cells(sample.target)
        except ValueError as err:
            raise Reject("unreadable-tabular", str(err)) from err
        if not any(cell for row in cells for cell in row):
            raise Reject("empty-table")
        if "text" not in sample.drawn:
            raise Reject("nothing-to-check", "the sample carries no PDF text")
        recorded = [row.split("\t") for row in sample.meta["plain"].split("\n")]
        for label, rows in (("target", cells), ("plain reading", recorded)):
            _check_cells(label, rows, sample.drawn["text"])

    def close(self) -> None:
        self.pool.close()


def _pages_sample(pages: list[Page | Reject], target: str, meta: dict[str, Any]) -> Sample | Reject:
    """A broken table's pages as one sample (its first reject if a page failed): the first page's
    scale and size in ``meta`` with every page's size, the pages' PDF texts in order for ``validate``."""
    reject = next((page for page in pages if isinstance(page, Reject)), None)
    if reject is not None:
        return reject
    done = [page for page in pages if isinstance(page, Page)]
    meta = {**meta, "scale": done[0].scale, "width": done[0].image.width, "height": done[0].image.height,
            "page_sizes": [[page.image.width, page.image.height] for page in done]}
    return Sample([page.image for page in done], target, meta, drawn={"text": "\n".join(page.text for page in done)})


def _check_cells(label: str, rows: list[list[str]], drawn: str) -> None:
    """Reject ``rows`` unless they are ``drawn``, cell by cell in reading order."""
    flat = [(r, c, cell) for r, row in enumerate(rows) for c, cell in enumerate(row)]
    mismatch = first_mismatch([cell for _, _, cell in flat], drawn)
    if mismatch is None:
        return
    if mismatch.index == len(flat):
        raise Reject("text-not-in-label", f"the page has {mismatch.drawn!r} after the {label}'s last cell")
    r, c, _ = flat[mismatch.index]
    raise Reject("cell-not-drawn", f"{label} row {r + 1} cell {c + 1} reads {mismatch.label!r}, "
                                   f"the page {mismatch.drawn!r}")
