"""The training section of ``make bench``: what the full training loop costs over the bare model.

``bench_training(scratch)`` renders a few thousand text-page line slices, trains a tokenizer on them,
and then, for got-tiny on the CPU with the demo's settings (configs/train/tiny-demo.yaml):

* bare: forward + backward + AdamW step on batches taken from the same stream beforehand (no loader,
  no logging, no clipping), samples/s;
* full loop: ``pipelines.train.loop.train`` for the same number of steps (loader worker, clipping, schedule,
  TensorBoard, progress bar), samples/s over its steps, and the share of step time spent waiting for
  the next batch;
* within that same run, the share of loop time spent outside forward, backward and the optimiser
  step: the loop's overhead measured under one and the same machine load (the bare/loop ratio
  compares two runs one after the other, which a busy shared machine skews).

Targets: full loop within 10% of bare; data wait at most 5% of step time. Reported,
never asserted (the machine is shared and noisy).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import torch

from pipelines.train import config as train_config
from pipelines.train import data
from pipelines.train import loop as train

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "configs" / "train" / "tiny-demo.yaml"
STEPS = 60
WARMUP = 5


def _prepare(scratch: Path) -> tuple[Path, Path]:
    """Line-slice shards and a tokenizer in ``scratch`` (kept between bench runs)."""
    from got_model.tokenizer import train_tokenizer, with_chat_template
    from pipelines.render.config import load_mix
    from pipelines.render.run import render_run
    from pipelines.train.tokenizer import iter_shard_targets

    shards = scratch / "lines"
    config, _ = load_mix(ROOT / "configs" / "render" / "tiny-lines.yaml")
    config = config.model_copy(update={
        "shard_size": 250,
        "renderers": tuple(job.model_copy(update={"samples": 2000}) for job in config.renderers),
    })
    render_run(config, shards, workers=2, show_progress=False)
    tokenizer = scratch / "tokenizer"
    if not (tokenizer / "tokenizer.json").is_file():
        texts = with_chat_template(iter_shard_targets(str(shards / "text-page/*.tar")))
        train_tokenizer(texts, 400).save_pretrained(tokenizer)  # as `make demo` trains it
    return shards / "text-page/*.tar", tokenizer


def _config(pattern: Path, tokenizer: Path, out: Path) -> train_config.TrainConfig:
    return train_config.load(DEMO_CONFIG, [
        f"out={out}", f"tokenizer={tokenizer}", f"data.sources=[{{shards: '{pattern}'}}]", "eval.shards=",
        f"max_steps={STEPS}", f"save_every={10 * STEPS}", "resume=false", "progress=false",
        "optim.warmup_steps=10",
    ])


def bare_samples_per_s(config: train_config.TrainConfig) -> float:
    """Forward + backward + optimiser step alone, on batches drawn from the training stream first."""
    from got_model.build import create
    from got_model.collator import GotCollator

    if config.threads:
        torch.set_num_threads(config.threads)
    built = create(config.model, tokenizer=config.tokenizer, seed=config.seed)
    collator = GotCollator(built.processor, built.image_seq_length, config.data.max_length)
    stream = data.TrainStream([(s.shards, s.weight) for s in config.data.sources], collator, config.batch_size,
                              config.data.shuffle_buffer, config.seed)
    batches = []
    for batch, _ in zip(data.train_loader(stream, 0, 1), range(STEPS)):
        batch.pop("num_dropped")
        batch.pop("keys")
        batches.append(batch)
    model = built.model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.optim.lr)
    samples, seconds = 0, 0.0
    for i, batch in enumerate(batches):
        started = time.perf_counter()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i >= WARMUP:
            seconds += time.perf_counter() - started
            samples += batch["input_ids"].shape[0]
    return samples / seconds


def bench_training(scratch: Path) -> dict[str, Any]:
    scratch.mkdir(parents=True, exist_ok=True)
    pattern, tokenizer = _prepare(scratch)
    out = scratch / "run"
    shutil.rmtree(out, ignore_errors=True)
    config = _config(pattern, tokenizer, out)
    bare = bare_samples_per_s(config)
    summary = train.train(config)
    return {
        "steps": STEPS,
        "batch_size": config.batch_size,
        "bare_samples_per_s": bare,
        "loop_samples_per_s": summary["samples_per_s"],
        "overhead": 1 - summary["samples_per_s"] / bare,
        "data_wait": summary["data_wait"],
        "outside_compute": summary["outside_compute"],
        "tokens_per_s": summary["tokens_per_s"],
    }


def format_result(r: dict[str, Any]) -> str:
    return "\n".join([
        "| training (got-tiny, CPU, batch {batch_size}, {steps} steps) | measured | target |".format(**r),
        "|---|---|---|",
        f"| bare forward+backward+step, samples/s | {r['bare_samples_per_s']:.1f} | - |",
        f"| full training loop, samples/s | {r['loop_samples_per_s']:.1f} | - |",
        f"| loop overhead (1 - loop / bare) | {100 * r['overhead']:.1f}% | ≤ 10% |",
        f"| loop time outside forward/backward/step (same run) | {100 * r['outside_compute']:.1f}% | - |",
        f"| share of step time waiting for data | {100 * r['data_wait']:.1f}% | ≤ 5% |",
    ])


def main(scratch: str | Path = "runs/bench/train") -> int:
    result = bench_training(Path(scratch))
    print(format_result(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
