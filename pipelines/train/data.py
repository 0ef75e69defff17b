"""Streaming the shards into GOT batches: a list of small stages (iterator -> iterator).

Training reads every source of the config (a shard glob, or a render config rendered live, and a
mixing weight) as an endless stream in each loader worker of each rank (ARCHITECTURE.md "A shard";
webdataset's tar reading):

    shard_urls(glob)                  the source's tars, sorted
    -> split_urls(rank, worker)       this (rank, worker)'s share of them (all, when there are fewer
                                      tars than readers: then only the seeds below tell them apart)
    -> resample(rng)                  tars drawn with replacement, forever: no epoch edge, no stall,
                                      every rank always has data
    -> read_tars                      webdataset's tar reader; a corrupt or truncated tar is skipped
                                      with a logged warning and never drawn again by this reader
    -> decode                         the shard format's record: {"key", "images" (PIL), "target",
                                      "meta"} (pipelines/shard_format.py)
  or live_stream(render config)       the same records rendered in the worker, never written
                                      (pipelines/train/live.py)
  mix(sources, weights, rng)          one seeded choice of source per sample (webdataset's RandomMix
                                      draws from the global ``random`` module)
    -> shuffle(buffer, rng)
    -> encode(collator)               tokens and pixels, in the worker; overlong samples dropped
    -> batch(collator)                padded batches, so the main process only moves tensors
    -> report_live(positions)         with live sources: where each stands, for a resumed run

Every generator is a ``numpy.random.Generator`` seeded from (run seed, rank, worker, start step), so
two ranks read different data and a resumed run draws fresh data rather than the first batches again.
Held-out evaluation reads shards once, in order (``read_once``).
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from webdataset.tariterators import tarfile_samples

from pipelines import shard_format
from pipelines.train.live import LiveSource, live_stream

log = logging.getLogger(__name__)

MAX_DROPPED_IN_A_ROW = 1000  # then the stream fails rather than spin: max_length is surely too small


class DataError(RuntimeError):
    """No usable data: no shard matched, or every tar of a source is unreadable."""


def shard_urls(pattern: str) -> list[str]:
    urls = sorted(glob.glob(pattern, recursive=True))
    if not urls:
        raise DataError(f"no shard matches {pattern!r} (render some with `gotforge render`)")
    return urls


def split_urls(urls: Sequence[str], rank: int, world: int, worker: int, workers: int) -> list[str]:
    """Tar ``i`` goes to reader ``i mod (world × workers)``; with fewer tars than readers, all read all."""
    readers = world * workers
    if len(urls) < readers:
        return list(urls)
    slot = rank * workers + worker
    return list(urls[slot::readers])


def resample(urls: Sequence[str], rng: np.random.Generator, bad: set[str]) -> Iterator[str]:
    """Tars drawn uniformly with replacement, forever, skipping those found unreadable."""
    while True:
        good = [u for u in urls if u not in bad]
        if not good:
            raise DataError(f"every tar is unreadable: {sorted(bad)[:3]}{' …' if len(bad) > 3 else ''}")
        yield good[int(rng.integers(len(good)))]


def read_tars(urls: Iterable[str], bad: set[str]) -> Iterator[dict[str, Any]]:
    """Raw samples (``__key__``, one entry per member extension) of each tar, via webdataset.

    A tar that fails to open or to read (corrupt, truncated) is logged once, added to ``bad``, and
    skipped; the complete samples read before the fault are kept.
    """

    def fail(exn: Exception) -> bool:
        raise exn

    for url in urls:
        try:
            yield from tarfile_samples([{"url": url}], handler=fail)
        except Exception as err:  # noqa: BLE001 - any read fault of one tar skips that tar
            if url not in bad:
                log.warning("skipping unreadable shard %s: %s", url, err)
            bad.add(url)


def decode(samples: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Raw members -> the shard format's record ``{"key", "images" (RGB PIL), "target", "meta"}``
    (:func:`pipelines.shard_format.from_fields`); incomplete samples are logged and skipped."""
    for raw in samples:
        key = raw.get("__key__", "?")
        try:
            yield shard_format.from_fields(key, raw, images="rgb")
        except Exception as err:  # noqa: BLE001 - one bad sample is skipped, not fatal
            log.warning("skipping sample %s of %s: %s", key, raw.get("__url__"), err)


def mix(streams: Sequence[Iterator[Any]], weights: Sequence[float], rng: np.random.Generator) -> Iterator[Any]:
    """Each item from a source chosen with probability proportional to its weight."""
    p = np.asarray(weights, dtype=float) / float(sum(weights))
    while True:
        yield next(streams[int(rng.choice(len(streams), p=p))])


def shuffle(items: Iterable[Any], buffer: int, rng: np.random.Generator) -> Iterator[Any]:
    """A shuffle buffer: each incoming item replaces a random one, which is emitted (0: no shuffling)."""
    if buffer <= 0:
        yield from items
        return
    pool: list[Any] = []
    for item in items:
        if len(pool) < buffer:
            pool.append(item)
            continue
        i = int(rng.integers(buffer))
        pool[i], item = item, pool[i]
        yield item
    rng.shuffle(pool)
    yield from pool


def encode(samples: Iterable[dict[str, Any]], encode_one: Callable[[dict[str, Any]], Any]) -> Iterator[Any]:
    """``(key, encoded)``; a dropped (too long) sample comes out as ``(key, None)`` so batches count it."""
    for sample in samples:
        yield sample["key"], encode_one(sample)


def batch(encoded: Iterable[Any], size: int, pad: Callable[..., dict[str, Any] | None]) -> Iterator[dict[str, Any]]:
    """``size`` kept samples per batch, padded; ``num_dropped`` counts the overlong ones skipped and
    ``keys`` names the samples (both popped by the trainer before the forward pass)."""
    kept: list[Any] = []
    keys: list[str] = []
    dropped = 0
    for key, item in encoded:
        if item is None:
            dropped += 1
            if dropped >= MAX_DROPPED_IN_A_ROW and not kept:
                raise DataError(f"{dropped} samples in a row are longer than the collator's max_length "
                                f"({key} the last): raise data.max_length")
            continue
        kept.append(item)
        keys.append(key)
        if len(kept) == size:
            out = pad(kept, num_dropped=dropped)
            if out is not None:
                out["keys"] = keys
                yield out
            kept, keys, dropped = [], [], 0


def reader_seed(seed: int, rank: int, worker: int, start_step: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed & 0xFFFFFFFF, rank, worker, start_step])


def report_live(batches: Iterable[dict[str, Any]], positions: Mapping[int, int]) -> Iterator[dict[str, Any]]:
    """Each batch with ``live``: {source index: one past the highest virtual shard begun}, popped by the
    trainer, whose highest values across batches and ranks are where a resumed run starts."""
    for out in batches:
        out["live"] = dict(positions)
        yield out


Spec = str | LiveSource  # a shard glob, or a render config rendered live


def source_specs(sources: Sequence[Any]) -> list[tuple[Spec, float]]:
    """``(spec, weight)`` of each ``data.sources`` entry of a training config, render configs loaded
    (and checked) here, before any loader worker starts."""
    return [(s.shards if s.shards is not None else LiveSource.load(s.render), s.weight) for s in sources]


def source_stream(pattern: str, rank: int, world: int, worker: int, workers: int,
                  rng: np.random.Generator) -> Iterator[dict[str, Any]]:
    urls = split_urls(shard_urls(pattern), rank, world, worker, workers)
    bad: set[str] = set()
    return decode(read_tars(resample(urls, rng, bad), bad))


class TrainStream(torch.utils.data.IterableDataset):
    """The endless training stream of one rank; each DataLoader worker builds its own pipeline."""

    def __init__(self, sources: Sequence[tuple[Spec, float]], collator: Any, batch_size: int,
                 shuffle_buffer: int, seed: int, rank: int = 0, world: int = 1, start_step: int = 0,
                 live_start: Mapping[int, int] | None = None) -> None:
        """``live_start``: {source index: first virtual shard} of the live sources (a resumed run's)."""
        super().__init__()
        for spec, _ in sources:
            if isinstance(spec, str):
                shard_urls(spec)  # fail early, in the main process, on a glob that matches nothing
        self.sources = list(sources)
        self.collator = collator
        self.batch_size = batch_size
        self.shuffle_buffer = shuffle_buffer
        self.seed, self.rank, self.world, self.start_step = seed, rank, world, start_step
        self.live_start = {i: (live_start or {}).get(i, 0) for i, (spec, _) in enumerate(sources)
                           if isinstance(spec, LiveSource)}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        seeds = reader_seed(self.seed, self.rank, worker, self.start_step).spawn(len(self.sources) + 2)
        rngs = [np.random.default_rng(s) for s in seeds]
        positions = dict(self.live_start)
        streams = [
            source_stream(spec, self.rank, self.world, worker, workers, rngs[i]) if isinstance(spec, str)
            else live_stream(spec, self.rank * workers + worker, self.world * workers, positions[i], positions, i)
            for i, (spec, _) in enumerate(self.sources)
        ]
        samples = mix(streams, [w for _, w in self.sources], rngs[-2])
        samples = shuffle(samples, self.shuffle_buffer, rngs[-1])
        batches = batch(encode(samples, self.collator.encode), self.batch_size, self.collator.pad)
        return report_live(batches, positions) if positions else batches


def train_loader(stream: TrainStream, workers: int, prefetch: int) -> torch.utils.data.DataLoader:
    """Batches come ready-padded from the workers (``batch_size=None``)."""
    return torch.utils.data.DataLoader(
        stream,
        batch_size=None,
        num_workers=workers,
        prefetch_factor=prefetch if workers else None,
        persistent_workers=False,
    )


def read_once(pattern: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Held-out samples: every tar of ``pattern`` once, in sorted order, decoded; at most ``limit``."""
    bad: set[str] = set()
    for n, sample in enumerate(decode(read_tars(shard_urls(pattern), bad))):
        if limit is not None and n >= limit:
            return
        yield sample
