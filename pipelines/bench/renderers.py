"""``gotforge bench`` (``make bench``): renderer and engine speed, printed as a table.

Per renderer, in one run of this command:

* samples/s/core: one worker, render + validate + encode + write, median over shards;
* engine overhead: a shard's full time ÷ its ``render`` time (median over shards), and beside it
  the time of the checks (the engine's blank-image and target checks plus the renderer's
  ``validate``), which the overhead includes;
* cores busy: the machine's busy CPU time during the one-worker run ÷ its wall time (a browser
  renderer's one worker keeps Chromium's own processes busy too, which bounds its two-worker gain);
* two workers ÷ one worker: steady-state throughput of the same run on two processes, counted
  only while both are rendering and after each one's first shard (:func:`steady_throughput`: no
  warm-up, no start-up, no tail where one worker waits for the other's last shard), and beside it
  whole-command wall clock including start-up;
* for browser renderers, the pooled browser against one launched per sample
  (:func:`pipelines.bench.browser_memory.pooled_vs_launch`), and with ``--memory`` a worker's memory
  after 200 and after 2,000 samples (:mod:`pipelines.bench.browser_memory`);
* the training loop against the bare model (:mod:`pipelines.bench.training`), and fed live against
  from shards (:mod:`pipelines.bench.live_training`), unless renderers were named or
  ``--skip-training`` is given;
* the Ray distributor on a two-node cluster against the local pool (:mod:`pipelines.bench.ray_cluster`),
  unless renderers were named;
* the cost of each degradation preset beside a text page's render (:mod:`pipelines.bench.augment`),
* a user corpus of 5 million lines opened lazily (:mod:`pipelines.bench.corpus`: start-up with the
  index built and reused, reads, a worker's peak memory), unless renderers were named.

Speed is reported, never asserted: the machine is shared and noisy. Quote medians and ratios.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.run import render_run
from renderers import registry

# Targets on the 2-core reference machine (samples/s/core, one worker), from the issues.
TARGETS = {"molecule": 100.0, "chart-matplotlib": 20.0, "text-page": 10.0, "sheet-music": 15.0,
           "latex-table": 20.0, "geometry": 20.0, "mathpix-doc": 10.0, "formula": 20.0, "chart-echarts": 15.0,
           "scene-text": 30.0}
# About ten seconds of one-worker work per renderer at the target speed.
DEFAULT_SECONDS = 10.0
SHARDS = 10


def _shard_stats(folder: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((folder / name).glob("*.stats.json"))]


def steady_throughput(shards: list[dict[str, Any]], workers: int) -> float:
    """Samples per second while ``workers`` shards are being rendered at once.

    Each shard is taken to render its samples evenly between its ``started_at`` and
    ``finished_at``; the samples made while all workers were busy are divided by the time they
    were. With one worker that is the run's samples ÷ its shards' time. Left out: each worker's
    first shard (the first ``workers`` to start: its warm-up of fonts, caches or browser), start-up
    (one worker still importing) and the tail (one worker idle while the other ends its last
    shard), which short runs of fast renderers are otherwise dominated by."""
    shards = sorted(shards, key=lambda s: s["started_at"])[workers:]
    edges = sorted({t for s in shards for t in (s["started_at"], s["finished_at"])})
    made = busy = 0.0
    for start, end in itertools.pairwise(edges):
        running = [s for s in shards if s["started_at"] <= start and s["finished_at"] >= end]
        if len(running) >= workers:
            busy += end - start
            made += sum((end - start) * s["count"] / (s["finished_at"] - s["started_at"]) for s in running)
    if busy <= 0:
        raise ValueError(f"no moment with {workers} shards rendering at once; the run is too short to compare")
    return made / busy


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (every process, every core), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def measure(name: str, samples: int, scratch: Path) -> dict[str, Any]:
    shard_size = max(1, samples // SHARDS)
    config = RunConfig(seed=0, shard_size=shard_size, renderers=(RendererJob(name=name, samples=samples),))
    timings, cpu = {}, {}
    for workers in (1, 2):
        out = scratch / f"{name}-w{workers}"
        shutil.rmtree(out, ignore_errors=True)
        started, busy = time.perf_counter(), _busy_cpu_seconds()
        render_run(config, out, workers=workers, show_progress=False)
        timings[workers] = time.perf_counter() - started
        cpu[workers] = _busy_cpu_seconds() - busy
    stats = _shard_stats(scratch / f"{name}-w1", name)
    steady = {w: steady_throughput(_shard_stats(scratch / f"{name}-w{w}", name), w) for w in (1, 2)}
    rates = [s["count"] / s["seconds"] for s in stats]
    overheads = [s["seconds"] / s["render_seconds"] for s in stats if s["render_seconds"] > 0]
    render_ms = [1000 * s["render_seconds"] / s["count"] for s in stats]
    check_ms = [1000 * s["validate_seconds"] / s["count"] for s in stats]
    rejects = sum(sum(s["rejects"].values()) for s in stats)
    return {
        "renderer": name,
        "samples": samples,
        "per_core": statistics.median(rates),
        "render_ms": statistics.median(render_ms),
        "check_ms": statistics.median(check_ms),
        "overhead": statistics.median(overheads),
        "wall_1": timings[1],
        "wall_2": timings[2],
        "cores_busy": cpu[1] / timings[1],
        "speedup_2": steady[2] / steady[1],
        "speedup_2_wall": timings[1] / timings[2],
        "reject_rate": rejects / (rejects + samples),
        "target": TARGETS.get(name),
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("renderer", "samples", "samples/s/core", "target", "render ms", "checks ms", "overhead",
              "cores busy", "2 workers ÷ 1", "incl. start-up", "rejects")
    lines = [header]
    for r in rows:
        target = f"≥ {r['target']:g}" if r["target"] else "-"
        lines.append((r["renderer"], str(r["samples"]), f"{r['per_core']:.1f}", target, f"{r['render_ms']:.1f}",
                      f"{r['check_ms']:.2f}", f"{r['overhead']:.2f}", f"{r['cores_busy']:.2f}", f"{r['speedup_2']:.2f}×", f"{r['speedup_2_wall']:.2f}×",
                      f"{100 * r['reject_rate']:.1f}%"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    rendered.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(rendered)


def browser_table(names: list[str]) -> str | None:
    """Pooled browser vs a browser launched per sample, for the renderers that use one."""
    from pipelines.bench.browser_memory import pooled_vs_launch
    from renderers.registry import browser_renderers

    rows = []
    for name in browser_renderers(names):
        r = pooled_vs_launch(name, samples=20)
        rows.append(f"| {name} | {r['pooled_ms']:.0f} | {r['per_launch_ms']:.0f} | {r['speedup']:.1f}× |")
    if not rows:
        return None
    return "\n".join(["| renderer | pooled ms/sample | browser per sample ms | speed-up (target ≥ 8×) |",
                      "|---|---|---|---|", *rows])


def memory_table(names: list[str]) -> str | None:
    """Worker memory (PSS of Python, driver and Chromium) after 200 and after 2,000 samples, for the
    renderers that use a browser (:mod:`pipelines.bench.browser_memory`; several minutes, so only with
    ``--memory``)."""
    from pipelines.bench import browser_memory

    browsers = registry.browser_renderers(names)
    if not browsers:
        return None
    rows = []
    for name in browsers:
        print(f"measuring {name}'s worker memory ({browser_memory.CHECKPOINTS[-1]} samples)…", flush=True)
        rows.append(browser_memory.measure_in_worker(name))
    return browser_memory.format_table(rows)


def main(args: argparse.Namespace) -> int:
    names = args.renderer or registry.names()
    scratch = Path(args.out)
    scratch.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        samples = args.samples or int(DEFAULT_SECONDS * TARGETS.get(name, 20.0))
        samples = max(samples, 2 * SHARDS)
        print(f"measuring {name} ({samples} samples, 1 then 2 workers)…", flush=True)
        rows.append(measure(name, samples, scratch))
    print(format_table(rows))
    (scratch / "bench.json").write_text(json.dumps(rows, indent=1))
    print(f"\nsamples/s/core: one worker, median over {SHARDS} shards (render + validate + encode + write); "
          "checks ms: the engine's checks plus the renderer's validate, per sample (part of the overhead); "
          "overhead: shard time ÷ render time; cores busy: machine CPU time ÷ wall time of the one-worker run; "
          "2 workers ÷ 1: throughput ratio of the same run while every worker renders "
          "(incl. start-up: whole-command wall clock).\n", flush=True)
    pool = browser_table(names)
    if pool:
        print(pool + "\n", flush=True)
    memory = memory_table(names) if args.memory else None
    if memory:
        print(memory + "\n", flush=True)
    if not (args.renderer or args.skip_training):
        from pipelines.bench import training as train_bench

        print("measuring the training loop (got-tiny)…", flush=True)
        print(train_bench.format_result(train_bench.bench_training(scratch / "train")))
        from pipelines.bench import live_training

        print("\nmeasuring the training loop fed live, against the same samples from shards…", flush=True)
        print(live_training.format_result(live_training.bench_live(scratch / "train")))
    if not args.renderer:
        from pipelines.bench import ray_cluster

        print("\nmeasuring the Ray distributor on a two-node cluster on this machine…", flush=True)
        print(ray_cluster.format_result(ray_cluster.bench_ray(scratch / "ray")))
    if not args.renderer:
        from pipelines.bench import corpus as corpus_bench

        print(f"\nmeasuring a corpus of {corpus_bench.LINES:,} lines opened lazily (written once into "
              f"{scratch / 'corpus'})…", flush=True)
        (scratch / "corpus").mkdir(exist_ok=True)
        print(corpus_bench.format_table(corpus_bench.bench_corpus(scratch / "corpus")))
    if not args.renderer or "text-page" in args.renderer:
        from pipelines.bench import augment as augment_bench

        print("\nmeasuring the degradation presets on 40 text pages (target: scan adds at most 30%)…", flush=True)
        pages, render_ms = augment_bench.render_pages(40)
        print(augment_bench.table(render_ms, augment_bench.measure(pages)))
    return 0
