"""The shard worker: render a shard's samples, keep those that pass the checks, hand them to the writer.

Per sample: the renderer's ``render_batch`` (:mod:`renderers.base`), then the engine's checks
(:mod:`pipelines.render.checks`), then the renderer's ``validate``. A rejected sample is rendered
again with its next attempt's seed (:mod:`pipelines.render.seeding`), and after
:data:`MAX_ATTEMPTS` rejects in a row the shard fails. Accepted samples are stored by
:func:`pipelines.render.writer.open_shard`, in index order.

Every render call and every sample's checks run under the per-sample time limit
(:mod:`pipelines.render.watchdog`; a batch gets the limit times its size): past it, the samples are
``timeout`` rejects and the renderer is restarted with ``close()`` (a renderer used after
``close()`` starts its back-ends afresh).

A worker gets its whole brief as one picklable :class:`RenderContext`; it builds each renderer the
first time a shard needs it and keeps it for the shards after (one instance per worker process).
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.render.checks import check_sample
from pipelines.render.config import RunConfig, check_options
from pipelines.render.plan import ShardJob
from pipelines.render.seeding import sample_rng, sample_seed
from pipelines.render.stored_meta import shard_meta
from pipelines.render.watchdog import SampleTimeout, time_limit
from pipelines.render.writer import encode_sample, open_shard
from pipelines.shard_format import sample_key
from renderers import registry
from renderers.base import Reject, Sample

# The augmentation's generator stream beside a sample's seed (see degrade).
AUGMENT_STREAM = 1

# Rejects in a row for one sample before its shard is failed (a renderer that rejects
# everything must stop the shard, never loop).
MAX_ATTEMPTS = 25

# The engine's limit per sample, above the browser's and LaTeX's own (a hung page is relaunched,
# a LaTeX run killed, well before it), so it fires only where a back-end has none.
SAMPLE_TIME_LIMIT_S = 120.0

# Python's cyclic garbage collector, set for rendering. Renderers make many short-lived objects in
# reference cycles (a matplotlib chart makes a great many), and with the default thresholds the
# collector runs every 700 allocations and each full collection rescans every long-lived object
# (corpora, fonts, modules). So rendering freezes what exists once the renderers are built and
# collects the young generation only every 50,000 allocations. No output depends on when garbage
# is collected.
GC_THRESHOLDS = (50_000, 20, 20)

ProgressFn = Callable[[int, int], None]  # (samples written, rejects) since the last call


class ShardError(RuntimeError):
    """A shard could not be completed (its renderer rejected a sample too many times)."""


def build_renderer(config: RunConfig, name: str) -> Any:
    """The renderer ``name`` of ``config``, built with its checked options and corpus, restricted to
    the job's split (:func:`pipelines.render.coverage.select_items`)."""
    from pipelines.render.coverage import select_items  # imported here: coverage builds on this module

    job = next(j for j in config.renderers if j.name == name)
    cls = registry.load(name)
    renderer = cls(check_options(job), Path(job.corpus) if job.corpus else None)
    select_items(renderer, job)
    return renderer


@dataclasses.dataclass(frozen=True)
class RenderContext:
    """What a worker needs to make any shard of a run: the config, the output folder and the
    per-sample time limit (None: none; it never changes what an answering renderer draws).

    Pickled once per worker by a distributor. Renderers are built on first use and kept per
    process (:meth:`renderer`); they are never pickled, so each process builds its own.
    """

    config: RunConfig
    out: Path
    time_limit_s: float | None = SAMPLE_TIME_LIMIT_S
    renderers: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "out": self.out, "time_limit_s": self.time_limit_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in (*state.items(), ("renderers", {})):
            object.__setattr__(self, name, value)

    def renderer(self, name: str) -> Any:
        if name not in self.renderers:
            self.renderers[name] = build_renderer(self.config, name)
            gc.freeze()  # its corpus and fonts live as long as the worker: never rescan them
        return self.renderers[name]

    def make(self, job: ShardJob, progress: ProgressFn) -> dict[str, Any]:
        """Make and commit one shard of the run; returns its stats."""
        from pipelines.render.coverage import make_covered_shard  # imported here: it builds on this module

        augment = next(j.augment for j in self.config.renderers if j.name == job.renderer)
        make = make_shard if job.first is None else make_covered_shard
        return make(self.renderer(job.renderer), self.config.seed, self.config.png_compress_level, job, self.out,
                    progress, augment, limit=self.time_limit_s)

    def close(self) -> None:
        """Free the renderers' back-ends (browsers, LaTeX, toolkits) built in this process."""
        for renderer in self.renderers.values():
            renderer.close()
        self.renderers.clear()


@dataclasses.dataclass
class Timing:
    render: float = 0.0
    validate: float = 0.0


def timed_out(renderer: Any, limit: float, count: int) -> list[Reject]:
    """``count`` ``timeout`` rejects, after restarting the renderer's back-ends with ``close()``."""
    try:
        with time_limit(limit):
            renderer.close()
    except SampleTimeout:
        raise ShardError(f"renderer {renderer.name} ran past its time limit and its close() did not return "
                         f"within {limit:g} s") from None
    return [Reject("timeout", f"no answer within {limit:g} s a sample; its back-end was restarted")
            for _ in range(count)]


def render_many(renderer: Any, rngs: list[Any], limit: float | None = None) -> list[Sample | Reject]:
    """One result per generator, from the renderer's ``render_batch``, within ``limit`` s a sample."""
    try:
        with time_limit(None if limit is None else limit * len(rngs)):
            results = list(renderer.render_batch(rngs))
    except SampleTimeout:
        return list(timed_out(renderer, limit or 0.0, len(rngs)))
    if len(results) != len(rngs):
        raise TypeError(f"renderer {renderer.name}: render_batch gave {len(results)} results for {len(rngs)}")
    return results


def check_and_validate(renderer: Any, sample: Sample, limit: float | None) -> None:
    """The engine's checks and the renderer's ``validate`` on ``sample``, within ``limit`` s."""
    try:
        with time_limit(limit):
            check_sample(sample)
            renderer.validate(sample)  # on the clean sample, whose pixel-level meta it checks
    except SampleTimeout:
        raise timed_out(renderer, limit or 0.0, 1)[0] from None


def degrade(sample: Sample, augment: Mapping[str, float], seed: int) -> Sample:
    """The sample through a preset drawn by weight from ``augment`` (none when empty).

    The generator is the sample's seed on a stream of its own, so adding or changing presets never
    changes the clean page a seed renders."""
    if not augment:
        return sample
    from renderers.augment import augment_mix

    return augment_mix(sample, augment, np.random.default_rng([seed, AUGMENT_STREAM]))


def render_valid(renderer: Any, run_seed: int, job: ShardJob, rejects: collections.Counter[str],
                 timing: Timing, augment: Mapping[str, float] | None = None,
                 limit: float | None = None) -> Iterator[tuple[int, Sample, int, int]]:
    """Yield ``(index, sample, seed, attempt)`` for every sample of ``job``, in index order.

    Samples are rendered ``renderer.batch_size`` at a time. A rejected sample is retried with its
    next attempt's seed in a later batch, beside the next new samples. Each result is a pure
    function of its own seed, so batching never changes the bytes written.
    """
    size = max(1, int(renderer.batch_size))
    pending: dict[int, int] = {}  # index -> attempt, for samples not yet accepted
    done: dict[int, tuple[Sample, int, int]] = {}
    next_new = emitted = 0
    while emitted < job.count:
        while len(pending) < size and next_new < job.count:
            pending[next_new] = 0
            next_new += 1
        batch = sorted(pending.items())
        seeds = [sample_seed(run_seed, job.renderer, job.shard, index, attempt) for index, attempt in batch]
        start = time.perf_counter()
        results = render_many(renderer, [sample_rng(seed) for seed in seeds], limit)
        timing.render += time.perf_counter() - start
        for (index, attempt), seed, result in zip(batch, seeds, results):
            checked = time.perf_counter()
            try:
                if isinstance(result, Reject):
                    raise result
                check_and_validate(renderer, result, limit)
                if augment:
                    result = degrade(result, augment, seed)
                    check_sample(result)
                done[index] = (result, seed, attempt)
                del pending[index]
            except Reject as reject:
                rejects[reject.reason] += 1
                pending[index] = attempt + 1
                if attempt + 1 >= MAX_ATTEMPTS:
                    raise ShardError(
                        f"renderer {job.renderer} rejected sample {index} of shard {job.shard} {MAX_ATTEMPTS} "
                        f"times in a row (rejects so far: {dict(rejects)}); check its corpus and options"
                    ) from None
            finally:
                timing.validate += time.perf_counter() - checked
        while emitted in done:
            yield (emitted, *done.pop(emitted))
            emitted += 1


def make_shard(renderer: Any, run_seed: int, compress_level: int, job: ShardJob, out: Path,
               progress: ProgressFn, augment: Mapping[str, float] | None = None,
               timing: Timing | None = None, limit: float | None = None) -> dict[str, Any]:
    """Render one shard's samples into the writer and commit it; returns its stats (with the bad
    corpus items its draws met, counted by reason)."""
    rejects: collections.Counter[str] = collections.Counter()
    timing = timing or Timing()
    corpus = renderer.corpus
    before = collections.Counter(corpus.rejects) if corpus is not None else collections.Counter()
    seen = len(corpus.examples) if corpus is not None else 0
    attempts = reported = 0
    with open_shard(job, out) as writer:
        for index, sample, seed, attempt in render_valid(renderer, run_seed, job, rejects, timing, augment, limit):
            attempts += attempt + 1
            meta = shard_meta(renderer, sample, seed, attempt)
            writer.add(encode_sample(sample_key(job.renderer, job.shard, index), sample, meta, compress_level))
            progress(1, sum(rejects.values()) - reported)
            reported = sum(rejects.values())
        return writer.commit({
            "renderer": job.renderer,
            "renderer_version": renderer.version,
            "count": job.count,
            "attempts": attempts,
            "rejects": dict(sorted(rejects.items())),
            "corpus_rejects": dict(sorted((collections.Counter(corpus.rejects) - before).items())) if corpus else {},
            "corpus_examples": list(corpus.examples[seen:]) if corpus is not None else [],
            "render_seconds": round(timing.render, 4),
            "validate_seconds": round(timing.validate, 4),
        })
