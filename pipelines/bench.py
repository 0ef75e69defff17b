"""``gotforge bench`` (``make bench``): renderer and engine speed, printed as a table.

Per renderer, in one run of this command:

* samples/s/core: one worker, render + validate + encode + write, median over shards;
* engine overhead: a shard's full time ÷ its ``render`` time (median over shards), and beside it
  the time of the checks (the engine's blank-image and target checks plus the renderer's
  ``validate``), which the overhead includes;
* two workers ÷ one worker: throughput of the same run on two processes, from the first shard's
  start to the last one's end (and, beside it, whole-command wall clock including start-up);
* for browser renderers, the pooled browser against one launched per sample
  (:func:`renderers.browser.pooled_vs_launch`), and with ``--memory`` a worker's memory after 200
  and after 2,000 samples (:mod:`pipelines.browser_memory`);
* the training loop against the bare model (:mod:`pipelines.train_bench`), unless renderers were
  named or ``--skip-training`` is given.

Speed is reported, never asserted: the machine is shared and noisy. Quote medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from pipelines.engine import render_run
from pipelines.render_config import RendererJob, RunConfig
from renderers import registry

# Targets on the 2-core reference machine (samples/s/core, one worker), from the issues.
TARGETS = {"molecule": 100.0, "chart-matplotlib": 20.0, "text-page": 10.0, "sheet-music": 15.0,
           "latex-table": 20.0, "geometry": 20.0, "mathpix-doc": 10.0, "formula": 20.0, "chart-echarts": 15.0}
# About ten seconds of one-worker work per renderer at the target speed.
DEFAULT_SECONDS = 10.0
SHARDS = 10


def _shard_stats(folder: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((folder / name).glob("*.stats.json"))]


def measure(name: str, samples: int, scratch: Path) -> dict[str, Any]:
    shard_size = max(1, samples // SHARDS)
    config = RunConfig(seed=0, shard_size=shard_size, renderers=(RendererJob(name=name, samples=samples),))
    timings = {}
    for workers in (1, 2):
        out = scratch / f"{name}-w{workers}"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        render_run(config, out, workers=workers, show_progress=False)
        timings[workers] = time.perf_counter() - started
    stats = _shard_stats(scratch / f"{name}-w1", name)
    spans = {}
    for workers in (1, 2):  # steady state: from the first shard's start to the last shard's end
        shards = _shard_stats(scratch / f"{name}-w{workers}", name)
        spans[workers] = max(s["finished_at"] for s in shards) - min(s["started_at"] for s in shards)
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
        "speedup_2": spans[1] / spans[2],
        "speedup_2_wall": timings[1] / timings[2],
        "reject_rate": rejects / (rejects + samples),
        "target": TARGETS.get(name),
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("renderer", "samples", "samples/s/core", "target", "render ms", "checks ms", "overhead",
              "2 workers ÷ 1", "incl. start-up", "rejects")
    lines = [header]
    for r in rows:
        target = f"≥ {r['target']:g}" if r["target"] else "-"
        lines.append((r["renderer"], str(r["samples"]), f"{r['per_core']:.1f}", target, f"{r['render_ms']:.1f}",
                      f"{r['check_ms']:.2f}", f"{r['overhead']:.2f}", f"{r['speedup_2']:.2f}×", f"{r['speedup_2_wall']:.2f}×",
                      f"{100 * r['reject_rate']:.1f}%"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    rendered.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(rendered)


def browser_table(names: list[str]) -> str | None:
    """Pooled browser vs a browser launched per sample, for the renderers that use one."""
    from pipelines.browser_memory import browser_renderers
    from renderers.browser import pooled_vs_launch

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
    renderers that use a browser (:mod:`pipelines.browser_memory`; several minutes, so only with
    ``--memory``)."""
    from pipelines import browser_memory

    browsers = browser_memory.browser_renderers(names)
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
          "overhead: shard time ÷ render time; 2 workers ÷ 1: throughput ratio of the same run from the "
          "first shard's start to the last shard's end (incl. start-up: whole-command wall clock).\n", flush=True)
    pool = browser_table(names)
    if pool:
        print(pool + "\n", flush=True)
    memory = memory_table(names) if args.memory else None
    if memory:
        print(memory + "\n", flush=True)
    if not (args.renderer or args.skip_training):
        from pipelines import train_bench

        print("measuring the training loop (got-tiny)…", flush=True)
        print(train_bench.format_result(train_bench.bench_training(scratch / "train")))
    return 0
