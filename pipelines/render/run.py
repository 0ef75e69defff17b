"""The generation engine: plan shards, skip committed ones, render the rest in local worker
processes, then write ``sizes.json`` and ``manifest.json``.

* One renderer instance per worker process, built lazily the first time the worker meets it.
* The shard is the unit of work (:mod:`pipelines.render.shard`); a distributor is one function that maps
  shard jobs (here: in-process for one worker, a spawn-based process pool for more).
* A rerun into the same folder resumes: committed shards are kept, the rest redone. The run's
  identity (config, renderer versions, corpus fingerprints) is stored in ``run.json``; a different
  one is refused with the keys that differ.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import fcntl
import gc
import math
import multiprocessing
import multiprocessing.util
import queue
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from corpora.base import fingerprint_of
from pipelines.render.config import ConfigError, RunConfig, check_options
from pipelines.render.shard import ShardJob, committed_stats, make_shard, remove_uncommitted, write_json_atomic
from renderers import registry

# Python's cyclic garbage collector, set for rendering. Renderers make many short-lived objects in
# reference cycles (one matplotlib chart is ~100k), and with the default thresholds the collector
# runs every 700 allocations and each full collection rescans every long-lived object (corpora,
# fonts, modules). So the engine freezes what exists once the renderers are built and collects the
# young generation every 50,000 allocations. No output depends on when garbage is collected.
GC_THRESHOLDS = (50_000, 20, 20)


@contextlib.contextmanager
def rendering_gc() -> Iterator[None]:
    """Collector thresholds for rendering inside the block; the previous ones (and no frozen
    objects) after it. Call :func:`gc.freeze` inside once the renderers are built."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


class RunError(RuntimeError):
    """The run ended with failed shards, or cannot start in this folder."""


def build_renderer(config: RunConfig, name: str) -> Any:
    job = next(j for j in config.renderers if j.name == name)
    cls = registry.load(name)
    return cls(check_options(job), Path(job.corpus) if job.corpus else None)


def plan(config: RunConfig) -> list[ShardJob]:
    """All shards of the run, interleaved across renderers so a partial run covers each one."""
    per_renderer = []
    for job in config.renderers:
        shards = math.ceil(job.samples / config.shard_size)
        per_renderer.append([
            ShardJob(job.name, s, min(config.shard_size, job.samples - s * config.shard_size)) for s in range(shards)
        ])
    longest = max((len(p) for p in per_renderer), default=0)
    return [p[i] for i in range(longest) for p in per_renderer if i < len(p)]


def run_identity(config: RunConfig) -> dict[str, Any]:
    """What decides the bytes of this run's shards (the worker count does not)."""
    renderers = {}
    for job in config.renderers:
        entry = registry.get_entry(job.name)
        cls = entry.load()
        renderers[job.name] = {
            "version": str(cls.version),
            "package": entry.package,
            "corpus_fingerprint": fingerprint_of(Path(job.corpus)) if job.corpus else None,
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
        import json

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


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"another gotforge render is writing into {out}; wait for it or use another --out") from None
        yield


# --- worker side -------------------------------------------------------------------------------

class _Worker:
    """Per-process state of a pool worker: its renderer instances and the progress channel."""

    def __init__(self, config: RunConfig, out: Path, progress_queue: Any) -> None:
        self.config, self.out, self.queue = config, out, progress_queue
        self.renderers: dict[str, Any] = {}
        self.pending = [0, 0]
        self.last_flush = time.monotonic()
        multiprocessing.util.Finalize(self, self.close, exitpriority=10)

    def renderer(self, name: str) -> Any:
        if name not in self.renderers:
            self.renderers[name] = build_renderer(self.config, name)
            gc.freeze()  # its corpus and fonts live as long as the worker: never rescan them
        return self.renderers[name]

    def progress(self, done: int, rejects: int) -> None:
        self.pending[0] += done
        self.pending[1] += rejects
        if time.monotonic() - self.last_flush > 0.2:
            self.flush()

    def flush(self) -> None:
        if self.pending != [0, 0]:
            self.queue.put(tuple(self.pending))
            self.pending = [0, 0]
        self.last_flush = time.monotonic()

    def close(self) -> None:
        for renderer in self.renderers.values():
            close = getattr(renderer, "close", None)
            if close is not None:
                close()
        self.renderers.clear()


_WORKER: _Worker | None = None  # set once per pool process by _init_worker


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the main process dies (even by SIGKILL), so an
    orphan never keeps writing into a folder that a rerun is resuming."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _init_worker(config: RunConfig, out: Path, progress_queue: Any) -> None:
    global _WORKER
    _die_with_parent()
    gc.set_threshold(*GC_THRESHOLDS)  # the worker process ends with the run: nothing to restore
    _WORKER = _Worker(config, out, progress_queue)


def _run_job(job: ShardJob) -> dict[str, Any]:
    assert _WORKER is not None
    worker = _WORKER
    try:
        return make_shard(worker.renderer(job.renderer), worker.config.seed, worker.config.png_compress_level,
                          job, worker.out, worker.progress)
    finally:
        worker.flush()


# --- main side ---------------------------------------------------------------------------------

def _package_versions() -> dict[str, str]:
    versions = {"gotforge": metadata.version("gotforge")}
    for requirement in metadata.requires("gotforge") or []:
        if "extra ==" in requirement:
            continue
        name = requirement.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            name = name.split(sep)[0]
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return dict(sorted(versions.items()))


def _corpus_report(renderer: Any) -> dict[str, Any] | None:
    corpus = getattr(renderer, "corpus", None)
    if corpus is None:
        return None
    return {"source": corpus.source, "items": len(corpus), "rejects": corpus.rejects, "examples": list(corpus.examples)}


def render_run(config: RunConfig, out: Path, workers: int = 1, show_progress: bool = True) -> dict[str, Any]:
    """Make every missing shard of ``config`` under ``out``; returns the manifest."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, found {workers}")
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out), rendering_gc():
        # Build each renderer once here: corpus and options problems surface before any work.
        local = {job.name: build_renderer(config, job.name) for job in config.renderers}
        gc.freeze()
        corpora = {name: report for name, r in local.items() if (report := _corpus_report(r))}
        for name, report in corpora.items():
            if report["rejects"]:
                print(f"warning: corpus {report['source']} ({name}): rejected {report['rejects']}, "
                      f"e.g. {report['examples'][0]}")
        identity = run_identity(config)
        claim_folder(out, identity)
        jobs = plan(config)
        todo = []
        for job in jobs:
            job.temp_path(out).unlink(missing_ok=True)
            if committed_stats(job, out) is None:
                remove_uncommitted(job, out)
                todo.append(job)
        started = time.perf_counter()
        failures = _distribute(config, out, todo, workers, local, show_progress)
        for renderer in local.values():
            close = getattr(renderer, "close", None)
            if close is not None:
                close()
        manifest = _write_summary(config, out, jobs, identity, corpora, time.perf_counter() - started, workers)
    if failures:
        raise RunError(
            f"{len(failures)} shard(s) failed; rerun the same command to retry them:\n  " + "\n  ".join(failures)
        )
    return manifest


def _distribute(config: RunConfig, out: Path, todo: list[ShardJob], workers: int, local: dict[str, Any],
                show_progress: bool) -> list[str]:
    total = sum(job.count for job in todo)
    bar = tqdm(total=total, unit="sample", disable=not show_progress or total == 0, dynamic_ncols=True)
    rejects = 0

    def advance(done: int, rejected: int) -> None:
        nonlocal rejects
        rejects += rejected
        bar.update(done)
        if rejected:
            bar.set_postfix(rejects=rejects, refresh=False)

    failures: list[str] = []
    try:
        if workers == 1 or len(todo) <= 1:
            for job in todo:
                try:
                    make_shard(local[job.renderer], config.seed, config.png_compress_level, job, out, advance)
                except Exception as err:  # noqa: BLE001 - reported per shard, the run goes on
                    failures.append(f"{job.name}: {err}")
        else:
            failures = _pool(config, out, todo, workers, advance)
    except KeyboardInterrupt:
        bar.close()
        raise RunError(f"interrupted; committed shards are kept: rerun the same command to resume into {out}") from None
    bar.close()
    return failures


def _pool(config: RunConfig, out: Path, todo: list[ShardJob], workers: int, advance: Any) -> list[str]:
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    failures = []
    reported = [0]

    def counted(done: int, rejected: int) -> None:
        reported[0] += done
        advance(done, rejected)

    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=context,
        initializer=_init_worker, initargs=(config, out, progress_queue),
    ) as pool:
        futures = {pool.submit(_run_job, job): job for job in todo}
        pending = set(futures)
        finished = 0
        try:
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.1)
                _drain(progress_queue, counted)
                for future in done:
                    try:
                        future.result()
                        finished += futures[future].count
                    except Exception as err:  # noqa: BLE001 - reported per shard, the run goes on
                        failures.append(f"{futures[future].name}: {err}")
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        _drain(progress_queue, counted)
    # Progress messages are best-effort; the finished shards are the truth.
    if finished > reported[0]:
        advance(finished - reported[0], 0)
    return failures


def _drain(progress_queue: Any, advance: Any) -> None:
    while True:
        try:
            done, rejected = progress_queue.get_nowait()
        except queue.Empty:
            return
        advance(done, rejected)


def _write_summary(config: RunConfig, out: Path, jobs: list[ShardJob], identity: dict[str, Any],
                   corpora: dict[str, Any], seconds: float, workers: int) -> dict[str, Any]:
    sizes: dict[str, int] = {}
    per_dir: dict[str, dict[str, int]] = collections.defaultdict(dict)
    rejects: collections.Counter[str] = collections.Counter()
    per_renderer: dict[str, dict[str, Any]] = {}
    for job in jobs:
        stats = committed_stats(job, out)
        entry = per_renderer.setdefault(job.renderer, {
            **identity["renderers"][job.renderer], "samples": 0, "shards": 0, "missing_shards": 0,
            "rejects": collections.Counter(), "render_seconds": 0.0, "seconds": 0.0,
        })
        if stats is None:
            entry["missing_shards"] += 1
            continue
        sizes[f"{job.renderer}/{stats['tar']}"] = stats["count"]
        per_dir[job.renderer][stats["tar"]] = stats["count"]
        entry["samples"] += stats["count"]
        entry["shards"] += 1
        entry["rejects"].update(stats["rejects"])
        entry["render_seconds"] += stats["render_seconds"]
        entry["seconds"] += stats["seconds"]
        rejects.update(stats["rejects"])
    for name, entry in per_renderer.items():
        entry["rejects"] = dict(sorted(entry["rejects"].items()))
        entry["render_seconds"] = round(entry["render_seconds"], 3)
        entry["seconds"] = round(entry["seconds"], 3)
        if name in corpora:
            entry["corpus"] = corpora[name]
    write_json_atomic(out / "sizes.json", sizes)
    for renderer, counts in per_dir.items():
        write_json_atomic(out / renderer / "sizes.json", counts)
    manifest = {
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "packages": _package_versions(),
        "renderers": per_renderer,
        "totals": {"samples": sum(sizes.values()), "shards": len(sizes), "rejects": sum(rejects.values())},
        "rejects": dict(sorted(rejects.items())),
        "last_run": {"seconds": round(seconds, 3), "workers": workers},
    }
    write_json_atomic(out / "manifest.json", manifest)
    return manifest
