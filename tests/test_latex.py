"""The batched LaTeX back-end (renderers/latex.py) and the engine's batch path, with real pdfLaTeX and
pdfium: error mapping within a batch, the timeout, the sandbox against unsafe input, and batching
that changes speed but never bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from corpora.base import BadItem
from corpora.geometry import parse_figure
from corpora.latex_source import unsafe_command
from corpora.tables import parse_table
from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.run import render_run
from renderers.backends.latex import LatexBackend, Page
from renderers.base import Reject

PREAMBLE = "\\documentclass[multi=gfpage,border=2pt]{standalone}\n\\usepackage{amsmath}"
GOOD = [f"\\begin{{tabular}}{{|c|c|}}\\hline {i} & $x^{{{i}}}$\\\\\\hline\\end{{tabular}}" for i in range(6)]


@pytest.fixture(scope="module")
def backend():
    b = LatexBackend("pdflatex", PREAMBLE, timeout=20)
    yield b
    b.close()


def pixels(page: Page) -> bytes:
    return page.image.tobytes()


def test_a_broken_sample_is_rejected_alone_and_the_others_keep_their_pages(backend):
    bodies = GOOD[:3] + ["\\begin{tabular}{cc} a & \\nosuchmacro \\\\ \\end{tabular}"] + GOOD[3:] + ["{unclosed"]
    results = backend.compile(bodies, [2.0] * len(bodies))
    assert [isinstance(r, Reject) for r in results] == [False] * 3 + [True] + [False] * 3 + [True]
    assert results[3].reason == "latex-error" and "Undefined control sequence" in results[3].detail
    assert "\\nosuchmacro" in results[3].detail  # the LaTeX error line names the culprit
    assert results[-1].reason == "latex-error"
    # Every good page is the page that body gives when compiled alone.
    for i, body in ((0, GOOD[0]), (4, GOOD[3]), (6, GOOD[5])):
        alone = backend.compile([body], [2.0])[0]
        assert pixels(results[i]) == pixels(alone) and results[i].image.size == alone.image.size
    # Pages follow their bodies: different digits, different pixels.
    assert pixels(results[0]) != pixels(results[1])


def test_each_page_carries_its_own_text_from_the_pdf(backend):
    pages = backend.compile(GOOD[:3], [1.0] * 3)
    assert [" ".join(page.text.split()) for page in pages] == [f"{i} x\n{i}".replace("\n", " ") for i in range(3)]


@pytest.mark.parametrize(("engine", "lost"), [
    ("pdflatex", "{\\usefont{U}{msa}{m}{n}\\char200}"),  # a slot the AMS symbol font leaves empty
    ("xelatex", "\u0a50"),  # Gurmukhi, which Latin Modern lacks
])
def test_a_glyph_missing_from_the_font_rejects_its_sample_alone(engine, lost):
    """TeX only logs a missing glyph and draws nothing: the page would lack what its body says."""
    latex = LatexBackend(engine, PREAMBLE, timeout=20)
    try:
        results = latex.compile(["one", f"two {lost} three", "four"], [1.0] * 3)
        assert [isinstance(r, Reject) for r in results] == [False, True, False]
        assert results[1].reason == "missing-character" and "There is no" not in results[1].detail
        assert [r.text for r in (results[0], results[2])] == ["one", "four"]
        assert latex.compile([f"two {lost} three"], [1.0])[0].reason == "missing-character"
    finally:
        latex.close()


def test_a_fatal_error_mid_batch_loses_no_other_sample(backend):
    """``\\openout`` to a refused name stops TeX in nonstop mode; the batch is redone without it."""
    bodies = [GOOD[0], "\\immediate\\openout15=../escape.tex x", GOOD[1], GOOD[2]]
    results = backend.compile(bodies, [1.0] * 4)
    assert [isinstance(r, Reject) for r in results] == [False, True, False, False]
    assert "can't write on file" in results[1].detail


def test_a_run_that_never_ends_is_killed_by_its_timeout():
    backend = LatexBackend("pdflatex", PREAMBLE, timeout=2)
    try:
        started = time.perf_counter()
        results = backend.compile([GOOD[0], "\\def\\loop{\\loop}\\loop", GOOD[1]], [1.0] * 3)
        elapsed = time.perf_counter() - started
        assert isinstance(results[1], Reject) and results[1].reason == "latex-timeout"
        assert isinstance(results[0], Page) and isinstance(results[2], Page)
        assert elapsed < 15, f"took {elapsed:.1f} s"
        assert len(backend.killed) == 2  # the batch run, then the looping body alone
        for group in backend.killed:
            with pytest.raises(ProcessLookupError):  # nothing of a killed run's process group is left
                os.killpg(group, 0)
    finally:
        backend.close()


def test_the_preamble_format_changes_speed_not_pixels():
    from corpora.geometry import random_figure
    from renderers.geometry import PREAMBLE as TIKZ

    figure = random_figure(np.random.default_rng(7), ("triangle",)).tikz
    backends = [LatexBackend("pdflatex", TIKZ, timeout=20, use_format=flag) for flag in (True, False)]
    try:
        bodies = [GOOD[1], figure]
        with_format, without = (b.compile(bodies, [2.0, 2.0]) for b in backends)
        assert backends[0].format_path and backends[1].format_path is None
        assert [pixels(p) for p in with_format] == [pixels(p) for p in without]
    finally:
        for b in backends:
            b.close()


def test_reading_files_outside_the_working_directory_is_refused(backend, tmp_path):
    secret = tmp_path / "secret.tex"
    secret.write_text("\\rule{4cm}{4cm}\n")
    for body in (f"\\input{{{secret}}}", f"\\input{{{os.path.relpath(secret, '/tmp/x/y')}}}",
                 f"\\newread\\r\\openin\\r={secret} \\read\\r to\\l \\l"):
        result = backend.compile([body], [1.0])[0]
        assert isinstance(result, Reject) and result.reason == "latex-error", body
    # pdfTeX's file primitives read nothing either: the page equals the one with empty brackets.
    dump, empty = backend.compile([f"A[\\pdffiledump length 8 {{{secret}}}]B", "A[]B"], [2.0, 2.0])
    assert pixels(dump) == pixels(empty)
    # Without the sandbox the same file would have been read (the test can fail).
    shown = backend.compile(["\\rule{4cm}{4cm}"], [1.0])[0]
    assert isinstance(shown, Page) and shown.image.width > 100


def test_commands_and_file_writes_are_harmless(backend, tmp_path):
    marker = tmp_path / "shell-ran"
    result = backend.compile([f"\\immediate\\write18{{touch {marker}}}ok"], [1.0])[0]
    assert isinstance(result, Page) and not marker.exists()  # no shell escape: written to the log only
    for target in (tmp_path / "written.tex", Path("..") / "written.tex"):
        result = backend.compile([f"\\immediate\\openout15={target} \\immediate\\write15{{x}}ok"], [1.0])[0]
        assert isinstance(result, Reject) and "can't write" in result.detail
    assert not (tmp_path / "written.tex").exists()
    root, kept = backend.root, Path(backend.format_path).parent  # the preamble's format is kept
    assert root is not None and [p for p in Path(root).iterdir() if p != kept] == []  # runs leave nothing


@pytest.mark.parametrize("item", [
    "\\input{/etc/passwd}", "\\include{x}", "\\immediate\\write18{ls}", "\\write18{ls}",
    "\\immediate\\openout1=x.tex", "\\openin1=/etc/hostname", "\\catcode`\\^=7", "^^5cinput{/etc/passwd}",
    "\\def\\a{b}", "\\usepackage{x}", "\\end{document}", "\\pdffiledump length 8 {/etc/hostname}",
])
def test_unsafe_corpus_items_are_refused(item):
    assert unsafe_command(item) is not None
    with pytest.raises(BadItem, match="unsafe-command"):
        parse_table(f"\\begin{{tabular}}{{c}} {item} \\\\ \\end{{tabular}}")
    with pytest.raises(BadItem, match="unsafe-command"):
        parse_figure(f"\\begin{{tikzpicture}} \\node {{{item}}}; \\end{{tikzpicture}}")


def test_safe_environments_may_close():
    assert unsafe_command("\\begin{tabular}{c} x \\\\ \\end{tabular}") is None


# -- the engine's batch path ------------------------------------------------------------------------

def table_run(corpus: Path, batch_size: int, samples: int = 8, shard_size: int = 4) -> RunConfig:
    # order: sample draws the three files again and again, so a rejected draw is retried with the next seed
    job = RendererJob(name="latex-table", samples=samples, corpus=str(corpus), order="sample",
                      options={"batch_size": batch_size, "dpi": [72, 90]})
    return RunConfig(seed=5, shard_size=shard_size, renderers=(job,))


def tars(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*.tar"))}


def test_batches_with_a_reject_keep_order_and_bytes(tmp_path):
    """A corpus item that LaTeX rejects is retried with the next seed; batch size 1 and 3 and one or
    two workers give the same tars, samples in index order."""
    corpus = tmp_path / "tables"
    corpus.mkdir()
    (corpus / "a.tex").write_text("\\begin{tabular}{|l|r|}\\hline alpha & 1 \\\\ \\hline\\end{tabular}")
    (corpus / "b.tex").write_text("\\begin{tabular}{cc} beta & $y^2$ \\\\ \\end{tabular}")
    (corpus / "c.tex").write_text("\\begin{tabular}{cc} gamma & \\nosuchmacro \\\\ \\end{tabular}")
    one = render_run(table_run(corpus, 1), tmp_path / "b1", workers=1, show_progress=False)
    four = render_run(table_run(corpus, 3), tmp_path / "b4", workers=1, show_progress=False)
    render_run(table_run(corpus, 3), tmp_path / "b4w2", workers=2, show_progress=False)
    assert one["rejects"].get("latex-error", 0) > 0 and one["rejects"] == four["rejects"]
    assert tars(tmp_path / "b1") == tars(tmp_path / "b4") == tars(tmp_path / "b4w2")
    import webdataset as wds

    urls = sorted(str(p) for p in (tmp_path / "b4" / "latex-table").glob("*.tar"))
    rows = list(wds.WebDataset(urls, shardshuffle=False))
    assert [r["__key__"] for r in rows] == [f"latex-table-{s:06d}-{i:06d}" for s in range(2) for i in range(4)]
    assert all(b"nosuchmacro" not in r["txt"] for r in rows)
    assert {r["txt"].split(b" ")[0] for r in rows} <= {b"\\begin{tabular}{|l|r|}\\hline", b"\\begin{tabular}{cc}"}


def test_render_batch_equals_render_one_by_one():
    from renderers.geometry import GeometryRenderer

    renderer = GeometryRenderer(GeometryRenderer.Options(dpi=(60, 80)))
    try:
        seeds = [11, 12, 13, 14]
        batch = renderer.render_batch([np.random.default_rng(s) for s in seeds])
        runs = renderer.pool.runs
        assert runs == 1  # one LaTeX run for the whole batch
        for seed, sample in zip(seeds[:2], batch):
            single = renderer.render(np.random.default_rng(seed))
            assert single.target == sample.target and single.meta == sample.meta
            assert single.images[0].tobytes() == sample.images[0].tobytes()
    finally:
        renderer.close()
