"""The shard writer: one tar per shard, committed atomically, its stats file the commit mark.

A shard ``OUT/<renderer>/<renderer>-<shard:06d>.tar`` is written to a hidden temp name, fsynced and
renamed; only then is ``<renderer>-<shard:06d>.stats.json`` written (also atomically), and that
file is what marks the shard committed (img2dataset's writer: the stats file is written after the
shard closes). Tar members carry fixed mtime, owner and mode, so equal content gives equal bytes;
what the members are is :mod:`pipelines.shard_format`.

Tars are written with the standard library's ``tarfile`` (USTAR, as webdataset's own TarWriter
writes them): webdataset's writer would import torch into every worker, a second of start-up each.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines import shard_format
from pipelines.render.png import encode_png
from renderers.base import Sample

if TYPE_CHECKING:
    from pipelines.render.plan import ShardJob


def encode_sample(key: str, sample: Sample, meta: dict[str, Any], compress_level: int) -> dict[str, bytes]:
    """The tar members of one sample, its images as the back-end's own PNG files or encoded here."""
    pngs = sample.png if sample.png is not None else [encode_png(im, compress_level) for im in sample.images]
    return shard_format.encode_members(key, pngs, sample.target, meta)


def add_members(tar: tarfile.TarFile, members: dict[str, bytes]) -> None:
    """Append members with fixed metadata, so equal content gives equal bytes."""
    for name, data in members.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))


class ShardWriter:
    """One shard's tar, from the first member to the commit mark; made by :func:`open_shard`."""

    def __init__(self, job: ShardJob, out: Path) -> None:
        self.job, self.out = job, out
        self.started, self.started_at = time.perf_counter(), time.time()
        (out / job.renderer).mkdir(parents=True, exist_ok=True)
        self.temp = job.temp_path(out)
        self.handle = open(self.temp, "wb")  # noqa: SIM115 - closed by commit or discard
        self.tar = tarfile.open(fileobj=self.handle, mode="w|", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
        self.committed = False

    def discard(self) -> None:
        """Close and remove the temp file of a shard that will not be committed."""
        if self.committed:
            return
        with contextlib.suppress(OSError, ValueError):  # the error that ended the shard matters
            self.tar.close()
        self.handle.close()
        self.temp.unlink(missing_ok=True)

    def add(self, members: dict[str, bytes]) -> None:
        add_members(self.tar, members)

    def commit(self, stats: dict[str, Any]) -> dict[str, Any]:
        """Close, fsync and rename the tar, then write its stats (``stats`` plus the shard's name,
        size and times): from then on the shard is committed. Returns the stats written."""
        self.tar.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        tar_path = self.job.tar_path(self.out)
        os.replace(self.temp, tar_path)
        fsync_dir(tar_path.parent)
        stats = {
            **stats,
            "shard": self.job.name,
            "tar": tar_path.name,
            "bytes": tar_path.stat().st_size,
            "seconds": round(time.perf_counter() - self.started, 4),
            "started_at": round(self.started_at, 4),  # wall clock, for throughput across workers (bench)
            "finished_at": round(time.time(), 4),
        }
        write_json_atomic(self.job.stats_path(self.out), stats)
        self.committed = True
        return stats


@contextlib.contextmanager
def open_shard(job: ShardJob, out: Path) -> Iterator[ShardWriter]:
    """``with open_shard(job, out) as writer: writer.add(members) …; writer.commit(stats)``. Leaving
    the block without a commit (an error, Ctrl-C) removes the temp file: nothing of the shard is
    visible, and the planner redoes it."""
    writer = ShardWriter(job, out)
    try:
        yield writer
    finally:
        writer.discard()


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


def committed_stats(job: ShardJob, out: Path) -> dict[str, Any] | None:
    """The stats of a committed, intact shard, or ``None`` when it must be (re)made."""
    stats_path, tar_path = job.stats_path(out), job.tar_path(out)
    if not stats_path.exists() or not tar_path.exists():
        return None
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    made = stats.get("units", stats.get("count"))  # a covering shard's count is its units, not its samples
    if stats.get("bytes") != tar_path.stat().st_size or made != job.count:
        return None
    return stats


def remove_uncommitted(job: ShardJob, out: Path) -> None:
    """Drop what an interrupted run left of a shard: its temp file, or a tar without stats."""
    for path in (job.temp_path(out), job.tar_path(out), job.stats_path(out)):
        path.unlink(missing_ok=True)
