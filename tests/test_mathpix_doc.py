"""Mathpix-markdown documents (corpora/documents.py) and the `mathpix-doc` renderer in real Chromium:
exact .mmd targets, plain readings, tables and math, user files, and safety (HTML in corpus text is
drawn literally and runs nothing; a non-local image is blocked and the sample rejected)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from corpora import documents
from corpora.documents import escape_text, mathpix_tabular, mmd_to_plain, random_document, split_blocks
from corpora.indexed import in_memory
from corpora.tables import random_table
from renderers.base import Reject
from renderers.mathpix_doc import MathpixDocRenderer

HOSTILE = '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> costs $5 * 2_3 # \\alpha'


@pytest.fixture(scope="module")
def renderer():
    instance = MathpixDocRenderer()
    yield instance
    instance.close()


def stage(renderer, script: str):
    return renderer.page._session.page.evaluate(script)


def test_escaped_corpus_text_reads_back_exactly():
    for text in (HOSTILE, "- not a list", "12. not a list either", "# not a heading", "> no quote",
                 "a \\[ b \\] c", "under_score and back\\slash", "中文，$价格$。"):
        assert mmd_to_plain(escape_text(text)) == text


def test_plain_reading_of_mmd():
    mmd = ("# Title\n\nText with $\\alpha^{2}$ and \\$5.\n\n\\[\n\\frac{a}{b}\n\\]\n\n- one\n- two\n\n"
           "\\begin{tabular}{|l|r|}\n\\hline\nname & value \\\\\n\\hline\nx & 1.5 \\\\\n\\hline\n\\end{tabular}")
    assert mmd_to_plain(mmd) == "Title\nText with α^2 and $5.\na/b\n• one\n• two\nname\tvalue\nx\t1.5"


def test_tables_are_in_the_mathpix_dialect_and_read_as_the_table_corpus_reads_them():
    for seed in range(40):
        table = random_table(np.random.default_rng(seed), "en" if seed % 2 else "zh")
        latex = mathpix_tabular(table.latex)
        assert not re.search(r"\\(toprule|midrule|bottomrule|cmidrule)", latex)
        assert mmd_to_plain(latex) == table.plain


def test_generated_documents_have_every_block_kind():
    kinds = set()
    for seed in range(20):
        doc = random_document(np.random.default_rng(seed), "en" if seed % 2 else "zh", 3000, 60)
        kinds |= set(doc.record["kinds"])
        assert split_blocks(doc.mmd) == list(doc.blocks)
        # Every unescaped $ belongs to an inline formula that opens and closes with no space inside.
        dollars = len(re.findall(r"(?<!\\)\$", doc.mmd))
        assert dollars == 2 * len(re.findall(r"(?<!\\)\$(?! )[^$]+?(?<![ \\])\$", doc.mmd))
    assert kinds == {"title", "heading", "paragraph", "display-math", "list", "table"}


def test_target_is_the_rendered_mmd_with_its_plain_reading(renderer):
    def columns(seed: int) -> int:  # the renderer's first draws: the language, then the look
        rng = np.random.default_rng(seed)
        lang = "zh" if rng.random() < renderer.options.zh_probability else "en"
        return renderer.sample_look(rng, lang)["columns"]

    two_columns = next(seed for seed in range(100) if columns(seed) == 2)
    seen_columns, seen_langs, seen_tables = set(), set(), False
    for seed in [*range(5), two_columns]:
        sample = renderer.render(np.random.default_rng(seed))
        renderer.validate(sample)
        blocks = split_blocks(sample.target)
        assert len(blocks) == sample.meta["blocks"]
        assert stage(renderer, "document.querySelectorAll('#stage .block').length") == len(blocks)
        assert sample.meta["plain"] == mmd_to_plain(sample.target)
        if "\\begin{tabular}" in sample.target:
            seen_tables = True
            assert stage(renderer, "document.querySelectorAll('#stage table').length") >= 1
            # Every rule and command of the tables was understood (none is printed as text).
            assert "\\" not in stage(renderer, "[...document.querySelectorAll('#stage table')]"
                                                 ".map((t) => t.textContent).join(' ')")
            assert "\t" in sample.meta["plain"]
        seen_columns.add(sample.meta["columns"])
        seen_langs.add(sample.meta["lang"])
        assert sample.images[0].size == (sample.meta["width"], sample.meta["height"])
    assert seen_langs == {"en", "zh"} and seen_tables
    assert seen_columns == {1, 2}


def test_html_in_corpus_text_is_drawn_literally_and_runs_nothing(renderer, monkeypatch):
    hostile = in_memory("hostile", [("line", (HOSTILE,))], lambda passage: passage)
    monkeypatch.setattr(documents, "default_passages", lambda lang: hostile)
    found = False
    for seed in range(10):
        sample = renderer.render(np.random.default_rng(seed))
        if escape_text(HOSTILE) in sample.target:
            found = True
            text = stage(renderer, "document.getElementById('stage').textContent")
            assert '<img src=x onerror="window.pwned=1">' in text and "<script>" in text
            assert stage(renderer, "document.querySelectorAll('#stage img, #stage script').length") == 0
            assert stage(renderer, "typeof window.pwned") == "undefined"
            assert HOSTILE in sample.meta["plain"]
    assert found


def test_user_markdown_renders_as_written_with_raw_html_off(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.mmd").write_text(
        "# Notes\n\nSpaced $ x $ is text, tight $y^{2}$ is math.\n\n<script>window.pwned=1</script>\n\n"
        "<img src=x onerror=\"window.pwned=2\">\n", encoding="utf-8")
    user = MathpixDocRenderer(corpus_path=folder)
    try:
        def first_block(seed: int) -> int:  # the renderer's first two draws: the file, the first block
            rng = np.random.default_rng(seed)
            rng.integers(1)
            return int(rng.integers(4))

        sample = user.render(np.random.default_rng(next(s for s in range(50) if first_block(s) == 0)))
        assert sample.meta["first_block"] == 0
        assert sample.target == (folder / "a.mmd").read_text().strip()
        text = user.page._session.page.evaluate("document.getElementById('stage').textContent")
        assert "$ x $" in text and "<script>window.pwned=1</script>" in text
        assert user.page._session.page.evaluate(
            "document.querySelectorAll('#stage .math-inline mjx-container').length") == 1
        assert user.page._session.page.evaluate("typeof window.pwned") == "undefined"
    finally:
        user.close()


def test_a_document_that_needs_the_network_is_rejected(tmp_path):
    path = tmp_path / "remote.md"
    path.write_text("![logo](http://example.com/logo.png)\n", encoding="utf-8")
    remote = MathpixDocRenderer(corpus_path=path)
    try:
        with pytest.raises(Reject) as info:
            remote.render(np.random.default_rng(0))
        assert info.value.reason == "network-request"
        assert "example.com/logo.png" in info.value.detail
    finally:
        remote.close()


def test_a_document_may_show_files_of_its_own_folder_and_no_other(tmp_path):
    """``![](/etc/passwd)`` in a user document (a path the page resolves to a ``file:`` URL) must not
    put that file into a sample; markdown-it itself refuses ``file:`` links and draws them as text."""
    folder = tmp_path / "docs"
    folder.mkdir()
    Image.new("RGB", (8, 8), "red").save(folder / "figure.png")
    (folder / "own.mmd").write_text(f"![figure]({folder / 'figure.png'})\n", encoding="utf-8")
    documents = MathpixDocRenderer(corpus_path=folder)
    try:
        documents.render(np.random.default_rng(0))
        (folder / "own.mmd").unlink()
        for link in ("/etc/passwd", "../" * 12 + "etc/passwd"):
            (folder / "stolen.mmd").write_text(f"![x]({link})\n", encoding="utf-8")
            stolen = MathpixDocRenderer(corpus_path=folder)
            with pytest.raises(Reject) as info:
                stolen.render(np.random.default_rng(1))
            assert info.value.reason == "local-file-request" and "file:///etc/passwd" in info.value.detail
            stolen.close()
    finally:
        documents.close()


def test_purging_the_browser_memory_changes_no_pixel(renderer):
    before = renderer.render(np.random.default_rng(21))
    renderer.page.purge_memory()
    after = renderer.render(np.random.default_rng(21))
    assert after.png == before.png and after.target == before.target


def test_a_block_wider_than_its_column_is_left_out(renderer):
    wide = "\\[\n" + "+".join(f"x_{{{i}}}^{{{i}}}" for i in range(60)) + "\n\\]"
    look = renderer.sample_look(np.random.default_rng(0), "en")
    look.update(width=500, height=700, columns=1)
    captured = renderer.page.render("renderDocument", {"blocks": ["Before.", wide, "After."], **look})
    assert captured.result["kept"] == [0, 2]


def test_multi_page_samples_flow_one_document_across_pages(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    paragraphs = [f"Paragraph {k}: " + " ".join(["words that fill a page of this document"] * 6) for k in range(120)]
    (folder / "long.mmd").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    pages = MathpixDocRenderer(MathpixDocRenderer.Options(pages=(3, 3), page_width=(640, 700)), corpus_path=folder)
    try:
        sample = pages.render(np.random.default_rng(1))
        pages.validate(sample)
        meta = sample.meta
        assert len(sample.images) == len(sample.png) == 3 and len(meta["page_blocks"]) == 3
        assert all(image.size == (meta["width"], meta["height"]) for image in sample.images)
        first = meta["first_block"]
        assert split_blocks(sample.target) == paragraphs[first : first + meta["blocks"]]  # in order, none lost
        assert sum(meta["page_blocks"]) == meta["blocks"] and min(meta["page_blocks"]) > 0
        look = {k: meta[k] for k in ("width", "height", "margin", "columns", "gap", "font_family", "font_px",
                                     "line_height", "align", "ink", "paper")}
        start = first
        for page, count in enumerate(meta["page_blocks"]):  # each page is the document's next page on its own
            alone = pages.page.render("renderDocument", {"blocks": paragraphs[start:], **look})
            assert alone.png == sample.png[page] and len(alone.result["kept"]) == count
            start += count
    finally:
        pages.close()
    with pytest.raises(ValueError, match="pages"):
        MathpixDocRenderer.Options(pages=(2, 9))


def test_multi_page_samples_reach_the_trainer_as_pages(tmp_path):
    from pipelines.render.config import RendererJob, RunConfig
    from pipelines.render.run import render_run
    from pipelines.train.data import read_once

    run = RunConfig(shard_size=2, renderers=(RendererJob(name="mathpix-doc", samples=2, options={"pages": [2, 2]}),))
    render_run(run, tmp_path / "shards", show_progress=False)
    samples = list(read_once(str(tmp_path / "shards" / "mathpix-doc" / "*.tar")))
    assert len(samples) == 2
    for sample in samples:
        meta = sample["meta"]
        own = meta["mathpix-doc"]  # the renderer's own choices, stored under its name
        assert len(sample["images"]) == meta["pages"] == len(own["page_blocks"]) == 2
        assert meta["prompt"] == "OCR with format across multi pages: "
        assert len(split_blocks(sample["target"])) == own["blocks"]
