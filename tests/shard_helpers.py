"""Real shards for the trainer's tests: text-page line slices rendered by the engine (about a second)."""

from __future__ import annotations

from pathlib import Path

from pipelines.render.run import render_run
from pipelines.render.config import RendererJob, RunConfig

LINES = {"slice": True, "lang": "en", "slice_line_prob": 1.0, "slice_words": [1, 2]}


def render_lines(out: Path, samples: int, shard_size: int, seed: int = 0) -> Path:
    """``samples`` 1-2-word English line slices in shards of ``shard_size``; returns the tar folder."""
    config = RunConfig(seed=seed, shard_size=shard_size,
                       renderers=(RendererJob(name="text-page", samples=samples, options=LINES),))
    render_run(config, out, workers=1, show_progress=False)
    return out / "text-page"
