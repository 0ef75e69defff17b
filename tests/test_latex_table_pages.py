"""A long LaTeX table broken over pages (latex-table's ``pages``): page count, the target the whole
table, the pages' rows joining back to it, the same columns on every page, and the prompt."""

from __future__ import annotations

import re

import numpy as np
import pytest

from corpora.tables import plain_cells, random_table, row_cells
from got_model.prompts import MULTI_PAGE
from pipelines.render.stored_meta import shard_meta
from renderers.base import Reject, Sample
from renderers.latex_table import LatexTableRenderer, Options
from renderers.latex_table_pages import page_bodies, page_breaks, source_rows


def test_pages_hold_every_row_once_and_break_between_groups() -> None:
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n_pages = int(rng.integers(2, 5))
        table = random_table(rng, "en", (n_pages * 8, n_pages * 16))
        breaks = page_breaks(table, n_pages, rng)
        assert len(breaks) == n_pages - 1 and breaks == sorted(set(breaks))
        _, rows, _ = source_rows(table.latex)
        assert all(row_cells(rows[i])[0] for i in breaks), "a page starts inside a multirow group"
        bodies = page_bodies(table, breaks)
        kept = [line for body in bodies for line in body.split("\n") if line.endswith("\\\\")]
        assert kept == rows  # every row, once, in order
        specs = [next(line for line in body.split("\n") if line.startswith("\\begin{tabular}{")) for body in bodies]
        assert all(spec.count("}{\\gfw") == table.record["columns"] for spec in specs)  # measured columns


@pytest.fixture(scope="module")
def renderer():
    made = LatexTableRenderer(Options(pages=(2, 3), lang="en", batch_size=4))
    yield made
    made.close()


def test_a_long_table_over_pages(renderer) -> None:
    samples = renderer.render_batch([np.random.default_rng(seed) for seed in range(3)])
    for seed, sample in enumerate(samples):
        assert isinstance(sample, Sample), sample
        renderer.validate(sample)
        meta = sample.meta
        assert 2 <= len(sample.images) <= 3 and len(meta["page_breaks"]) == len(sample.images) - 1
        assert len({image.width for image in sample.images}) == 1, "the columns change from page to page"
        assert sample.target.startswith("\\begin{tabular}") and sample.target.count("\\begin{tabular}") == 1
        assert len(plain_cells(sample.target)) == meta["table"]["rows"] >= 16
        stored = shard_meta(renderer, sample, seed=seed, attempt=0)
        assert stored["pages"] == len(sample.images) and stored["prompt"] == MULTI_PAGE
    again = renderer.render(np.random.default_rng(1))  # a batch of one gives the same pages
    assert [p.tobytes() for p in again.images] == [p.tobytes() for p in samples[1].images]


def test_a_cell_changed_in_the_target_is_rejected(renderer) -> None:
    sample = renderer.render(np.random.default_rng(0))
    number = re.findall(r"\d+\.\d+", sample.target)[-1]  # a cell on the last page
    changed = sample.target[::-1].replace(number[::-1], (number + "1")[::-1], 1)[::-1]
    assert changed != sample.target
    with pytest.raises(Reject):
        renderer.validate(Sample(sample.images, changed, sample.meta, drawn=sample.drawn))
