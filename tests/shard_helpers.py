"""Real shards for the tests: text-page line slices for the trainer (about a second), digit strings
for the engine's own tests; and the good items of a corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpora.base import BadItem
from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.run import render_run

LINES = {"slice": True, "lang": "en", "slice_line_prob": 1.0, "slice_words": [1, 2]}


def render_lines(out: Path, samples: int, shard_size: int, seed: int = 0) -> Path:
    """``samples`` 1-2-word English line slices in shards of ``shard_size``; returns the tar folder."""
    config = RunConfig(seed=seed, shard_size=shard_size,
                       renderers=(RendererJob(name="text-page", samples=samples, options=LINES),))
    render_run(config, out, workers=1, show_progress=False)
    return out / "text-page"


def digits_run(samples: int = 30, shard_size: int = 10, seed: int = 3) -> RunConfig:
    """A run of the example plugin's digit strings: the engine's tests use it for its speed."""
    return RunConfig(seed=seed, shard_size=shard_size, renderers=(RendererJob(name="digits", samples=samples),))


def good_items(corpus: Any) -> list[Any]:
    """Every item of ``corpus`` that parses, in order (its bad ones are counted in its rejects)."""
    return [item for item in corpus.items(0, len(corpus)) if not isinstance(item, BadItem)]


def tar_bytes(folder: Path) -> dict[str, bytes]:
    """Every tar under ``folder``, by relative path: equal dicts mean byte-identical shards."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.tar"))}
