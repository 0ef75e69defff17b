"""The preview page: offline, reproducible, HTML-escaped."""

from __future__ import annotations

import re

from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.preview import facets, pick_samples, read_picked, write_preview
from pipelines.render.run import render_run
from pipelines.shard_format import read_samples


def test_preview_is_offline_reproducible_and_covers_renderers(tmp_path):
    run = RunConfig(shard_size=5, renderers=(RendererJob(name="digits", samples=12),
                                             RendererJob(name="molecule", samples=7)))
    render_run(run, tmp_path / "shards", show_progress=False)
    page = tmp_path / "p.html"
    assert write_preview(tmp_path / "shards", page, n=8, seed=1) == 8
    html = page.read_text()
    assert html.count("<section>") == 8
    assert "digits-0000" in html and "molecule-0000" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("data:image/") for s in sources), "the page must load nothing"
    assert pick_samples(tmp_path / "shards", 8, 1) == pick_samples(tmp_path / "shards", 8, 1)
    assert pick_samples(tmp_path / "shards", 8, 1) != pick_samples(tmp_path / "shards", 8, 2)
    assert len(pick_samples(tmp_path / "shards", 100, 0)) == 19


def test_box_guided_samples_show_their_box_over_the_image(tmp_path):
    run = RunConfig(shard_size=4, renderers=(
        RendererJob(name="text-page", samples=4, options={"lang": "en", "regions": {"box": 1.0}}),))
    render_run(run, tmp_path / "shards", show_progress=False)
    page = tmp_path / "p.html"
    write_preview(tmp_path / "shards", page, n=4)
    html = page.read_text()
    boxes = re.findall(r'class="box" style="left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%"', html)
    prompts = re.findall(r"prompt &#x27;\[(\d+), (\d+), (\d+), (\d+)\] OCR: &#x27;", html)
    assert len(boxes) == len(prompts) == 4
    for (left, top, width, height), (x1, y1, x2, y2) in zip(boxes, prompts):  # the box the prompt names
        assert float(left) == int(x1) / 10 and float(top) == int(y1) / 10
        assert abs(float(width) - (int(x2) - int(x1)) / 10) < 1e-9 and abs(float(height) - (int(y2) - int(y1)) / 10) < 1e-9


def test_a_degraded_run_opens_with_one_page_through_every_preset(tmp_path):
    run = RunConfig(shard_size=2, renderers=(
        RendererJob(name="text-page", samples=2, options={"lang": "en"}, augment={"scan": 1, "fax": 1}),))
    render_run(run, tmp_path / "shards", show_progress=False)
    page = tmp_path / "p.html"
    assert write_preview(tmp_path / "shards", page, n=2, seed=0) == 2
    html = page.read_text()
    assert html.count('alt="presets"') == 1 and "each degradation preset" in html
    plain = RunConfig(shard_size=2, renderers=(RendererJob(name="digits", samples=2),))
    render_run(plain, tmp_path / "plain", show_progress=False)
    write_preview(tmp_path / "plain", page, n=2, seed=0)
    assert 'alt="presets"' not in page.read_text()


def test_each_renderers_picks_show_its_rare_languages_and_styles_first(tmp_path):
    # Random picks would show mostly English; the rare language and the handwritten page must be seen too.
    run = RunConfig(shard_size=6, renderers=(RendererJob(name="text-page", samples=18, options={
        "lang": {"en": 1, "ar": 0.2, "hi": 0.2}, "styles": {"serif": 1, "hand": 0.2}}),))
    render_run(run, tmp_path / "shards", show_progress=False)
    drawn = [facets(r["meta"]) for tar in sorted((tmp_path / "shards" / "text-page").glob("*.tar"))
             for r in read_samples(tar, images="skip")]
    wanted = {("lang", "ar"), ("lang", "hi"), ("style", "hand")}
    assert wanted <= set().union(*drawn), "the run must draw what the test expects the preview to show"
    picked = [facets(r["meta"]) for r in read_picked(pick_samples(tmp_path / "shards", 3, 0))]
    assert wanted <= set().union(*picked)
