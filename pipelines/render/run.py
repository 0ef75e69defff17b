"""A render run, top to bottom: build the renderers (to fail early), claim the folder, plan the
shards, distribute the ones still to do, then write ``sizes.json`` and ``manifest.json``.

    run (this module)
    -> plan        pipelines/render/plan.py        shards, run.json, lock, what is committed
    -> distribute  pipelines/render/distribute.py  where shard jobs are made (local processes)
    -> worker      pipelines/render/worker.py      one shard's samples: render, check, retry
                   pipelines/render/coverage.py    or one shard's corpus items, in order, whole
    -> writer      pipelines/render/writer.py      the tar, its commit, its stats

The shard is the unit of work, failure, resumption and accounting: a failed shard is reported and
the run goes on; rerunning the same command makes only the shards not committed. Corpus items that
gave no sample in a covering run are listed in ``OUT/<renderer>/missed.jsonl``, one JSON object per
line in item order (item, location, pass, reason, detail), and counted by reason in the manifest.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import json
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipelines.render.config import ConfigError, RunConfig
from pipelines.render.coverage import count_units
from pipelines.render.distribute import DISTRIBUTORS, Distributor
from pipelines.render.plan import (
    RunError,
    ShardJob,
    check_writable,
    claim_folder,
    folder_lock,
    plan,
    run_identity,
    to_do,
)
from pipelines.render.worker import GC_THRESHOLDS, SAMPLE_TIME_LIMIT_S, RenderContext
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
               distributor: str = "local", time_limit_s: float | None = SAMPLE_TIME_LIMIT_S) -> dict[str, Any]:
    """Make every missing shard of ``config`` under ``out``; returns the manifest.

    ``distributor`` names an entry of :data:`pipelines.render.distribute.DISTRIBUTORS`; the bytes
    written do not depend on it, nor on ``workers``. ``time_limit_s``: the per-sample time limit
    (:mod:`pipelines.render.watchdog`), past which a sample is a ``timeout`` reject.
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, found {workers}")
    if distributor not in DISTRIBUTORS:
        raise ConfigError(f"unknown distributor {distributor!r}; known: {sorted(DISTRIBUTORS)}")
    check_writable(out, [job.name for job in config.renderers])
    context = RenderContext(config, out, time_limit_s)
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
        renderers = {job.name: context.renderer(job.name) for job in config.renderers}
        units = {job.name: count_units(renderers[job.name], job) for job in config.renderers if job.covers}
        fingerprints = {job.name: renderers[job.name].corpus.fingerprint for job in config.renderers
                        if job.corpus and renderers[job.name].corpus is not None}
        identity = run_identity(config, fingerprints)
        claim_folder(out, identity)
        jobs = plan(config, units)
        todo = to_do(jobs, out)
        started = time.perf_counter()
        failures = _distribute(DISTRIBUTORS[distributor], todo, context, workers, show_progress)
        try:
            manifest = _write_summary(config, out, jobs, identity, corpora, time.perf_counter() - started, workers)
        except OSError as err:
            raise RunError(f"cannot write the run's summary into {out}: {err.strerror or err}; committed shards are "
                           f"kept: free space (or fix access) and rerun the same command") from None
    for name, entry in manifest["renderers"].items():
        if entry.get("missed", {}).get("units"):
            missed = entry["missed"]
            print(f"warning: {missed['units']} corpus item rendering(s) of {name} gave no sample "
                  f"{missed['by_reason']}, listed in {out / missed['list']}; e.g. {missed['examples'][0]}")
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


def _write_missed(folder: Path, missed: list[dict[str, Any]]) -> dict[str, Any]:
    """``missed.jsonl`` of a covering renderer (every unit that gave no sample, in unit order) and its
    summary for the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(m, ensure_ascii=False, sort_keys=True) + "\n" for m in missed)
    path = folder / "missed.jsonl"
    temp = folder / ".missed.jsonl.tmp"
    temp.write_text(lines, encoding="utf-8")
    temp.replace(path)
    reasons = collections.Counter(m["reason"] for m in missed)
    return {"units": len(missed), "by_reason": dict(sorted(reasons.items())), "list": f"{folder.name}/missed.jsonl",
            "examples": [f"{m['location']}: {m['reason']}: {m['detail']}" for m in missed[:5]]}


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
    missed: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    corpus_rejects: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    corpus_examples: dict[str, list[str]] = collections.defaultdict(list)
    for job in jobs:
        stats = committed_stats(job, out)
        entry = per_renderer.setdefault(job.renderer, {
            **identity["renderers"][job.renderer], "samples": 0, "shards": 0, "missing_shards": 0,
            "rejects": collections.Counter(), "render_seconds": 0.0, "seconds": 0.0,
        })
        if job.first is not None:
            entry.setdefault("units", 0)
            entry["units"] += job.count
        if stats is None:
            entry["missing_shards"] += 1
            continue
        missed[job.renderer] += stats.get("missed", [])
        corpus_rejects[job.renderer].update(stats.get("corpus_rejects", {}))
        corpus_examples[job.renderer] += stats.get("corpus_examples", [])
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
            report = dict(corpora[name])
            report["rejects"] = dict(sorted((collections.Counter(report["rejects"]) + corpus_rejects[name]).items()))
            report["examples"] = (report["examples"] + corpus_examples[name])[:5]
            entry["corpus"] = report
        if "units" in entry:
            entry["missed"] = _write_missed(out / name, missed[name])
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
