"""The training run's configuration (``configs/train/*.yaml``): data, not code.

One pydantic model, unknown keys rejected at every level, with the paper's defaults where it has
them (GOT paper section 3.2). ``load(path, sets)`` reads a YAML file and applies ``--set a.b=value``
overrides (each value parsed as YAML, then type-checked by the same model, so ``--set optim.lr=abc``
fails and names the key). The resolved config is written beside every checkpoint (``dump``).

    model: got-tiny                 # preset name, preset YAML path, or a checkpoint folder
    tokenizer: runs/demo/tokenizer  # needed with a preset (a checkpoint brings its own)
    stage: 2                        # 1: encoder + small decoder; 2: joint; 3: encoder frozen
    out: runs/demo
    data:
      sources:
        - {shards: "runs/demo/train/text-page/*.tar", weight: 1}
      max_length: 96
    optim: {lr: 3.0e-4, warmup_steps: 100}
    max_steps: 2000
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml


class ConfigError(ValueError):
    """An unusable training configuration; the message names the key or file to fix."""


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """One shard glob and its mixing weight."""

    shards: str
    weight: float = pydantic.Field(1.0, gt=0)


class DataConfig(_Strict):
    sources: tuple[Source, ...] = pydantic.Field(min_length=1)
    max_length: pydantic.PositiveInt = 4096  # prompt + answer tokens; longer samples are dropped (GOT: 8k)
    prompt_style: Literal["got", "transformers"] = "got"
    max_crops: pydantic.PositiveInt = 12
    shuffle_buffer: pydantic.NonNegativeInt = 1000
    workers: pydantic.NonNegativeInt = 2  # DataLoader worker processes per rank
    prefetch: pydantic.PositiveInt = 4  # batches per worker


class OptimConfig(_Strict):
    """AdamW with linear warmup and cosine decay to ``min_lr_ratio × lr``."""

    lr: float = pydantic.Field(1e-4, gt=0)
    weight_decay: float = pydantic.Field(0.0, ge=0)
    # Parameter-name prefixes that get weight decay (matrices only); empty: every matrix but embeddings.
    decay_only: tuple[str, ...] = ()
    # Learning-rate multipliers by parameter-name prefix (first match wins), e.g. {vision_tower: 3.0}.
    lr_scale: dict[str, float] = {}
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    warmup_steps: pydantic.NonNegativeInt = 0
    min_lr_ratio: float = pydantic.Field(0.0, ge=0, le=1)
    grad_clip: float = pydantic.Field(1.0, ge=0)  # 0: off


class EvalConfig(_Strict):
    """Held-out evaluation during training (the learning curve); off without ``shards``."""

    shards: str | None = None
    samples: pydantic.PositiveInt = 200
    every_minutes: float = pydantic.Field(5.0, gt=0)
    max_new_tokens: pydantic.PositiveInt = 32
    batch_size: pydantic.PositiveInt = 50


class TrainConfig(_Strict):
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
        return self


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {key!r} is a {type(child).__name__}, not a section")
        node = child
    node[keys[-1]] = value


def apply_sets(data: dict[str, Any], sets: Sequence[str]) -> dict[str, Any]:
    """``["optim.lr=3e-4", "data.workers=0"]`` applied to a plain dict (values parsed as YAML)."""
    out = yaml.safe_load(yaml.safe_dump(data))  # a deep copy
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE (e.g. optim.lr=3e-4), found {item!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item}: the value is not valid YAML: {err}") from err
        _set(out, key.strip(), value)
    return out


def _message(err: pydantic.ValidationError, where: str) -> str:
    lines = [f"{where}:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top)"
        found = "" if e["type"] == "missing" else f" (found {e.get('input')!r})"
        lines.append(f"  {loc}: {e['msg']}{found}")
    return "\n".join(lines)


def validate(data: dict[str, Any], where: str = "training config") -> TrainConfig:
    try:
        return TrainConfig.model_validate(data)
    except pydantic.ValidationError as err:
        raise ConfigError(_message(err, where)) from err


def load(path: str | Path, sets: Sequence[str] = ()) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no training config {path} (see configs/train/)")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a training config is a YAML mapping, found {type(data).__name__}")
    return validate(apply_sets(data, sets), str(path))


def dump(config: TrainConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
