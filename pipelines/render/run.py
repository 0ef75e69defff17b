"""A render run, top to bottom: build the renderers (to fail early), claim the folder, plan the
shards, distribute the ones still to do, then write ``sizes.json`` and ``manifest.json``.

    run (this module)
    -> plan        pipelines/render/plan.py        shards, run.json, lock, what is committed
    -> distribute  pipelines/render/distribute.py  where shard jobs are made (local processes)
    -> worker      pipelines/render/worker.py      one shard's samples: render, check, retry
    -> writer      pipelines/render/writer.py      the tar, its commit, its stats

The shard is the unit of work, failure, resumption and accounting: a failed shard is reported and
the run goes on; rerunning the same command makes only the shards not committed.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipelines.render.config import ConfigError, RunConfig
from pipelines.render.distribute import DISTRIBUTORS, Distributor
from pipelines.render.plan import RunError, ShardJob, claim_folder, folder_lock, plan, run_identity, to_do
from pipelines.render.worker import GC_THRESHOLDS, RenderContext
from pipelines.render.writer import committed_stats, write_json_atomic


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


def render_run(config: RunConfig, out: Path, workers: int = 1, show_progress: bool = True,
               distributor: str = "local") -> dict[str, Any]:
    """Make every missing shard of ``config`` under ``out``; returns the manifest.

    ``distributor`` names an entry of :data:`pipelines.render.distribute.DISTRIBUTORS`; the bytes
    written do not depend on it, nor on ``workers``.
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, found {workers}")
    if distributor not in DISTRIBUTORS:
        raise ConfigError(f"unknown distributor {distributor!r}; known: {sorted(DISTRIBUTORS)}")
    out.mkdir(parents=True, exist_ok=True)
    context = RenderContext(config, out)
    with folder_lock(out), rendering_gc(), contextlib.closing(context):
        # Build each renderer once here: corpus and options problems surface before any work.
        corpora = {}
        for job in config.renderers:
            if report := _corpus_report(context.renderer(job.name)):
                corpora[job.name] = report
        for name, report in corpora.items():
            if report["rejects"]:
                print(f"warning: corpus {report['source']} ({name}): rejected {report['rejects']}, "
                      f"e.g. {report['examples'][0]}")
        identity = run_identity(config)
        claim_folder(out, identity)
        jobs = plan(config)
        todo = to_do(jobs, out)
        started = time.perf_counter()
        failures = _distribute(DISTRIBUTORS[distributor], todo, context, workers, show_progress)
        manifest = _write_summary(config, out, jobs, identity, corpora, time.perf_counter() - started, workers)
    if failures:
        raise RunError(
            f"{len(failures)} shard(s) failed; rerun the same command to retry them:\n  " + "\n  ".join(failures)
        )
    return manifest


def _corpus_report(renderer: Any) -> dict[str, Any] | None:
    corpus = renderer.corpus
    if corpus is None:
        return None
    return {"source": corpus.source, "items": len(corpus), "rejects": corpus.rejects, "examples": list(corpus.examples)}


def _distribute(distribute: Distributor, todo: list[ShardJob], context: RenderContext, workers: int,
                show_progress: bool) -> list[str]:
    """The distributor over ``todo`` behind one progress bar; Ctrl-C ends the run resumably."""
    total = sum(job.count for job in todo)
    bar = tqdm(total=total, unit="sample", disable=not show_progress or total == 0, dynamic_ncols=True)
    rejects = 0

    def advance(done: int, rejected: int) -> None:
        nonlocal rejects
        rejects += rejected
        bar.update(done)
        if rejected:
            bar.set_postfix(rejects=rejects, refresh=False)

    try:
        failures = distribute(todo, context, workers, advance)
    except KeyboardInterrupt:
        raise RunError("interrupted; committed shards are kept: rerun the same command to resume into "
                       f"{context.out}") from None
    finally:
        bar.close()
    return failures


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
