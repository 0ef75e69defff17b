"""``gotforge gpu-check``: is this machine ready for a week of GOT training? got-base trained from
rendered shards on one GPU with bf16 and activation checkpointing for a few hundred steps, through the
trainer itself (pipelines/train/loop.py), and what it costs.

It renders a few hundred text pages (``text-page``, English and Chinese, whole pages: GOT's stage-2
plain OCR at 1024 px) into ``OUT/shards`` (kept for the next run), trains a byte-level BPE on their
targets (GOT's own Qwen vocabulary is not shipped; ``--tokenizer DIR`` takes one), then runs the
training loop's own steps and prints:

* samples/s and tokens/s (prompt + answer tokens, image tokens included) after the warm-up steps;
* the step time split: waiting for data, forward, backward, optimiser (clipping, AdamW, zeroing),
  each read after ``torch.cuda.synchronize`` so the split is the GPU's, not the launch queue's;
* peak memory (``torch.cuda.max_memory_allocated`` / ``reserved``; the process's peak RSS on the CPU);
* the loss of the first and last tenth of the steps, and whether it went down.

Everything goes to ``OUT/gpu_check.json`` too. ``--device cpu`` runs the same path with got-tiny
end to end on the CPU (float32 unless ``--bf16``; the test suite runs both), and asking for a GPU where there is none stops before any
work with a message that says so (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger("gotforge.gpu_check")

# The settings each device gets unless a flag says otherwise.
DEFAULTS: dict[str, dict[str, Any]] = {
    "cuda": {"model": "got-base", "steps": 300, "batch_size": 8, "samples": 800, "max_length": 4096,
             "lr": 1e-4, "workers": 4, "pages": True, "bf16": True},
    "cpu": {"model": "got-tiny", "steps": 30, "batch_size": 8, "samples": 96, "max_length": 256,
            "lr": 1e-3, "workers": 1, "pages": False, "bf16": False},
}


class NoDevice(RuntimeError):
    """The GPU asked for is not there."""


def check_device(device: str) -> str:
    """A line naming the device to run on; raises :class:`NoDevice` when CUDA is asked for and absent."""
    if device == "cpu":
        return f"CPU, {torch.get_num_threads()} threads (torch {torch.__version__})"
    if not torch.cuda.is_available():
        built = torch.version.cuda or "none (a CPU-only build)"
        raise NoDevice(
            f"gpu-check: no CUDA GPU here (torch {torch.__version__}, CUDA build: {built}, "
            f"devices visible: {torch.cuda.device_count()}). Run it on a machine with a GPU (and a CUDA build of "
            "torch), or check the same path on the CPU with --device cpu (got-tiny).")
    props = torch.cuda.get_device_properties(0)
    bf16 = "bf16 supported" if torch.cuda.is_bf16_supported() else "NO bf16"
    return f"{props.name}, {props.total_memory / 2**30:.0f} GiB, {bf16} (torch {torch.__version__}, CUDA {torch.version.cuda})"


def render_shards(out: Path, samples: int, pages: bool) -> str:
    """Text-page samples in ``out`` (reused when a finished run of the same plan is there): whole pages
    for the GPU, 1-2-word lines for the CPU path."""
    from pipelines.render.config import RendererJob, RunConfig
    from pipelines.render.run import render_run

    options: dict[str, Any] = {"lang": "mix"} if pages else {
        "slice": True, "lang": "en", "slice_line_prob": 1.0, "slice_words": [1, 2]}
    job = RendererJob(name="text-page", samples=samples, options=options)
    render_run(RunConfig(seed=0, shard_size=max(1, samples // 8), renderers=(job,)), out,
               workers=2, show_progress=False)
    return str(out / "text-page" / "*.tar")


def make_tokenizer(shards: str, out: Path, vocab_size: int) -> Path:
    from got_model.tokenizer import train_tokenizer, with_chat_template
    from pipelines.train.tokenizer import iter_shard_targets

    if not (out / "tokenizer.json").is_file():
        tokenizer = train_tokenizer(with_chat_template(iter_shard_targets(shards)), vocab_size)
        out.mkdir(parents=True, exist_ok=True)
        tokenizer.save_pretrained(out)
    return out


def train_config(args: argparse.Namespace, shards: str, tokenizer: Path) -> Any:
    from pipelines.train.config import TrainConfig

    return TrainConfig.model_validate({
        "model": args.model, "tokenizer": str(tokenizer), "stage": 2, "out": str(Path(args.out) / "run"),
        "seed": 0, "device": args.device, "bf16": args.bf16, "gradient_checkpointing": args.checkpointing,
        "data": {"sources": [{"shards": shards}], "max_length": args.max_length, "shuffle_buffer": 200,
                 "workers": args.workers},
        "optim": {"lr": args.lr, "weight_decay": 0.05, "warmup_steps": max(1, args.steps // 10),
                  "min_lr_ratio": 0.1},
        "batch_size": args.batch_size, "max_steps": args.steps, "save_every": 10 * args.steps,
        "log_every": 10 * args.steps, "resume": False, "progress": False, "threads": args.threads,
    })


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Render, tokenise, train ``args.steps`` steps; the figures (also written to OUT/gpu_check.json)."""
    from pipelines.train.logs import Timer
    from pipelines.train.loop import Trainer

    device_line = check_device(args.device)  # before any work
    out = Path(args.out)
    shards = args.shards or render_shards(out / "shards", args.samples, args.pages)
    tokenizer = Path(args.tokenizer) if args.tokenizer else make_tokenizer(shards, out / "tokenizer", args.vocab_size)
    config = train_config(args, shards, tokenizer)
    shutil.rmtree(config.out, ignore_errors=True)
    trainer = Trainer.start(config)
    cuda = trainer.ranks.device.type == "cuda"
    if cuda:
        trainer.device_sync = torch.cuda.synchronize
        torch.cuda.reset_peak_memory_stats()
    steps: list[dict[str, float]] = []
    for _ in range(config.max_steps):
        trainer.window = Timer()
        started = time.perf_counter()
        trainer.train_step()
        if cuda:
            torch.cuda.synchronize()
        w = trainer.window
        steps.append({"seconds": time.perf_counter() - started, "data": w.data, "forward": w.forward,
                      "backward": w.backward, "optimizer": w.optimizer, "samples": w.samples, "tokens": w.tokens,
                      "loss": trainer.loss})
        if len(steps) % max(1, config.max_steps // 10) == 0:
            log.info("step %d: loss %.4f, %.3f s", len(steps), trainer.loss, steps[-1]["seconds"])
    trainer.logs.close()
    trainer.logs.writer.close()
    result = summarise(steps, warmup=max(1, min(10, len(steps) // 5)))
    result.update({
        "device": device_line, "model": args.model,
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "vocabulary": len(trainer.built.processor.tokenizer),
        "image_size": trainer.built.processor.image_processor.size["height"],
        "batch_size": config.batch_size, "bf16": config.bf16, "gradient_checkpointing": config.gradient_checkpointing,
        "shards": shards, "dropped_too_long": trainer.dropped,
        "peak_memory": peak_memory(cuda),
    })
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(result, indent=1))
    return result


def summarise(steps: Sequence[dict[str, float]], warmup: int) -> dict[str, Any]:
    """Rates and the step-time split over the steps after ``warmup``; the loss at the start and the end."""
    timed = steps[warmup:] or steps
    seconds = sum(s["seconds"] for s in timed)
    parts = {k: sum(s[k] for s in timed) for k in ("data", "forward", "backward", "optimizer")}
    tenth = max(1, len(steps) // 10)
    first = sum(s["loss"] for s in steps[:tenth]) / tenth
    last = sum(s["loss"] for s in steps[-tenth:]) / tenth
    return {
        "steps": len(steps), "timed_steps": len(timed), "step_seconds": seconds / len(timed),
        "samples_per_s": sum(s["samples"] for s in timed) / seconds,
        "tokens_per_s": sum(s["tokens"] for s in timed) / seconds,
        "split": {k: v / seconds for k, v in parts.items()} | {"other": 1 - sum(parts.values()) / seconds},
        "loss_first": first, "loss_last": last, "loss_went_down": last < first,
        "loss_curve": [round(s["loss"], 4) for s in steps],
    }


def peak_memory(cuda: bool) -> dict[str, float]:
    if cuda:
        return {"allocated_gib": torch.cuda.max_memory_allocated() / 2**30,
                "reserved_gib": torch.cuda.max_memory_reserved() / 2**30}
    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}  # KiB on Linux


def format_result(r: dict[str, Any]) -> str:
    split = r["split"]
    memory = r["peak_memory"]
    mem = (f"{memory['allocated_gib']:.1f} GiB allocated, {memory['reserved_gib']:.1f} GiB reserved"
           if "allocated_gib" in memory else f"{memory['peak_rss_gib']:.2f} GiB peak RSS (process)")
    return "\n".join([
        f"device: {r['device']}",
        (f"model: {r['model']} ({r['parameters'] / 1e6:.1f}M parameters, vocabulary {r['vocabulary']}), "
         f"batch {r['batch_size']}, bf16 {r['bf16']}, activation checkpointing {r['gradient_checkpointing']}"),
        f"steps: {r['steps']} ({r['timed_steps']} timed after warm-up), {r['step_seconds']:.3f} s/step",
        f"throughput: {r['samples_per_s']:.2f} samples/s, {r['tokens_per_s']:.0f} tokens/s",
        "step time: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in split.items()),
        f"peak memory: {mem}",
        f"loss: {r['loss_first']:.3f} (first tenth) -> {r['loss_last']:.3f} (last tenth): "
        + ("going down" if r["loss_went_down"] else "NOT going down"),
    ])


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gotforge gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                        help="cuda (default: got-base, bf16, activation checkpointing) or cpu (got-tiny)")
    parser.add_argument("--model", help="preset or checkpoint (default got-base on cuda, got-tiny on cpu)")
    parser.add_argument("--steps", type=int, help="optimiser steps (default 300 on cuda, 30 on cpu)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--samples", type=int, help="samples to render (default 800 pages on cuda, 96 lines on cpu)")
    parser.add_argument("--max-length", type=int, help="prompt + answer tokens; longer samples are dropped")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--workers", type=int, help="loader processes")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--shards", help="train on these tars instead of rendering")
    parser.add_argument("--tokenizer", help="a tokenizer folder (default: byte-level BPE trained on the shards)")
    parser.add_argument("--vocab-size", type=int, default=8000, help="of the trained BPE (default 8000)")
    parser.add_argument("--bf16", dest="bf16", action="store_true", default=None,
                        help="autocast to bfloat16 (default on cuda; on the CPU it runs, ten times slower)")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help="float32 throughout")
    parser.add_argument("--no-checkpointing", dest="checkpointing", action="store_false",
                        help="keep activations instead of recomputing them")
    parser.add_argument("--out", default="runs/gpu-check", help="scratch folder (default runs/gpu-check)")
    args = parser.parse_args(argv)
    for key, value in DEFAULTS[args.device].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        result = run(args)
    except NoDevice as err:
        print(err, file=sys.stderr)
        return 2
    print(format_result(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
