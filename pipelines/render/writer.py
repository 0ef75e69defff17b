"""The shard writer: one tar per shard, committed atomically, its stats file the commit mark.

A shard ``OUT/<renderer>/<renderer>-<shard:06d>.tar`` is written to a hidden temp name, fsynced and
renamed; only then is ``<renderer>-<shard:06d>.stats.json`` written (also atomically), and that
file is what marks the shard committed (img2dataset's writer: the stats file is written after the
shard closes). The stats hold the tar's SHA-256, hashed from the bytes as they are written, so a
tar damaged on disk after its commit is found on resume (:func:`committed_stats`) and made again.
A full disk ends the shard with :class:`WriteError` and leaves nothing of it. Tar members carry
fixed mtime, owner and mode, so equal content gives equal bytes; what the members are is
:mod:`pipelines.shard_format`.

Tars are written with the standard library's ``tarfile`` (USTAR, as webdataset's own TarWriter
writes them): webdataset's writer would import torch into every worker, a second of start-up each.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
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


class WriteError(OSError):
    """A shard could not be written: the device is full (or over quota), or the folder refuses it."""


# Errors of the device rather than of the shard: a rerun with space or access completes.
DEVICE_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                 errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
                 errno.EPERM: "operation not permitted"}


def device_error(err: OSError, what: str) -> WriteError | None:
    """A :class:`WriteError` naming ``what`` for a device error, else None (the caller re-raises)."""
    if err.errno not in DEVICE_ERRORS:
        return None
    return WriteError(err.errno, f"{DEVICE_ERRORS[err.errno]} while writing {what}; nothing of it is committed: "
                      f"free space (or fix access) and rerun the same command, committed shards are kept")


class _Hashing(io.RawIOBase):
    """A write-only file that hashes what passes through it (the tar is hashed as it is written,
    never read back)."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.digest = handle, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        written = self.handle.write(data)
        self.digest.update(memoryview(data)[:written])
        return written


class ShardWriter:
    """One shard's tar, from the first member to the commit mark; made by :func:`open_shard`."""

    def __init__(self, job: ShardJob, out: Path) -> None:
        self.job, self.out = job, out
        self.started, self.started_at = time.perf_counter(), time.time()
        self.committed = False
        self.temp = job.temp_path(out)
        self.handle: Any = None
        self.tar: tarfile.TarFile | None = None
        with self._device_errors():
            (out / job.renderer).mkdir(parents=True, exist_ok=True)
            self.handle = open(self.temp, "wb")  # noqa: SIM115 - closed by commit or discard
        self.hashing = _Hashing(self.handle)
        self.tar = tarfile.open(fileobj=self.hashing, mode="w|", format=tarfile.USTAR_FORMAT)  # noqa: SIM115

    @contextlib.contextmanager
    def _device_errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as err:
            if (clear := device_error(err, f"shard {self.job.name} into {self.out}")) is None:
                raise
            raise clear from None

    def discard(self) -> None:
        """Close and remove the temp file of a shard that will not be committed."""
        if self.committed:
            return
        # The error that ended the shard matters, not one closing a half-written tar on a full disk.
        with contextlib.suppress(OSError, ValueError):
            if self.tar is not None:
                self.tar.close()
        with contextlib.suppress(OSError):
            if self.handle is not None:
                self.handle.close()
        self.temp.unlink(missing_ok=True)
        self.job.stats_path(self.out).with_name(f".{self.job.stats_path(self.out).name}.tmp").unlink(missing_ok=True)

    def add(self, members: dict[str, bytes]) -> None:
        assert self.tar is not None
        with self._device_errors():
            add_members(self.tar, members)

    def commit(self, stats: dict[str, Any]) -> dict[str, Any]:
        """Close, fsync and rename the tar, then write its stats (``stats`` plus the shard's name,
        size, SHA-256 and times): from then on the shard is committed. Returns the stats written."""
        assert self.tar is not None
        tar_path = self.job.tar_path(self.out)
        with self._device_errors():
            self.tar.close()
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.temp, tar_path)
            fsync_dir(tar_path.parent)
            stats = {
                **stats,
                "shard": self.job.name,
                "tar": tar_path.name,
                "bytes": tar_path.stat().st_size,
                "sha256": self.hashing.digest.hexdigest(),
                "seconds": round(time.perf_counter() - self.started, 4),
                "started_at": round(self.started_at, 4),  # wall clock, for throughput across workers (bench)
                "finished_at": round(time.time(), 4),
            }
            try:
                write_json_atomic(self.job.stats_path(self.out), stats)
            except OSError:
                tar_path.unlink(missing_ok=True)  # a tar without its stats is not committed: leave none
                raise
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
    """The stats of a committed shard of the right size, or ``None`` when it must be (re)made
    (:func:`tar_matches` reads the tar itself)."""
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


def tar_matches(job: ShardJob, out: Path, stats: dict[str, Any]) -> bool:
    """Whether the committed tar still has the SHA-256 its stats recorded (stats from before
    checksums were recorded are taken as they are)."""
    if "sha256" not in stats:
        return True
    with open(job.tar_path(out), "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest() == stats["sha256"]


def remove_uncommitted(job: ShardJob, out: Path) -> None:
    """Drop what an interrupted run left of a shard: its temp file, or a tar without stats."""
    for path in (job.temp_path(out), job.tar_path(out), job.stats_path(out)):
        path.unlink(missing_ok=True)
