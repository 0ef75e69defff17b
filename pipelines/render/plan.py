"""The planner: which shards a run makes, whether this folder may hold them, which are still to do.

* :func:`plan`: every shard of the config as a :class:`ShardJob`, interleaved across renderers; a
  renderer that covers its corpus in order gets shards of contiguous units
  (:mod:`pipelines.render.coverage`).
* :func:`claim_folder`: the run's identity (config, renderer versions, corpus fingerprints) is
  stored in ``run.json``; a folder holding a different one is refused with the keys that differ.
* :func:`check_writable`: the output folders take a file, or the run stops before any work.
* :func:`folder_lock`: one render at a time per folder.
* :func:`to_do`: resumption. Committed shards (:func:`pipelines.render.writer.committed_stats`) whose
  tar still has the checksum recorded at its commit are kept; whatever an interrupted run left of the
  others (or a tar damaged on disk) is removed, and they are made again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pipelines.render.config import RunConfig
from pipelines.render.writer import committed_stats, remove_uncommitted, tar_matches, write_json_atomic
from renderers import registry


class RunError(RuntimeError):
    """The run ended with failed shards, or cannot start in this folder."""


@dataclasses.dataclass(frozen=True)
class ShardJob:
    """One shard to make: ``count`` samples of ``renderer`` drawn at random, the shard numbered
    ``shard``; or, when ``first`` is set, ``count`` corpus units from unit ``first`` on, in order."""

    renderer: str
    shard: int
    count: int
    first: int | None = None

    @property
    def name(self) -> str:
        return f"{self.renderer}-{self.shard:06d}"

    def tar_path(self, out: Path) -> Path:
        return out / self.renderer / f"{self.name}.tar"

    def stats_path(self, out: Path) -> Path:
        return out / self.renderer / f"{self.name}.stats.json"

    def temp_path(self, out: Path) -> Path:
        return out / self.renderer / f".{self.name}.tar.tmp"


def plan(config: RunConfig, units: Mapping[str, int] | None = None) -> list[ShardJob]:
    """All shards of the run, interleaved across renderers so a partial run covers each one.

    ``units``: the units of each renderer that covers its corpus (:func:`pipelines.render.coverage.count_units`)."""
    units = units or {}
    per_renderer = []
    for job in config.renderers:
        covers = job.name in units
        total = units[job.name] if covers else job.samples
        shards = math.ceil(total / config.shard_size)
        size = config.shard_size
        per_renderer.append([
            ShardJob(job.name, s, min(size, total - s * size), s * size if covers else None) for s in range(shards)
        ])
    longest = max((len(p) for p in per_renderer), default=0)
    return [p[i] for i in range(longest) for p in per_renderer if i < len(p)]


def to_do(jobs: list[ShardJob], out: Path) -> list[ShardJob]:
    """The jobs whose shard is not committed in ``out``, after removing what is left of them."""
    todo = []
    for job in jobs:
        job.temp_path(out).unlink(missing_ok=True)
        stats = committed_stats(job, out)
        if stats is not None and not tar_matches(job, out, stats):
            print(f"warning: {job.tar_path(out)} no longer has the SHA-256 its stats recorded at commit "
                  f"(damaged on disk); making it again", file=sys.stderr)
            stats = None
        if stats is None:
            remove_uncommitted(job, out)
            todo.append(job)
    return todo


def run_identity(config: RunConfig, fingerprints: Mapping[str, str | None]) -> dict[str, Any]:
    """What decides the bytes of this run's shards (the worker count and the distributor do not).

    ``fingerprints``: each renderer's user corpus fingerprint (None without one)."""
    renderers = {}
    for job in config.renderers:
        entry = registry.get_entry(job.name)
        cls = entry.load()
        renderers[job.name] = {
            "version": str(cls.version),
            "package": entry.package,
            "corpus_fingerprint": fingerprints.get(job.name),
        }
    return {"config": config.model_dump(mode="json"), "renderers": renderers}


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (o, n) in enumerate(zip(old, new)) for d in _differences(o, n, f"{prefix}{i}.")]
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} → {new!r}"]


def claim_folder(out: Path, identity: dict[str, Any]) -> None:
    """Record the run's identity in ``out/run.json``, or refuse a different one already there."""
    path = out / "run.json"
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        changed = _differences(old, identity)
        if changed:
            raise RunError(
                f"{out} already holds shards of a different run; refusing to mix them.\n  "
                + "\n  ".join(changed)
                + f"\nUse another --out, or delete {out} to start over."
            )
        return
    write_json_atomic(path, identity)


def check_writable(out: Path, renderers: Iterable[str]) -> None:
    """Create ``out`` and each renderer's folder in it and write a file into each, or raise
    :class:`RunError` saying why: a try, since permissions, read-only mounts and files in the way
    all refuse differently (and root passes permission bits)."""
    for folder in (out, *(out / name for name in renderers)):
        try:
            if folder.exists() and not folder.is_dir():
                raise NotADirectoryError(20, "a file is in the way, not a folder")
            folder.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(prefix=".gotforge-probe-", dir=folder)
            os.close(handle)
            os.unlink(probe)
        except OSError as err:
            raise RunError(f"cannot write into the output folder {folder}: {err.strerror or err}; "
                           f"choose another --out, or make it a writable folder") from None


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"another gotforge render is writing into {out}; wait for it or use another --out") from None
        yield
