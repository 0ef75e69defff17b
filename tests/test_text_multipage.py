"""Multi-page text pages (``pages: [low, high]``, GOT's multi-page OCR): page count, the text
flowing on from page to page, the target joining the pages, and the prompt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from got_model.prompts import MULTI_PAGE
from pipelines.render.checks import check_sample
from pipelines.render.stored_meta import shard_meta
from renderers.text_page import Options, TextPageRenderer

LONG = " ".join(f"Sentence number {i} of a text long enough to fill several pages." for i in range(400))


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_sample_is_a_run_of_pages_in_one_look(lang: str) -> None:
    renderer = TextPageRenderer(Options(lang=lang, pages=(2, 3)))
    for seed in range(3):
        sample = renderer.render(np.random.default_rng(seed))
        check_sample(sample)
        renderer.validate(sample)
        meta = sample.meta
        pages = len(sample.images)
        assert 2 <= pages <= 3 and len({image.size for image in sample.images}) == 1
        assert meta["page_lines"] and len(meta["page_lines"]) == pages and sum(meta["page_lines"]) == meta["n_lines"]
        lines = sample.target.split("\n")
        assert len(lines) == meta["n_lines"] == len(meta["line_boxes"]) == len(meta["line_pages"])
        assert meta["line_pages"] == sorted(meta["line_pages"])
        for page, image in enumerate(sample.images):  # every page carries ink in its own lines' boxes
            ink = np.asarray(image.convert("L")) < 128
            boxes = [b for b, p in zip(meta["line_boxes"], meta["line_pages"], strict=True) if p == page]
            assert boxes and all(ink[b[1]:b[3], b[0]:b[2]].any() for b in boxes)
        stored = shard_meta(renderer, sample, seed=seed, attempt=0)
        assert stored["pages"] == pages and stored["prompt"] == MULTI_PAGE


def test_a_text_in_order_flows_over_runs_of_pages_and_joins_back(tmp_path: Path) -> None:
    corpus = tmp_path / "long.txt"
    corpus.write_text(LONG + "\n", encoding="utf-8")
    single = TextPageRenderer(Options(lang="en", font_px=(24, 24)), corpus)
    multi = TextPageRenderer(Options(lang="en", font_px=(24, 24), pages=(2, 3)), corpus)
    item = single.corpus.item(0)
    pages = single.render_item(item, np.random.default_rng(7))
    runs = multi.render_item(item, np.random.default_rng(7))
    assert len(pages) >= 4 and 1 < len(runs) < len(pages)
    assert sum(len(run.images) for run in runs) == len(pages)
    assert all(len(run.images) <= 3 for run in runs)
    joined = "\n".join(run.target for run in runs)
    assert joined == "\n".join(page.target for page in pages)  # the same lines, only grouped
    assert " ".join(joined.split("\n")) == LONG  # every word, in order, nothing added
    for run in runs:
        multi.validate(run)
        first = sum(len(r.images) for r in runs[:runs.index(run)])
        for k, image in enumerate(run.images):  # each page is the single-page part it continues from
            assert image.tobytes() == pages[first + k].images[0].tobytes()


def test_pages_go_with_whole_pages_only() -> None:
    for options in ({"slice": True}, {"regions": {"page": 0.5, "box": 0.5}}, {"crops": 4}):
        with pytest.raises(ValueError, match="pages"):
            Options(pages=(2, 3), **options)
    with pytest.raises(ValueError, match="pages"):
        Options(pages=(2, 9))
