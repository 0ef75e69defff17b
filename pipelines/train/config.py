"""The training run's configuration (``configs/train/*.yaml``): data, not code.

One pydantic model, unknown keys rejected at every level, with the paper's defaults where it has
them (GOT paper section 3.2). ``load(path, sets)`` reads a YAML file and applies ``--set a.b=value``
overrides by the one rule of pipelines.config (the value read as YAML, then type-checked by the same
model, so ``--set optim.lr=abc`` fails and names the key). The resolved config is written beside every
checkpoint (``dump``).

    model: got-tiny                 # preset name, preset YAML path, or a checkpoint folder
    tokenizer: runs/demo/tokenizer  # needed with a preset (a checkpoint brings its own)
    stage: 2                        # 1: encoder + small decoder; 2: joint; 3: encoder frozen
    out: runs/demo
    data:
      sources:
        - {shards: "runs/demo/train/text-page/*.tar", weight: 1}
        - {render: configs/render/tiny-lines.yaml, weight: 2}   # rendered live, never on disk
      max_length: 96
    optim: {lr: 3.0e-4, warmup_steps: 100}
    max_steps: 2000
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pydantic
import yaml

from pipelines import config as common
from pipelines.config import StrictModel


class Source(StrictModel):
    """One source and its mixing weight: a shard glob (``shards``), or a render config whose samples
    are rendered in the loader workers and never written (``render``; pipelines/train/live.py)."""

    shards: str | None = None
    render: str | None = None
    weight: float = pydantic.Field(1.0, gt=0)

    @pydantic.model_validator(mode="after")
    def _one_kind(self) -> Source:
        if (self.shards is None) == (self.render is None):
            raise ValueError("give a source either shards: GLOB or render: RENDER_CONFIG.yaml, not both or neither")
        return self


class DataConfig(StrictModel):
    sources: tuple[Source, ...] = pydantic.Field(min_length=1)
    max_length: pydantic.PositiveInt = 4096  # prompt + answer tokens; longer samples are dropped (GOT: 8k)
    prompt_style: Literal["got", "transformers"] = "got"
    max_crops: pydantic.PositiveInt = 12
    shuffle_buffer: pydantic.NonNegativeInt = 1000
    workers: pydantic.NonNegativeInt = 2  # DataLoader worker processes per rank
    prefetch: pydantic.PositiveInt = 4  # batches per worker


class OptimConfig(StrictModel):
    """AdamW with linear warmup and cosine decay to ``min_lr_ratio × lr``."""

    lr: float = pydantic.Field(1e-4, gt=0)
    weight_decay: float = pydantic.Field(0.0, ge=0)
    # Parameter-name prefixes that get weight decay (matrices only); empty: every matrix but embeddings.
    decay_only: tuple[str, ...] = ()
    # Learning-rate multipliers by parameter-name prefix (first match wins), e.g. {vision_tower: 3.0}.
    lr_scale: dict[str, float] = pydantic.Field(default_factory=dict)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    warmup_steps: pydantic.NonNegativeInt = 0
    min_lr_ratio: float = pydantic.Field(0.0, ge=0, le=1)
    # What the cosine spans: max_steps, or the sooner of max_steps and max_minutes (a time budget then
    # ends at the schedule's end however fast the machine steps; the run is no longer step-for-step
    # reproducible, since the rate at each step follows the clock).
    schedule_over: Literal["steps", "minutes"] = "steps"
    grad_clip: float = pydantic.Field(1.0, ge=0)  # 0: off


class EvalConfig(StrictModel):
    """Held-out evaluation during training (the learning curve); off without ``shards``."""

    shards: str | None = None
    samples: pydantic.PositiveInt = 200
    every_minutes: float = pydantic.Field(5.0, gt=0)
    max_new_tokens: pydantic.PositiveInt = 32
    batch_size: pydantic.PositiveInt = 50


class TrainConfig(StrictModel):
    model: str
    tokenizer: str | None = None
    init_encoder_from: str | None = None  # stage 2: a stage-1 checkpoint's encoder
    stage: Literal[1, 2, 3] = 2
    out: str
    seed: int = 0
    data: DataConfig
    optim: OptimConfig = OptimConfig()
    eval: EvalConfig = EvalConfig()
    batch_size: pydantic.PositiveInt = 8  # per rank, per micro-step
    grad_accum: pydantic.PositiveInt = 1
    max_steps: pydantic.PositiveInt = 1000  # optimiser steps; the schedule spans them
    max_minutes: float | None = pydantic.Field(None, gt=0)  # stop early (then checkpoint) after this long
    # What max_minutes and eval.every_minutes count: wall-clock time, or this process's CPU time (a
    # CPU budget that other work on a shared machine does not eat into). Evaluation never counts.
    clock: Literal["wall", "cpu"] = "wall"
    save_every: pydantic.PositiveInt = 500
    keep_checkpoints: pydantic.PositiveInt = 2
    log_every: pydantic.PositiveInt = 10
    resume: bool = True  # continue from the newest checkpoint in out/checkpoints
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = False  # autocast to bfloat16 (GPUs)
    gradient_checkpointing: bool = False
    threads: int = pydantic.Field(0, ge=0)  # torch intra-op threads per rank; 0: torch's default
    progress: bool = True
    log_keys: bool = False  # append each rank's sample keys to OUT/keys-rankN.txt (which data each rank saw)

    @pydantic.model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.stage == 1 and self.init_encoder_from:
            raise ValueError("stage 1 trains the encoder from scratch: remove init_encoder_from")
        if self.optim.schedule_over == "minutes" and self.max_minutes is None:
            raise ValueError("optim.schedule_over: minutes spans max_minutes: set max_minutes, or schedule over steps")
        return self


def load(path: str | Path, sets: Sequence[str] = ()) -> TrainConfig:
    """``path`` (YAML) with ``--set`` overrides applied, validated."""
    return common.load(TrainConfig, path, sets, what="training config", see="configs/train/")


def dump(config: TrainConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
