"""The live-source section of ``make bench``: the training loop fed by text-page line slices rendered
in its loader worker (pipelines/train/live.py) against the same samples read from shards.

The shards and the tokenizer are :mod:`pipelines.bench.training`'s (the demo's line slices); the live
source is a render config written here that resolves to the very config those shards were rendered
from, so both runs see the same samples. Both train got-tiny on the CPU with the demo's settings for
:data:`pipelines.bench.training.STEPS` steps (one loader worker, one torch thread), shards first, then
live, :data:`REPEATS` times. Per run: samples/s and the share of step time spent waiting for the next
batch, over the loop's steps after its first log window (so the shuffle buffer's fill is left out).
Target: live data wait ≤ 5%. Reported, never asserted.

``python -m pipelines.bench.live_training`` prints the table.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

import yaml

from pipelines.bench import training
from pipelines.train import config as train_config
from pipelines.train import loop as train
from pipelines.train.live import LiveSource

REPEATS = 2


def live_config(scratch: Path) -> Path:
    """A render config file of the samples in :func:`pipelines.bench.training._prepare`'s shards."""
    raw = yaml.safe_load((training.ROOT / "configs" / "render" / "tiny-lines.yaml").read_text(encoding="utf-8"))
    raw = {**{k: v for k, v in raw.items() if k not in ("out", "workers")}, "samples": 2000, "shard_size": 250}
    path = scratch / "lines-live.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def bench_live(scratch: Path) -> dict[str, Any]:
    scratch.mkdir(parents=True, exist_ok=True)
    pattern, tokenizer = training._prepare(scratch)
    render_config = live_config(scratch)
    shards_run = yaml.safe_load((Path(pattern).parents[1] / "run.json").read_text(encoding="utf-8"))["config"]
    if LiveSource.load(render_config).config.model_dump(mode="json") != shards_run:
        raise RuntimeError(f"{render_config} does not resolve to the config of {pattern}'s shards")
    runs: dict[str, list[dict[str, Any]]] = {"shards": [], "live": []}
    for _ in range(REPEATS):
        for kind, done in runs.items():
            out = scratch / f"run-{kind}"
            shutil.rmtree(out, ignore_errors=True)
            config = training._config(pattern, tokenizer, out)
            if kind == "live":
                live = (train_config.Source(render=str(render_config)),)
                config = config.model_copy(update={"data": config.data.model_copy(update={"sources": live})})
            done.append(train.train(config))
    return {
        "steps": training.STEPS, "repeats": REPEATS, "runs": runs,
        **{kind: {key: statistics.median(r[key] for r in rs) for key in ("samples_per_s", "data_wait")}
           for kind, rs in runs.items()},
    }


def format_result(r: dict[str, Any]) -> str:
    return "\n".join([
        (f"| training fed live vs from shards (got-tiny, CPU, {r['steps']} steps, median of {r['repeats']}) "
         "| shards | live | target |"),
        "|---|---|---|---|",
        f"| samples/s | {r['shards']['samples_per_s']:.1f} | {r['live']['samples_per_s']:.1f} | - |",
        (f"| share of step time waiting for data | {100 * r['shards']['data_wait']:.1f}% | "
         f"{100 * r['live']['data_wait']:.1f}% | ≤ 5% (live) |"),
    ])


def main(scratch: str | Path = "runs/bench/train") -> int:
    print(format_result(bench_live(Path(scratch))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
