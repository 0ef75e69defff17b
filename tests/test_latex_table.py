"""latex-table: generated tables cover the LaTeX table features, their plain reading is right, user
folders are checked item by item, and Chinese tables compile with XeLaTeX (real LaTeX and pdfium)."""

from __future__ import annotations

import numpy as np
import pytest

from corpora.base import CorpusError
from corpora.tables import parse_table, plain_cells, random_table, user_tables
from renderers.base import Reject
from renderers.latex_table import LatexTableRenderer
from tests.shard_helpers import good_items


def test_random_tables_vary_the_table_features():
    tables = [random_table(np.random.default_rng(i), "en") for i in range(120)]
    sources = "\n".join(t.latex for t in tables)
    for feature in ("\\hline", "\\cline", "\\multicolumn", "\\multirow", "\\toprule", "$", "\\%", "|"):
        assert feature in sources, feature
    assert {t.record["hrules"] for t in tables} == {"all", "frame", "booktabs", "none"}
    assert len({t.record["align"] for t in tables}) > 30
    assert len({t.latex for t in tables}) == len(tables)


def test_plain_reading_of_spans_rules_and_math():
    latex = ("\\begin{tabular}{|l|c|r|}\n\\hline & \\multicolumn{2}{c|}{Results} \\\\\n\\cline{2-3} "
             "\\multirow{2}{*}{\\textbf{Run}} & $x^{2}$ & 12.5\\% \\\\\n & $\\alpha_{1}$ & 3 \\\\\n\\hline\n\\end{tabular}")
    assert plain_cells(latex) == [["", "Results"], ["Run", "x^2", "12.5%"], ["", "α_1", "3"]]
    table = random_table(np.random.default_rng(3), "zh")
    assert table.plain.count("\n") + 1 == len(plain_cells(table.latex))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in table.plain)


def test_user_folder_keeps_good_items_and_counts_bad_ones_by_reason(tmp_path):
    (tmp_path / "good.tex").write_text("% a caption\n\\begin{tabular}{cc} a & b \\\\ \\end{tabular}\n")
    (tmp_path / "zh.tex").write_text("\\begin{tabular}{|c|} 表格 \\\\ \\end{tabular}")
    (tmp_path / "two.tex").write_text("\\begin{tabular}{c} a \\end{tabular}\\begin{tabular}{c} b \\end{tabular}")
    (tmp_path / "none.tex").write_text("no table here")
    (tmp_path / "unsafe.tex").write_text("\\begin{tabular}{c} \\input{/etc/passwd} \\end{tabular}")
    (tmp_path / "braces.tex").write_text("\\begin{tabular}{c} {a \\end{tabular}")
    corpus = user_tables(tmp_path)
    tables = good_items(corpus)  # in file name order
    assert [t.plain for t in tables] == ["a\tb", "表格"]
    assert [t.lang for t in tables] == ["en", "zh"]
    assert corpus.rejects == {"not-one-tabular": 2, "unbalanced-braces": 1, "unsafe-command": 1}
    (tmp_path / "good.tex").unlink()
    (tmp_path / "zh.tex").unlink()
    with pytest.raises(CorpusError, match="were rejected"):  # items are parsed when drawn
        user_tables(tmp_path).sample(np.random.default_rng(0))
    assert good_items(user_tables(tmp_path / "unsafe.tex")) == []  # one .tex file is one item


def test_chinese_and_english_pages_and_exact_targets():
    renderer = LatexTableRenderer(LatexTableRenderer.Options(dpi=(90, 110)))
    try:
        results = renderer.render_batch([np.random.default_rng(s) for s in range(12)])
        langs = {r.meta["lang"] for r in results}
        assert langs == {"en", "zh"}
        assert renderer.pool.runs == 2  # one pdfLaTeX and one XeLaTeX run for the batch
        for sample in results:
            assert sample.target.startswith("\\begin{tabular}") and sample.target.endswith("\\end{tabular}")
            renderer.validate(sample)
            # The page's body is the recorded prefix and the target, verbatim.
            assert sample.target in renderer.pool.backend(sample.meta["engine"]).document(
                [f"{sample.meta['latex_prefix']}\n{sample.target}"])
            assert sample.images[0].mode == "L" and min(sample.images[0].size) > 8
    finally:
        renderer.close()


def test_validate_rejects_a_recorded_reading_that_is_not_the_page():
    renderer = LatexTableRenderer(LatexTableRenderer.Options(lang="en", dpi=(72, 72)))
    try:
        sample = renderer.render(np.random.default_rng(0))
        renderer.validate(sample)
        sample.meta["plain"] = "something else"
        with pytest.raises(Reject, match="cell-not-drawn: plain reading row 1 cell 1"):
            renderer.validate(sample)
    finally:
        renderer.close()


@pytest.mark.parametrize(("drawn", "reason"), [
    ("A B\r\n1 2\r\n", None),
    ("A B\r\n1 2 3", "text-not-in-label"),  # more on the page than in the label
    ("A B\r\n1", "cell-not-drawn"),  # a cell of the label missing from the page
    ("B A\r\n1 2", "cell-not-drawn"),  # the right cells in the wrong order
    ("A B\r\n1 7", "cell-not-drawn"),
])
def test_cells_are_compared_with_the_page_both_ways(drawn, reason):
    from renderers.latex_table import _check_cells

    rows = [["A", "B"], ["1", "2"]]
    if reason is None:
        _check_cells("target", rows, drawn)
    else:
        with pytest.raises(Reject, match=reason):
            _check_cells("target", rows, drawn)


def test_user_table_that_latex_rejects_is_a_reject_not_a_crash(tmp_path):
    (tmp_path / "bad.tex").write_text("\\begin{tabular}{cc} a & \\nosuchmacro \\\\ \\end{tabular}")
    assert parse_table((tmp_path / "bad.tex").read_text()).plain == "a\t"
    renderer = LatexTableRenderer(LatexTableRenderer.Options(), tmp_path)
    try:
        with pytest.raises(Reject, match="Undefined control sequence"):
            renderer.render(np.random.default_rng(0))
    finally:
        renderer.close()
