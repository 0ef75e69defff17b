"""Live rendering as a training source: a render config's samples made inside the loader workers,
never written to disk (ARCHITECTURE.md, "Live sources").

A live source is the shards its render config would write, extended without end. Its plan
(:func:`pipelines.render.plan.plan`) is repeated round after round, each round's shards numbered on
from the last; virtual shard ``v`` is job ``v mod len(plan)`` of round ``v // len(plan)``. Round 0 is
exactly what ``gotforge render`` writes for the config, and every later sample is the one the engine
would write under the same shard number, since a sample's seed depends only on (run seed, renderer,
shard, index, attempt). So sample *k* (the *k*-th of that sequence) is a pure function of the render
config and *k*, whichever rank and worker makes it.

Reader ``j`` of ``R`` (rank × loader worker, as for shard tars) takes the virtual shards
``start + j``, ``start + j + R``, … in order, renders each through the engine's own path
(:func:`pipelines.render.worker.render_valid`: render, the engine's checks, ``validate``, retries with
the next attempt's seed, the augmentation, the per-sample time limit) and turns each sample into the shard members the writer
would store and then into the record the shard reader gives (:mod:`pipelines.shard_format`), so the
collator cannot tell a live sample from a stored one. ``start`` is 0 for a new run; a resumed run
starts past every virtual shard the run before it had begun (:func:`live_stream`'s ``position``), so
it continues the sequence and never repeats it.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from pipelines import shard_format
from pipelines.config import ConfigError
from pipelines.render.config import RunConfig, load_mix
from pipelines.render.plan import ShardJob, plan
from pipelines.render.stored_meta import shard_meta
from pipelines.render.worker import SAMPLE_TIME_LIMIT_S, Timing, build_renderer, render_valid
from pipelines.render.writer import encode_sample


@dataclasses.dataclass(frozen=True)
class LiveSource:
    """A render config as an endless sequence of virtual shards."""

    path: str
    config: RunConfig

    @classmethod
    def load(cls, path: str | Path) -> LiveSource:
        """The render config at ``path``, checked as ``gotforge render`` checks it (options, corpora)."""
        config, _ = load_mix(path)
        for job in config.renderers:
            if job.covers:
                raise ConfigError(f"{path}: renderer {job.name} covers its corpus in order, once; a live source "
                                  f"draws without end: set renderers.{job.name}.order: sample, or render it to shards")
        return cls(str(path), config)

    @functools.cached_property
    def round(self) -> tuple[list[ShardJob], collections.Counter[str]]:
        """One round: the plan's jobs, and each renderer's number of shards in it."""
        jobs = plan(self.config)
        return jobs, collections.Counter(job.renderer for job in jobs)

    def job(self, v: int) -> ShardJob:
        """Virtual shard ``v``: a job of the plan, its shard number moved on by whole rounds."""
        jobs, shards = self.round
        round_, i = divmod(v, len(jobs))
        job = jobs[i]
        return ShardJob(job.renderer, job.shard + round_ * shards[job.renderer], job.count)


def live_stream(source: LiveSource, reader: int, readers: int, start: int,
                position: MutableMapping[int, int], key: int) -> Iterator[dict[str, Any]]:
    """The records of reader ``reader`` of ``readers``, from virtual shard ``start + reader`` on.

    ``position[key]`` is kept at one past the highest virtual shard begun, for the batches to carry
    to the trainer (where a resumed run starts). One renderer per name, built on first use in this
    process and closed when the stream is."""
    renderers: dict[str, Any] = {}
    augment = {job.name: job.augment for job in source.config.renderers}
    seed, level = source.config.seed, source.config.png_compress_level
    try:
        for v in itertools.count(start + reader, readers):
            job = source.job(v)
            position[key] = max(position.get(key, 0), v + 1)
            if job.renderer not in renderers:
                renderers[job.renderer] = build_renderer(source.config, job.renderer)
            renderer = renderers[job.renderer]
            rejects: collections.Counter[str] = collections.Counter()
            for index, sample, sample_seed, attempt in render_valid(renderer, seed, job, rejects, Timing(),
                                                                     augment[job.renderer], SAMPLE_TIME_LIMIT_S):
                name = shard_format.sample_key(job.renderer, job.shard, index)
                members = encode_sample(name, sample, shard_meta(renderer, sample, sample_seed, attempt), level)
                fields = {shard_format.split_name(member)[1]: data for member, data in members.items()}
                yield shard_format.from_fields(name, fields, images="rgb")
    finally:
        for renderer in renderers.values():
            renderer.close()
