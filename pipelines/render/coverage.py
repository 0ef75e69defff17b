"""In-order rendering of a corpus (``order: cover``): every item, ``passes`` times, each in a fixed shard
and place (img2dataset shards its input the same way: contiguous ranges).

The **units** of a job are its items × ``passes``, pass by pass: unit ``u`` is item ``u % n`` of the
corpus (after ``split``/``dedupe``: of the selection, :func:`select_items`) in pass ``u // n``. Shard
``s`` covers units ``s * shard_size`` onwards, ``job.count`` of them, so a shard's items are one or two
contiguous ranges, read in one go each. ``samples`` (default: every unit) renders the first units only.

A unit is drawn by the renderer's ``render_item(item, rng)`` (batched by ``render_items``) into its
parts, all checked by the engine (:func:`pipelines.render.checks.check_sample`) and the renderer's
``validate``; if any part is rejected, the whole item is drawn again with its next attempt's seed
(:func:`pipelines.render.seeding.item_seed`), up to :data:`ITEM_ATTEMPTS` times. Every part is
written, in order, with ``meta["source"]``: file, line or row, item, pass, part k of n.

A unit that gives no sample is **missed**, never skipped in silence: an item that does not parse
(its :class:`corpora.base.BadItem` reason: ``bad-smiles``, ``bad-json``, ``not-utf8``, ...), that
the renderer could not draw in :data:`ITEM_ATTEMPTS` attempts (``not-drawn``, with its last reject),
or whose draw ran past the time limit (``timeout``: the engine's, or a back-end's own
``browser-timeout`` or ``latex-timeout``; drawn once only, as its content is what hangs).
Missed units are listed in the shard's stats, and the run gathers them into
``OUT/<renderer>/missed.jsonl`` (:mod:`pipelines.render.run`). Neither stops the shard.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from corpora.base import BadItem, CorpusError
from corpora.indexed import Entry
from corpora.split import Selection, select
from pipelines.config import ConfigError
from pipelines.render.checks import check_sample
from pipelines.render.config import RendererJob
from pipelines.render.plan import ShardJob
from pipelines.render.seeding import item_seed, sample_rng
from pipelines.render.stored_meta import shard_meta
from pipelines.render.watchdog import SampleTimeout, time_limit
from pipelines.render.worker import Timing, check_and_validate, degrade, timed_out
from pipelines.render.writer import encode_sample, open_shard
from pipelines.shard_format import sample_key
from renderers.base import Reject, Sample, covers_items

ITEM_ATTEMPTS = 10  # draws of one item before it is missed as not-drawn (each with its own seed)
TIMEOUTS = frozenset({"timeout", "browser-timeout", "latex-timeout"})  # rejects that miss an item at once


def select_items(renderer: Any, job: RendererJob) -> Selection | None:
    """Restrict ``renderer`` to the items of the job's split (deduplicated with ``dedupe``), by its
    ``use_split`` hook; None when the job asks for neither. The selection is computed once and cached
    (:func:`corpora.split.select`), so the engine computes it before the workers start and each
    worker reads it back."""
    if job.split is None and not job.dedupe:
        return None
    if renderer.corpus is None:
        raise ConfigError(f"renderer {job.name} draws generated content only: split and dedupe need a corpus "
                          f"(give it one with corpus:)")
    try:
        selection = select(renderer.corpus, job.split, job.use_split, dedupe=job.dedupe)
    except CorpusError as err:
        raise ConfigError(f"renderer {job.name}: {err}") from None
    renderer.use_split(selection)
    return selection


def count_units(renderer: Any, job: RendererJob) -> int:
    """The units a covering job renders (its items × passes, or the first ``samples`` of them)."""
    if not covers_items(renderer):
        raise ConfigError(f"renderer {job.name} cannot render a corpus item by item (it has no render_item); "
                          f"set order: sample")
    if renderer.corpus is None:
        raise ConfigError(f"renderer {job.name} has no corpus to cover; give it one (corpus:) or set order: sample")
    total = len(renderer.corpus) * job.passes
    if job.samples is None:
        return total
    if job.samples > total:
        raise ConfigError(
            f"renderer {job.name}: samples {job.samples} is more than its {len(renderer.corpus)} items × "
            f"{job.passes} passes = {total}; raise passes, or set order: sample to draw at random"
        )
    return job.samples


@dataclasses.dataclass(frozen=True)
class Unit:
    """One rendering of one corpus item: its place in the job, the item, and the pass."""

    number: int
    entry: Entry[Any]
    pass_: int


def shard_units(corpus: Any, job: ShardJob) -> list[Unit]:
    """The units of ``job`` with their items, each contiguous range of items read in one go."""
    n = len(corpus)
    units: list[Unit] = []
    number, stop = job.first, job.first + job.count
    while number < stop:
        position = number % n
        take = min(stop - number, n - position)
        for k, entry in enumerate(corpus.entries(position, position + take)):
            units.append(Unit(number + k, entry, number // n))
        number += take
    return units


def source_meta(unit: Unit, part: int, parts: int) -> dict[str, Any]:
    """The ``source`` meta of part ``part`` of ``unit`` (see renderers.base.META_KEYS)."""
    location = unit.entry.location
    return {"file": location.file, "line": location.line, "row": location.row, "item": unit.entry.index,
            "pass": unit.pass_, "part": part, "parts": parts}


def missed(unit: Unit, reason: str, detail: str) -> dict[str, Any]:
    """A unit that gave no sample, as the stats and ``missed.jsonl`` list it."""
    return {"item": unit.entry.index, "location": str(unit.entry.location), "pass": unit.pass_,
            "reason": reason, "detail": detail}


@dataclasses.dataclass
class Covered:
    """What became of a unit: its accepted parts with their seed and attempt, or why it was missed."""

    unit: Unit
    parts: list[Sample] = dataclasses.field(default_factory=list)
    seed: int = 0
    attempt: int = 0
    missed: dict[str, Any] | None = None

    @property
    def draws(self) -> int:
        """How many times the renderer drew the unit (none for an item that did not parse)."""
        return 0 if self.missed is not None and self.missed["reason"] != "not-drawn" else self.attempt + 1


def _accepted(renderer: Any, result: list[Sample] | Reject, augment: Mapping[str, float] | None,
              seed: int, limit: float | None = None) -> list[Sample]:
    """The parts of one draw after the checks and ``validate`` (degraded with ``augment``); raises
    the first part's :class:`Reject`."""
    if isinstance(result, Reject):
        raise result
    if not result:
        raise Reject("no-parts", "render_item gave no sample")
    parts = []
    for part in result:
        check_and_validate(renderer, part, limit)  # on the clean part, whose pixel-level meta it checks
        if augment:
            part = degrade(part, augment, seed)
            check_sample(part)
        parts.append(part)
    return parts


def cover_valid(renderer: Any, run_seed: int, job: ShardJob, rejects: collections.Counter[str], timing: Timing,
                augment: Mapping[str, float] | None = None, limit: float | None = None) -> Iterator[Covered]:
    """Every unit of ``job``, in order, drawn ``renderer.batch_size`` at a time; a rejected unit is
    drawn again with its next attempt's seed in a later batch, beside the next new units."""
    size = max(1, int(renderer.batch_size))
    units = shard_units(renderer.corpus, job)
    pending: dict[int, int] = {}  # unit position in the shard -> attempt
    done: dict[int, Covered] = {}
    next_new = emitted = 0
    while emitted < len(units):
        while len(pending) < size and next_new < len(units):
            unit = units[next_new]
            if isinstance(unit.entry.item, BadItem):
                done[next_new] = Covered(unit, missed=missed(unit, unit.entry.item.reason, unit.entry.item.detail))
            else:
                pending[next_new] = 0
            next_new += 1
        batch = sorted(pending.items())
        seeds = [item_seed(run_seed, job.renderer, units[k].entry.index, units[k].pass_, a) for k, a in batch]
        started = time.perf_counter()
        results = _draw(renderer, [units[k].entry.item for k, _ in batch], [sample_rng(s) for s in seeds], limit)
        timing.render += time.perf_counter() - started
        for (k, attempt), seed, result in zip(batch, seeds, results):
            checked = time.perf_counter()
            try:
                done[k] = Covered(units[k], _accepted(renderer, result, augment, seed, limit), seed, attempt)
                del pending[k]
            except Reject as reject:
                rejects[reject.reason] += 1
                pending[k] = attempt + 1
                if reject.reason in TIMEOUTS:
                    del pending[k]
                    done[k] = Covered(units[k], attempt=attempt, missed=missed(units[k], "timeout", str(reject)))
                elif attempt + 1 >= ITEM_ATTEMPTS:
                    del pending[k]
                    detail = f"{ITEM_ATTEMPTS} attempts; the last: {reject}"
                    done[k] = Covered(units[k], attempt=attempt, missed=missed(units[k], "not-drawn", detail))
            finally:
                timing.validate += time.perf_counter() - checked
        while emitted in done:
            yield done.pop(emitted)
            emitted += 1


def _draw(renderer: Any, items: list[Any], rngs: list[Any], limit: float | None) -> list[Any]:
    """``render_items`` within ``limit`` s an item; past it, a ``timeout`` reject for each."""
    try:
        with time_limit(None if limit is None else limit * len(items)):
            results = list(renderer.render_items(items, rngs))
    except SampleTimeout:
        return list(timed_out(renderer, limit or 0.0, len(items)))
    if len(results) != len(items):
        raise TypeError(f"renderer {renderer.name}: render_items gave {len(results)} results for {len(items)}")
    return results


def make_covered_shard(renderer: Any, run_seed: int, compress_level: int, job: ShardJob, out: Path,
                       progress: Any, augment: Mapping[str, float] | None = None,
                       limit: float | None = None) -> dict[str, Any]:
    """Render one shard's units into the writer and commit it; returns its stats."""
    timing = Timing()
    rejects: collections.Counter[str] = collections.Counter()
    misses: list[dict[str, Any]] = []
    attempts = index = reported = 0
    with open_shard(job, out) as writer:
        for covered in cover_valid(renderer, run_seed, job, rejects, timing, augment, limit):
            if covered.missed is not None:
                misses.append(covered.missed)
            attempts += covered.draws
            for k, part in enumerate(covered.parts):
                meta = shard_meta(renderer, part, covered.seed, covered.attempt,
                                  source_meta(covered.unit, k, len(covered.parts)))
                writer.add(encode_sample(sample_key(job.renderer, job.shard, index), part, meta, compress_level))
                index += 1
            progress(1, sum(rejects.values()) - reported)
            reported = sum(rejects.values())
        return writer.commit({
            "renderer": job.renderer,
            "renderer_version": renderer.version,
            "count": index,
            "units": job.count,
            "attempts": attempts,
            "rejects": dict(sorted(rejects.items())),
            "missed": misses,
            "render_seconds": round(timing.render, 4),
            "validate_seconds": round(timing.validate, 4),
        })
