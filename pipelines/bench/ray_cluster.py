"""The Ray section of ``make bench``: the Ray distributor on a two-node cluster against the local
pool, on the same config and the same machine.

A head and a second node are started here (one CPU and a small object store each; both on this
machine, so the comparison is the distributor's cost, not a bigger cluster's gain; workers at
niceness 0, as the pool's are). The config is the
demo's text-page line slices (configs/render/tiny-lines.yaml) cut to :data:`SAMPLES` samples in shards
of :data:`SHARD_SIZE`. Runs alternate, local pool (two workers) then Ray (two actors), :data:`REPEATS`
times, so a change in the machine's load hits both. Per run:

* steady samples/s: :func:`pipelines.bench.renderers.steady_throughput` over the shards' own start
  and end times (each worker's first shard, start-up and tail left out), what a long run sees;
* whole-run samples/s: samples ÷ ``render_run``'s wall time, start-up (the node check, actors) and
  tail included.

Overhead is 1 − Ray ÷ local (target ≤ 10% of samples/s, steady). Reported, never asserted.

``python -m pipelines.bench.ray_cluster`` prints the table.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from pipelines.bench.renderers import _shard_stats, steady_throughput
from pipelines.render.config import RunConfig, load_mix
from pipelines.render.run import render_run

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = 1200
SHARD_SIZE = 50
REPEATS = 3
NODE = {"num_cpus": 1, "object_store_memory": 100 * 2**20}


def bench_config() -> RunConfig:
    config, _ = load_mix(ROOT / "configs" / "render" / "tiny-lines.yaml")
    return config.model_copy(update={
        "shard_size": SHARD_SIZE,
        "renderers": tuple(job.model_copy(update={"samples": SAMPLES}) for job in config.renderers),
    })


def _one_run(config: RunConfig, out: Path, distributor: str) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    render_run(config, out, workers=2, show_progress=False, distributor=distributor)
    wall = time.perf_counter() - started
    stats = [s for job in config.renderers for s in _shard_stats(out, job.name)]
    return {"steady": steady_throughput(stats, 2), "whole": sum(s["count"] for s in stats) / wall}


def bench_ray(scratch: Path) -> dict[str, Any]:
    """Medians of :data:`REPEATS` alternating local-pool and Ray runs of :func:`bench_config`."""
    import ray
    from ray.cluster_utils import Cluster

    config = bench_config()
    # Ray starts its workers at niceness 15, behind anything else on the machine; the local pool's
    # workers run at 0, and a comparison on one shared machine must not measure that difference.
    cluster = Cluster(initialize_head=True, head_node_args={
        **NODE, "include_dashboard": False, "_system_config": {"worker_niceness": 0}})
    cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level=logging.WARNING)
    runs: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
    try:
        for _ in range(REPEATS):
            for distributor, done in runs.items():
                done.append(_one_run(config, scratch / distributor, distributor))
    finally:
        ray.shutdown()
        cluster.shutdown()
    medians = {d: {k: statistics.median(r[k] for r in rs) for k in ("steady", "whole")} for d, rs in runs.items()}
    return {
        "samples": SAMPLES, "shard_size": SHARD_SIZE, "repeats": REPEATS, "runs": runs, **medians,
        "overhead": 1 - medians["ray"]["steady"] / medians["local"]["steady"],
        "overhead_whole": 1 - medians["ray"]["whole"] / medians["local"]["whole"],
    }


def format_result(r: dict[str, Any]) -> str:
    return "\n".join([
        (f"| Ray, 2 nodes × 1 CPU, vs local pool, 2 workers ({r['samples']} text-page slices, shards of "
         f"{r['shard_size']}, median of {r['repeats']}) | local | Ray | Ray overhead | target |"),
        "|---|---|---|---|---|",
        f"| steady samples/s | {r['local']['steady']:.1f} | {r['ray']['steady']:.1f} | {100 * r['overhead']:.1f}% | ≤ 10% |",
        (f"| whole-run samples/s (start-up included) | {r['local']['whole']:.1f} | {r['ray']['whole']:.1f} | "
         f"{100 * r['overhead_whole']:.1f}% | - |"),
        "",
        "steady samples/s of each run: " + "; ".join(
            f"{d} " + ", ".join(f"{run['steady']:.0f}" for run in runs) for d, runs in r["runs"].items()),
    ])


def main(scratch: str | Path = "runs/bench/ray") -> int:
    print(format_result(bench_ray(Path(scratch))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
