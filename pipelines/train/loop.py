"""``gotforge train --config configs/train/FILE.yaml [--set key=value …]``: the GOT training loop.

Read top to bottom (nanoGPT's ``train.py`` is the model): ``train(config)`` starts a :class:`Trainer`
(``Trainer.start``: device and ranks, the model (got_model.build.create), the optimiser and schedule
(optim.py), the data stream (data.py), the logs (logs.py)) and runs it. Each pass of ``Trainer.run`` is one
optimiser step (``train_step``: gradient accumulation, optional bf16 autocast, clipping), then, when
due, ``log`` (TensorBoard scalars and a progress bar), ``evaluate`` (held-out metrics into the learning
curve) and ``save`` (a checkpoint, checkpoint.py); ``finish`` writes the final model and the summary.

Stages (GOT paper section 3.2): 1 and 2 train everything; 3 freezes the vision encoder and both
stride-2 convs (the linear projector and the decoder still learn).

Distributed: run under ``torchrun --nproc-per-node N -m pipelines.cli train …``; each rank streams its
own share of the shards (data.py), gradients are averaged by DistributedDataParallel (gloo on CPU, nccl
on GPU). Rank 0 writes checkpoints, logs and the learning curve.

``resume: true`` (default) continues from the newest checkpoint in ``OUT/checkpoints`` with the same
step count and learning-rate schedule. The last model also goes to ``OUT/final/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from pipelines.config import ConfigError
from pipelines.train import checkpoint, data
from pipelines.train import config as train_config
from pipelines.train.config import TrainConfig
from pipelines.train.logs import Clock, Logs, Timer
from pipelines.train.optim import Budget, base_lr, freeze_encoder, make_optimizer

log = logging.getLogger("gotforge.train")


# --- set-up --------------------------------------------------------------------------------------


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


@dataclass(frozen=True)
class Ranks:
    """This process's device and place among torchrun's processes (a plain process is rank 0 of 1)."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @classmethod
    def start(cls, device_name: str) -> Ranks:
        device = pick_device(device_name)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return cls(device, dist.get_rank(), world)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def highest(self, value: int) -> int:
        """The largest of every rank's ``value``."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return int(t.item())

    def latest(self, minutes: float) -> float:
        """The largest of every rank's training ``minutes``: a time limit, and a schedule over time,
        must act on all ranks at the same step."""
        if self.world == 1:
            return minutes
        t = torch.tensor([minutes], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t.item())


def build_model(config: TrainConfig, resume_from: Path | None, device: torch.device) -> Any:
    """The model to train (``Built``) on ``device``, with its stage's frozen parts and its switches set."""
    from got_model.build import create

    if resume_from is not None:
        built = create(resume_from)
    else:
        built = create(config.model, tokenizer=config.tokenizer, init_encoder=config.init_encoder_from,
                       seed=config.seed)
    model = built.model.to(device)
    text = model.config.text_config
    positions = getattr(text, "max_position_embeddings", None)
    learned = getattr(text, "rope_parameters", None) is None  # rotary positions have no table to run off
    if learned and positions is not None and config.data.max_length > positions:
        raise ConfigError(f"data.max_length {config.data.max_length} is more than the {positions} positions of "
                          f"{config.model}'s decoder: lower data.max_length")
    if config.stage == 3:
        log.info("stage 3: encoder frozen (%d parameters)", freeze_encoder(model))
    if config.gradient_checkpointing:
        # transformers 5 renamed gradient_checkpointing_enable (deprecated) to activation_checkpointing_enable
        enable = getattr(model, "activation_checkpointing_enable", None) or getattr(
            model, "gradient_checkpointing_enable", None)
        if enable is None:
            raise ConfigError(f"gradient_checkpointing: {type(model).__name__} ({config.model}) cannot recompute "
                              "activations; set gradient_checkpointing: false")
        enable()
    model.train()
    return built


def open_batches(config: TrainConfig, built: Any, ranks: Ranks, step: int,
                 live: dict[int, int]) -> tuple[Any, Iterator[dict[str, Any]]]:
    """The collator and this rank's endless batches, drawn afresh from ``step`` on; live sources go on
    from the virtual shards in ``live`` (pipelines/train/live.py)."""
    from got_model.collator import GotCollator

    collator = GotCollator(built.processor, built.image_seq_length, config.data.max_length,
                           prompt_style=config.data.prompt_style, max_crops=config.data.max_crops)
    stream = data.TrainStream(
        data.source_specs(config.data.sources), collator, config.batch_size,
        config.data.shuffle_buffer, config.seed, ranks.rank, ranks.world, start_step=step, live_start=live,
    )
    return collator, iter(data.train_loader(stream, config.data.workers, config.data.prefetch))


# --- the loop ------------------------------------------------------------------------------------


@dataclass
class Trainer:
    """One training run: what it trains, with what, where it stands, and its logs."""

    config: TrainConfig
    ranks: Ranks
    built: Any  # got_model.build.Built: model, processor, image_seq_length
    ddp: torch.nn.Module  # the model, wrapped for DistributedDataParallel when there are several ranks
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    collator: Any
    batches: Iterator[dict[str, Any]]
    logs: Logs
    clock: Clock
    budget: Budget  # the minutes spent of max_minutes, which the time limit and a schedule over minutes follow
    step: int = 0
    loss: float = float("nan")  # the last step's
    dropped: int = 0  # samples longer than data.max_length, left out by the collator
    live: dict[int, int] = field(default_factory=dict)  # live sources: the next virtual shard (data.report_live)
    window: Timer = field(default_factory=Timer)  # since the last log line
    totals: Timer = field(default_factory=Timer)  # the run's rates, first log window left out
    first: Timer | None = None
    # Called before each reading of the step-part clocks; gpu-check sets torch.cuda.synchronize so the
    # forward / backward / optimiser split is the GPU's (pipelines/bench/gpu_check.py).
    device_sync: Callable[[], None] | None = None

    @classmethod
    def start(cls, config: TrainConfig) -> Trainer:
        """Set up a run, or resume the newest checkpoint of ``config.out`` (``resume: true``)."""
        ranks = Ranks.start(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        out = Path(config.out)
        if ranks.rank == 0:
            out.mkdir(parents=True, exist_ok=True)
        ranks.barrier()
        resume_from = checkpoint.latest_checkpoint(out) if config.resume else None
        torch.manual_seed(config.seed + ranks.rank)
        built = build_model(config, resume_from, ranks.device)
        budget = Budget(config.max_minutes)
        optimizer, scheduler = make_optimizer(built.model, config, budget)
        restored = checkpoint.Restored()
        if resume_from is not None:
            restored = checkpoint.restore(resume_from, optimizer, scheduler)
            budget.minutes = restored.elapsed / 60
            if ranks.rank == 0:
                log.info("resumed from %s at step %d", resume_from, restored.step)
        ddp = torch.nn.parallel.DistributedDataParallel(built.model) if ranks.world > 1 else built.model
        collator, batches = open_batches(config, built, ranks, restored.step, restored.live)
        if ranks.rank == 0:
            (out / checkpoint.CONFIG_NAME).write_text(train_config.dump(config), encoding="utf-8")
        logs = Logs.open(config, out, ranks.rank, restored.step, resumed=resume_from is not None)
        return cls(config, ranks, built, ddp, optimizer, scheduler, collator, batches, logs,
                   Clock(config.clock, restored.elapsed), budget, step=restored.step, live=dict(restored.live))

    def _sync(self) -> None:
        if self.device_sync is not None:
            self.device_sync()

    @property
    def model(self) -> torch.nn.Module:
        return self.built.model

    @property
    def minutes(self) -> float:
        return self.clock.elapsed() / 60

    def run(self) -> dict[str, Any]:
        """Step until ``max_steps`` or ``max_minutes``; returns the run summary (rank 0's)."""
        config, stop = self.config, False
        while self.step < config.max_steps and not stop:
            minutes = self.train_step()
            last = self.step == config.max_steps
            if self.ranks.rank == 0 and (self.step % config.log_every == 0 or last):
                self.log()
            if self.logs.progress is not None:
                self.logs.progress.update(1)
            stop = self.budget.spent >= 1.0
            since_eval = minutes - self.clock.last_eval / 60
            if config.eval.shards and (since_eval >= config.eval.every_minutes or stop or last):
                self.evaluate()
            if self.step % config.save_every == 0 or last or stop:
                self.save()
        return self.finish()

    # --- one step ----------------------------------------------------------------------------------

    def train_step(self) -> float:
        """One optimiser step over ``grad_accum`` micro-batches, clipped, then the schedule's step
        (at the time budget spent by then). Returns the training minutes so far, every rank's largest."""
        accum = self.config.grad_accum
        loss_sum = 0.0
        for micro in range(accum):
            loss_sum += self._forward_backward(sync=micro == accum - 1 or self.ranks.world == 1)
        o0 = time.perf_counter()
        if self.config.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        c0 = time.perf_counter()
        self.optimizer.step()
        self.window.compute += time.perf_counter() - c0
        self.budget.minutes = self.ranks.latest(self.minutes)
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._sync()
        self.window.optimizer += time.perf_counter() - o0
        self.step += 1
        self.loss = loss_sum
        return self.budget.minutes

    def _forward_backward(self, sync: bool) -> float:
        """Gradients of one micro-batch (averaged across ranks when ``sync``); its share of the loss."""
        batch = self._next_batch()
        autocast: AbstractContextManager[Any] = (
            torch.autocast(device_type=self.ranks.device.type, dtype=torch.bfloat16) if self.config.bf16
            else nullcontext())
        self._sync()
        c0 = time.perf_counter()
        with (nullcontext() if sync else self.ddp.no_sync()), autocast:
            # no KV cache: training never reads one, and it cannot be kept with recomputed activations
            loss = self.ddp(**batch, use_cache=False).loss / self.config.grad_accum
        self._sync()
        c1 = time.perf_counter()
        loss.backward()
        self._sync()
        c2 = time.perf_counter()
        self.window.forward += c1 - c0
        self.window.backward += c2 - c1
        self.window.compute += c2 - c0
        return float(loss.detach())

    def _next_batch(self) -> dict[str, torch.Tensor]:
        """The next batch on the device; its wait, samples, tokens, dropped samples and keys counted."""
        w0 = time.perf_counter()
        batch = next(self.batches)
        self.window.data += time.perf_counter() - w0
        self.dropped += int(batch.pop("num_dropped", 0))
        for source, position in batch.pop("live", {}).items():
            self.live[source] = max(self.live.get(source, 0), position)
        keys = batch.pop("keys", None)
        if self.logs.keys is not None and keys is not None:
            self.logs.keys.write("".join(f"{self.step}\t{k}\n" for k in keys))
        self.window.samples += int(batch["input_ids"].shape[0])
        self.window.tokens += int(batch["attention_mask"].sum())
        return {k: v.to(self.ranks.device, non_blocking=True) for k, v in batch.items()}

    # --- when due ----------------------------------------------------------------------------------

    def log(self) -> None:
        """Rank 0: the rates of the window since the last log line, to TensorBoard and the progress bar."""
        lr = base_lr(self.scheduler, self.config)
        rates = {"loss": self.loss, "lr": lr, **self.window.rates(self.ranks.world)}
        self.logs.scalars("train", rates, self.step)
        if self.logs.progress is not None:
            self.logs.progress.set_postfix(loss=f"{self.loss:.3f}", lr=f"{lr:.2e}",
                                           sps=f"{rates['samples_per_s']:.0f}", wait=f"{rates['data_wait']:.0%}")
        else:
            log.info("step %d: %s", self.step, " ".join(f"{k} {v:.4g}" for k, v in rates.items()))
        if self.step > self.config.log_every:
            self.totals.add(self.window)
        else:  # the summary's rates leave out the first window (loader start, shuffle buffer fill)
            self.first, self.totals = self.window, Timer()
        self.window = Timer()

    def evaluate(self) -> None:
        """Held-out metrics into the learning curve (rank 0); the time it takes is not training time."""
        from pipelines.train import evaluate as held_out

        clock_start, wall_start = self.clock.now(), time.perf_counter()
        if self.ranks.rank == 0:
            minutes = self.minutes
            self.model.eval()
            result = held_out.evaluate(self.built, self.config.eval.shards, self.config.eval.samples,
                                       self.collator, max_new_tokens=self.config.eval.max_new_tokens,
                                       batch_size=self.config.eval.batch_size)
            self.model.train()
            self.logs.add_point({"step": self.step, "minutes": round(minutes, 2), "loss": self.loss,
                                 **held_out.headline(result)})
        self.ranks.barrier()
        self.clock.leave_out(clock_start)
        wall = time.perf_counter() - wall_start
        self.window.excluded += wall
        self.totals.excluded += wall
        self.clock.last_eval = self.clock.elapsed()

    def save(self) -> None:
        """Rank 0 writes a checkpoint of this step (logs flushed first, so they are on disk before it)."""
        live = {i: self.ranks.highest(self.live.get(i, 0))  # every rank's readers, for a resumed run
                for i, source in enumerate(self.config.data.sources) if source.render is not None}
        if self.ranks.rank == 0:
            self.logs.writer.flush()
            checkpoint.save(self.built, self.optimizer, self.scheduler, self.step, self.config, Path(self.config.out),
                            {"elapsed": self.clock.elapsed(), "dropped": self.dropped, "live": live})
        self.ranks.barrier()

    def finish(self) -> dict[str, Any]:
        """The final model and the run summary (rank 0); every rank closes its logs."""
        self.logs.close()
        totals = self.totals
        totals.add(self.window)
        if not totals.samples and self.first is not None:  # a run of a single log window
            totals = self.first
        world = self.ranks.world
        summary = {
            "step": self.step,
            "minutes": round(self.minutes, 3),
            "clock": self.config.clock,
            "loss": self.loss,
            "lr": base_lr(self.scheduler, self.config),
            **totals.rates(world),
            "outside_compute": 1 - totals.compute / totals.total,  # loop time not in forward/backward/step
            "dropped_too_long": self.dropped,
            "world": world,
        }
        if self.ranks.rank == 0:
            out = Path(self.config.out)
            checkpoint.save_final(self.built, self.config, out)
            (out / "train_summary.json").write_text(json.dumps(summary, indent=1))
            self.logs.writer.close()
        if world > 1:
            dist.barrier()
            dist.destroy_process_group()
        return summary


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) the training described by ``config``; returns the run summary (rank 0's)."""
    return Trainer.start(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gotforge train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a training config, e.g. configs/train/tiny-demo.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (dotted; the value read as YAML, then type-checked), "
                             "e.g. optim.lr=3e-4")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = train_config.load(args.config, args.set)
    summary = train(config)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
