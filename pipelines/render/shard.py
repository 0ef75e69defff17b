"""Writing one shard: the unit of work, failure, resumption and accounting (img2dataset style).

A shard ``DIR/<renderer>/<renderer>-<shard:06d>.tar`` is written to a hidden temp name, fsynced and
renamed; only then is ``<renderer>-<shard:06d>.stats.json`` written (also atomically), and that
file is what marks the shard committed. Member layout and determinism follow ARCHITECTURE.md ("A sample
in a shard"): fixed mtime/owner/mode, members sorted per sample, PNG bytes from fixed settings
(:mod:`pipelines.render.png`).

Tars are written with the standard library's ``tarfile`` (USTAR, as webdataset's own TarWriter
writes them): webdataset's writer would import torch into every worker, a second of start-up each.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import os
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from got_model.prompts import query_for_meta
from pipelines.render.checks import check_sample
from pipelines.render.png import encode_png
from pipelines.render.seeding import sample_rng, sample_seed
from renderers.base import Reject, Sample

# Rejects in a row for one sample before its shard is failed (a renderer that rejects
# everything must stop the shard, never loop).
MAX_ATTEMPTS = 25

ProgressFn = Callable[[int, int], None]  # (samples written, rejects) since the last call


class ShardError(RuntimeError):
    """A shard could not be completed (its renderer rejected a sample too many times)."""


@dataclasses.dataclass(frozen=True)
class ShardJob:
    renderer: str
    shard: int
    count: int

    @property
    def name(self) -> str:
        return f"{self.renderer}-{self.shard:06d}"

    def tar_path(self, out: Path) -> Path:
        return out / self.renderer / f"{self.name}.tar"

    def stats_path(self, out: Path) -> Path:
        return out / self.renderer / f"{self.name}.stats.json"

    def temp_path(self, out: Path) -> Path:
        return out / self.renderer / f".{self.name}.tar.tmp"


def sample_key(renderer: str, shard: int, index: int) -> str:
    return f"{renderer}-{shard:06d}-{index:06d}"


def shard_meta(renderer: Any, sample: Sample, seed: int, attempt: int) -> dict[str, Any]:
    """The renderer's meta plus the fields ARCHITECTURE.md requires in every sample."""
    meta = dict(sample.meta)
    meta.setdefault("task", renderer.task)
    if len(sample.images) > 1:
        meta.setdefault("pages", len(sample.images))
    meta.update(
        renderer=renderer.name,
        renderer_version=renderer.version,
        markup=renderer.markup,
        seed=seed,
        attempt=attempt,
    )
    meta["prompt"] = query_for_meta(meta)
    if "lang" not in meta:
        raise TypeError(f"renderer {renderer.name} left out meta['lang'] (required by the sample contract)")
    return meta


def encode_sample(key: str, sample: Sample, meta: dict[str, Any], compress_level: int) -> dict[str, bytes]:
    """The tar members of one sample: ``{member name: bytes}`` in the order they are written."""
    members = {
        f"{key}.json": json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"),
    }
    pngs = sample.png if sample.png is not None else [encode_png(im, compress_level) for im in sample.images]
    if len(pngs) == 1:
        members[f"{key}.png"] = pngs[0]
    else:
        for page, data in enumerate(pngs):
            members[f"{key}.p{page}.png"] = data
    members[f"{key}.txt"] = sample.target.encode("utf-8")
    return members


def add_members(tar: tarfile.TarFile, members: dict[str, bytes]) -> None:
    """Append members with fixed metadata, so equal content gives equal bytes."""
    for name, data in members.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))


@dataclasses.dataclass
class Timing:
    render: float = 0.0
    validate: float = 0.0


def render_many(renderer: Any, rngs: list[Any]) -> list[Sample | Reject]:
    """One result per generator: the renderer's ``render_batch`` when it has one, else ``render`` on each."""
    batch = getattr(renderer, "render_batch", None)
    if batch is not None:
        results = list(batch(rngs))
        if len(results) != len(rngs):
            raise TypeError(f"renderer {renderer.name}: render_batch gave {len(results)} results for {len(rngs)}")
        return results
    results = []
    for rng in rngs:
        try:
            results.append(renderer.render(rng))
        except Reject as reject:
            results.append(reject)
    return results


def render_valid(renderer: Any, run_seed: int, job: ShardJob, rejects: collections.Counter[str],
                 timing: Timing) -> Iterator[tuple[int, Sample, int, int]]:
    """Yield ``(index, sample, seed, attempt)`` for every sample of ``job``, in index order.

    Samples are rendered ``batch_size`` at a time (a renderer attribute; 1 when absent). A rejected
    sample is retried with its next attempt's seed in a later batch, beside the next new samples.
    Each result is a pure function of its own seed, so batching never changes the bytes written.
    """
    validate = getattr(renderer, "validate", None)
    size = max(1, int(getattr(renderer, "batch_size", 1)))
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
        results = render_many(renderer, [sample_rng(seed) for seed in seeds])
        timing.render += time.perf_counter() - start
        for (index, attempt), seed, result in zip(batch, seeds, results):
            checked = time.perf_counter()
            try:
                if isinstance(result, Reject):
                    raise result
                check_sample(result)
                if validate is not None:
                    validate(result)
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


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: Any) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def make_shard(renderer: Any, run_seed: int, compress_level: int, job: ShardJob, out: Path,
               progress: ProgressFn) -> dict[str, Any]:
    """Render, write and commit one shard; returns its stats (also written beside it)."""
    (out / job.renderer).mkdir(parents=True, exist_ok=True)
    temp = job.temp_path(out)
    rejects: collections.Counter[str] = collections.Counter()
    timing = Timing()
    started, started_at = time.perf_counter(), time.time()
    attempts = 0
    with open(temp, "wb") as handle:
        with tarfile.open(fileobj=handle, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
            reported = 0
            for index, sample, seed, attempt in render_valid(renderer, run_seed, job, rejects, timing):
                attempts += attempt + 1
                meta = shard_meta(renderer, sample, seed, attempt)
                add_members(tar, encode_sample(sample_key(job.renderer, job.shard, index), sample, meta,
                                               compress_level))
                progress(1, sum(rejects.values()) - reported)
                reported = sum(rejects.values())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, job.tar_path(out))
    fsync_dir(out / job.renderer)
    stats = {
        "shard": job.name,
        "tar": job.tar_path(out).name,
        "renderer": job.renderer,
        "renderer_version": renderer.version,
        "count": job.count,
        "attempts": attempts,
        "rejects": dict(sorted(rejects.items())),
        "bytes": job.tar_path(out).stat().st_size,
        "seconds": round(time.perf_counter() - started, 4),
        "render_seconds": round(timing.render, 4),
        "validate_seconds": round(timing.validate, 4),
        "started_at": round(started_at, 4),  # wall clock, for throughput across workers (bench)
        "finished_at": round(time.time(), 4),
    }
    write_json_atomic(job.stats_path(out), stats)
    return stats


def committed_stats(job: ShardJob, out: Path) -> dict[str, Any] | None:
    """The stats of a committed, intact shard, or ``None`` when it must be (re)made."""
    stats_path, tar_path = job.stats_path(out), job.tar_path(out)
    if not stats_path.exists() or not tar_path.exists():
        return None
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if stats.get("bytes") != tar_path.stat().st_size or stats.get("count") != job.count:
        return None
    return stats


def remove_uncommitted(job: ShardJob, out: Path) -> None:
    """Drop what an interrupted run left of a shard: its temp file, or a tar without stats."""
    for path in (job.temp_path(out), job.tar_path(out), job.stats_path(out)):
        path.unlink(missing_ok=True)
