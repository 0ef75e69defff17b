"""``gotforge train --config configs/train/FILE.yaml [--set key=value …]``: the GOT training loop.

One file, read top to bottom (nanoGPT's ``train.py`` is the model): set up (distributed or not),
build the model (got_model.build.create), stream the data (pipelines.train.data), then the loop: AdamW,
linear warmup + cosine decay, gradient accumulation, clipping, optional bf16 autocast and gradient
checkpointing, checkpoints every ``save_every`` steps, TensorBoard scalars and a progress bar.

Stages (GOT paper section 3.2): 1 and 2 train everything; 3 freezes the vision encoder and both
stride-2 convs (the linear projector and the decoder still learn).

Distributed: run under ``torchrun --nproc-per-node N -m pipelines.cli train …``; each rank streams its
own share of the shards (pipelines.train.data), gradients are averaged by DistributedDataParallel (gloo on
CPU, nccl on GPU). Rank 0 writes checkpoints, logs and the learning curve.

A checkpoint folder ``OUT/checkpoints/step-NNNNNNN/`` holds the model and processor in Hugging Face
format (build.save_checkpoint), ``trainer_state.pt`` (optimiser, scheduler, step, RNG state) and the
resolved ``train_config.yaml``. It is written to a temporary name and renamed, so a killed run never
leaves half a checkpoint; ``resume: true`` (default) continues from the newest one with the same step
count and learning-rate schedule. The last model also goes to ``OUT/final/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from pipelines.train import config as train_config
from pipelines.train import data
from pipelines.train.config import TrainConfig

log = logging.getLogger("gotforge.train")

STATE_NAME = "trainer_state.pt"
CONFIG_NAME = "train_config.yaml"


# --- set-up --------------------------------------------------------------------------------------


def setup_distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world) from torchrun's environment; a plain process is rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def strip(name: str) -> str:
    """GotOcr2ForConditionalGeneration nests its parts under ``model.``; match both layouts."""
    return name.removeprefix("model.")


def freeze_encoder(model: torch.nn.Module) -> int:
    """Stage 3: no gradient for the vision tower and the two stride-2 convs. Returns the count frozen."""
    from got_model.build import ENCODER_PREFIXES

    frozen = 0
    for name, param in model.named_parameters():
        if strip(name).startswith(ENCODER_PREFIXES):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def param_groups(model: torch.nn.Module, optim: train_config.OptimConfig) -> list[dict[str, Any]]:
    """Weight decay on matrices (not embeddings, norms, biases), or only under ``decay_only`` prefixes;
    one group per (decay, learning-rate scale) pair, the scale from ``lr_scale``'s first matching prefix."""
    groups: dict[tuple[bool, float], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        plain = strip(name)
        is_matrix = param.ndim >= 2 and "embed" not in plain
        wanted = plain.startswith(optim.decay_only) if optim.decay_only else True
        decay = is_matrix and wanted and optim.weight_decay > 0
        scale = next((f for prefix, f in optim.lr_scale.items() if plain.startswith(prefix)), 1.0)
        groups.setdefault((decay, scale), []).append(param)
    return [
        {"params": params, "weight_decay": optim.weight_decay if decay else 0.0, "lr": optim.lr * scale}
        for (decay, scale), params in sorted(groups.items(), key=lambda kv: (not kv[0][0], kv[0][1]))
    ]


def lr_factor(step: int, max_steps: int, optim: train_config.OptimConfig) -> float:
    """Linear warmup over ``warmup_steps``, then cosine from 1 to ``min_lr_ratio`` at ``max_steps``."""
    if step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    span = max(1, max_steps - optim.warmup_steps)
    progress = min(1.0, (step - optim.warmup_steps) / span)
    return optim.min_lr_ratio + (1 - optim.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


# --- checkpoints ---------------------------------------------------------------------------------


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:07d}"


def latest_checkpoint(out: Path) -> Path | None:
    done = sorted(p for p in (out / "checkpoints").glob("step-???????") if (p / STATE_NAME).is_file())
    return done[-1] if done else None


def save(built: Any, optimizer: Any, scheduler: Any, step: int, config: TrainConfig, out: Path,
         extra: dict[str, Any]) -> Path:
    """Write the checkpoint under a temporary name, then rename it into place; prune old ones."""
    from got_model.build import save_checkpoint

    final = checkpoint_dir(out, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_checkpoint(built, tmp)
    (tmp / CONFIG_NAME).write_text(train_config.dump(config), encoding="utf-8")
    torch.save(
        {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.random.get_rng_state(),
            **extra,
        },
        tmp / STATE_NAME,
    )
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    kept = sorted(p for p in (out / "checkpoints").glob("step-???????") if (p / STATE_NAME).is_file())
    for old in kept[: -config.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def save_final(built: Any, config: TrainConfig, out: Path) -> Path:
    from got_model.build import save_checkpoint

    final = out / "final"
    tmp = out / "final.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_checkpoint(built, tmp)
    (tmp / CONFIG_NAME).write_text(train_config.dump(config), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


# --- the loop ------------------------------------------------------------------------------------


class Timer:
    """Wall-clock seconds of the loop (everything but held-out evaluation) and of waiting for data, for
    samples/s, tokens/s and the data-wait share."""

    def __init__(self) -> None:
        self.data = self.compute = self.excluded = 0.0
        self.samples = self.tokens = 0
        self.start = time.perf_counter()

    @property
    def total(self) -> float:
        return max(time.perf_counter() - self.start - self.excluded, 1e-9)

    def add(self, other: Timer) -> None:
        self.data += other.data
        self.compute += other.compute
        self.samples += other.samples
        self.tokens += other.tokens



def build(config: TrainConfig, resume_from: Path | None) -> Any:
    from got_model.build import create

    if resume_from is not None:
        return create(resume_from)
    return create(config.model, tokenizer=config.tokenizer, init_encoder=config.init_encoder_from, seed=config.seed)


def _agree(flag: bool, world: int, device: torch.device) -> bool:
    """True on every rank when it is true on any (a time limit must stop all ranks at the same step)."""
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) the training described by ``config``; returns the run summary (rank 0's)."""
    from got_model.collator import GotCollator

    device = pick_device(config.device)
    rank, world = setup_distributed(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    if world > 1:
        dist.barrier()

    resume_from = latest_checkpoint(out) if config.resume else None
    torch.manual_seed(config.seed + rank)
    built = build(config, resume_from)
    model = built.model.to(device)
    if config.stage == 3:
        frozen = freeze_encoder(model)
        log.info("stage 3: encoder frozen (%d parameters)", frozen)
    if config.gradient_checkpointing:
        # transformers 5 renamed gradient_checkpointing_enable (deprecated) to activation_checkpointing_enable
        enable = getattr(model, "activation_checkpointing_enable", None) or getattr(
            model, "gradient_checkpointing_enable", None)
        if enable is None:
            raise train_config.ConfigError("gradient_checkpointing: this model cannot recompute activations")
        enable()
        model.config.use_cache = False
    model.train()

    optimizer = torch.optim.AdamW(
        param_groups(model, config.optim), lr=config.optim.lr, betas=config.optim.betas, eps=config.optim.eps
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, config.max_steps, config.optim)
    )

    def base_lr() -> float:
        """The schedule's learning rate (groups with an ``lr_scale`` run at a multiple of it)."""
        return config.optim.lr * lr_factor(scheduler.last_epoch, config.max_steps, config.optim)

    step = 0
    elapsed = 0.0  # training seconds of earlier runs (max_minutes counts across resumes)
    if resume_from is not None:
        state = torch.load(resume_from / STATE_NAME, map_location="cpu", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = int(state["step"])
        elapsed = float(state.get("elapsed", 0.0))
        torch.random.set_rng_state(state["torch_rng"])
        if rank == 0:
            log.info("resumed from %s at step %d", resume_from, step)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    collator = GotCollator(built.processor, built.image_seq_length, config.data.max_length,
                           prompt_style=config.data.prompt_style, max_crops=config.data.max_crops)
    stream = data.TrainStream(
        [(s.shards, s.weight) for s in config.data.sources], collator, config.batch_size,
        config.data.shuffle_buffer, config.seed, rank, world, start_step=step,
    )
    batches = iter(data.train_loader(stream, config.data.workers, config.data.prefetch))

    writer = progress = None
    curve: list[dict[str, Any]] = []
    if rank == 0:
        (out / CONFIG_NAME).write_text(train_config.dump(config), encoding="utf-8")
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tensorboard"))
        if config.progress:
            from tqdm import tqdm

            progress = tqdm(total=config.max_steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
        if (out / "curve.json").is_file() and resume_from is not None:
            curve = json.loads((out / "curve.json").read_text())
    keys_log = (out / f"keys-rank{rank}.txt").open("a") if config.log_keys else None

    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16) if config.bf16 else nullcontext()
    )
    timer, totals = Timer(), Timer()
    first: Timer | None = None
    dropped = 0
    clock = time.process_time if config.clock == "cpu" else time.perf_counter
    last_eval = elapsed
    started = clock() - elapsed
    stop = False
    loss_value = float("nan")

    def run_eval() -> None:
        from pipelines.train import evaluate

        if rank == 0:
            model.eval()
            result = evaluate.evaluate(built, config.eval.shards, config.eval.samples, collator,
                                       max_new_tokens=config.eval.max_new_tokens,
                                       batch_size=config.eval.batch_size)
            model.train()
            point = {"step": step, "minutes": round((clock() - started) / 60, 2),
                     "loss": loss_value, **evaluate.headline(result)}
            curve.append(point)
            (out / "curve.json").write_text(json.dumps(curve, indent=1))
            log.info("eval at step %d: %s", step, point)
            if writer is not None:
                for k, v in point.items():
                    if isinstance(v, (int, float)) and k not in ("step",):
                        writer.add_scalar(f"eval/{k}", v, step)
        if world > 1:
            dist.barrier()

    while step < config.max_steps and not stop:
        loss_sum = 0.0
        for micro in range(config.grad_accum):
            w0 = time.perf_counter()
            batch = next(batches)
            timer.data += time.perf_counter() - w0
            dropped += int(batch.pop("num_dropped", 0))
            keys = batch.pop("keys", None)
            if keys_log is not None and keys is not None:
                keys_log.write("".join(f"{step}\t{k}\n" for k in keys))
            timer.samples += int(batch["input_ids"].shape[0])
            timer.tokens += int(batch["attention_mask"].sum())
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            sync = micro == config.grad_accum - 1 or world == 1
            c0 = time.perf_counter()
            with (nullcontext() if sync else ddp.no_sync()), autocast:
                loss = ddp(**batch).loss / config.grad_accum
            loss.backward()
            timer.compute += time.perf_counter() - c0
            loss_sum += float(loss.detach())
        if config.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
        c0 = time.perf_counter()
        optimizer.step()
        timer.compute += time.perf_counter() - c0
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        loss_value = loss_sum
        minutes = (clock() - started) / 60

        if rank == 0 and (step % config.log_every == 0 or step == config.max_steps):
            lr = base_lr()
            rates = {
                "loss": loss_value, "lr": lr,
                "samples_per_s": world * timer.samples / timer.total,
                "tokens_per_s": world * timer.tokens / timer.total,
                "data_wait": timer.data / timer.total,
            }
            for k, v in rates.items():
                writer.add_scalar(f"train/{k}", v, step)
            if progress is not None:
                progress.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}",
                                     sps=f"{rates['samples_per_s']:.0f}", wait=f"{rates['data_wait']:.0%}")
            else:
                log.info("step %d: %s", step, " ".join(f"{k} {v:.4g}" for k, v in rates.items()))
            if step > config.log_every:
                totals.add(timer)
            else:  # the summary's rates leave out the first window (loader start, shuffle buffer fill)
                first, totals = timer, Timer()
            timer = Timer()
        if progress is not None:
            progress.update(1)

        stop = _agree(config.max_minutes is not None and minutes >= config.max_minutes, world, device)
        if config.eval.shards and (minutes - last_eval / 60 >= config.eval.every_minutes or stop
                                   or step == config.max_steps):
            eval_started, eval_wall = clock(), time.perf_counter()
            run_eval()
            started += clock() - eval_started  # evaluation time is not training time
            timer.excluded += time.perf_counter() - eval_wall
            totals.excluded += time.perf_counter() - eval_wall
            last_eval = clock() - started
        if step % config.save_every == 0 or step == config.max_steps or stop:
            if rank == 0:
                writer.flush()  # the logs up to a checkpoint are on disk before it is
                save(built, optimizer, scheduler, step, config, out,
                     {"elapsed": clock() - started, "dropped": dropped})
            if world > 1:
                dist.barrier()

    if progress is not None:
        progress.close()
    if keys_log is not None:
        keys_log.close()
    totals.add(timer)
    if not totals.samples and first is not None:  # a run of a single log window
        totals = first
    summary = {
        "step": step,
        "minutes": round((clock() - started) / 60, 3),
        "clock": config.clock,
        "loss": loss_value,
        "lr": base_lr(),
        "samples_per_s": world * totals.samples / totals.total,
        "tokens_per_s": world * totals.tokens / totals.total,
        "data_wait": totals.data / totals.total,
        "outside_compute": 1 - totals.compute / totals.total,  # loop time not in forward/backward/step
        "dropped_too_long": dropped,
        "world": world,
    }
    if rank == 0:
        save_final(built, config, out)
        (out / "train_summary.json").write_text(json.dumps(summary, indent=1))
        writer.close()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gotforge train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a training config, e.g. configs/train/tiny-demo.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (dotted, type-checked), e.g. optim.lr=3e-4")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = train_config.load(args.config, args.set)
    summary = train(config)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
