"""geometry: every figure kind compiles to a drawn page whose body is exactly the target; figures carry
the constructions the issue lists; user .tikz folders are checked item by item (real pdfLaTeX)."""

from __future__ import annotations

import numpy as np
import pytest

from corpora.base import CorpusError
from corpora.geometry import CURVES, KINDS, random_figure, user_figures
from pipelines.render.checks import check_sample
from renderers.base import Reject
from renderers.geometry import GeometryRenderer
from tests.shard_helpers import good_items


def test_figures_cover_shapes_constructions_and_curves():
    figures = [random_figure(np.random.default_rng(i)) for i in range(150)]
    code = "\n".join(f.tikz for f in figures)
    assert {f.record["kind"] for f in figures} == set(KINDS)
    assert {f.record["curve"] for f in figures if "curve" in f.record} == set(CURVES)
    for feature in ("dashed", "{angle=", "{right angle=", "circle (", "ellipse (", "cosh(", "\\draw[->]",
                    "node[", "\\coordinate (A)", "-- cycle", "^2"):
        assert feature in code, feature
    assert all(f.tikz.startswith("\\begin{tikzpicture}") and f.tikz.endswith("\\end{tikzpicture}") for f in figures)
    assert len({f.tikz for f in figures}) == len(figures)


def test_every_kind_renders_a_page_from_exactly_its_target():
    renderer = GeometryRenderer(GeometryRenderer.Options(dpi=(60, 72)))
    try:
        rngs = [np.random.default_rng(s) for s in range(30)]
        samples = renderer.render_batch(rngs)
        assert renderer.pool.runs == 1
        kinds = set()
        for sample in samples:
            assert not isinstance(sample, Reject), sample
            check_sample(sample)  # not blank
            renderer.validate(sample)
            kinds.add(sample.meta["figure"]["kind"])
            document = renderer.pool.backend("pdflatex").document([sample.target])
            assert f"%\n{sample.target}%\n" in document  # the page body is the target, verbatim
        assert kinds == set(KINDS)
    finally:
        renderer.close()


def test_user_folder_of_tikz_files(tmp_path):
    (tmp_path / "ok.tikz").write_text("\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}\n")
    (tmp_path / "broken.tikz").write_text("\\begin{tikzpicture}\\draw (0,0) -- ;\\end{tikzpicture}\n")
    (tmp_path / "shell.tikz").write_text("\\begin{tikzpicture}\\immediate\\write18{id}\\end{tikzpicture}")
    (tmp_path / "empty.tikz").write_text("\\draw (0,0) -- (1,1);")
    corpus = user_figures(tmp_path)
    figures = good_items(corpus)
    assert corpus.rejects == {"not-one-tikzpicture": 1, "unsafe-command": 1}
    assert len(figures) == 2
    renderer = GeometryRenderer(GeometryRenderer.Options(dpi=(60, 60)), tmp_path)
    try:
        results = renderer.render_batch([np.random.default_rng(s) for s in range(8)])
        good = [r for r in results if not isinstance(r, Reject)]
        bad = [r for r in results if isinstance(r, Reject)]
        assert good and bad
        assert {r.target for r in good} == {figures[1].tikz}
        assert all(r.reason == "latex-error" for r in bad)
    finally:
        renderer.close()
    with pytest.raises(CorpusError):  # items are parsed when drawn
        user_figures(tmp_path / "empty.tikz").sample(np.random.default_rng(0))
