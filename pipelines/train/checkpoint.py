"""Training checkpoints: ``OUT/checkpoints/step-NNNNNNN/`` and the last model in ``OUT/final/``.

A checkpoint folder holds the model and processor in Hugging Face format (got_model.build.save_checkpoint),
``trainer_state.pt`` (optimiser, scheduler, step, RNG state, training time, dropped samples, live sources' positions) and the
resolved ``train_config.yaml``. Each is written under a temporary name and renamed into place, so a
killed run never leaves half a checkpoint; only folders holding ``trainer_state.pt`` count as done.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pipelines.train import config as train_config
from pipelines.train.config import TrainConfig

STATE_NAME = "trainer_state.pt"
CONFIG_NAME = "train_config.yaml"


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:07d}"


def _done(out: Path) -> list[Path]:
    return sorted(p for p in (out / "checkpoints").glob("step-???????") if (p / STATE_NAME).is_file())


def latest_checkpoint(out: Path) -> Path | None:
    done = _done(out)
    return done[-1] if done else None


def _write_model(built: Any, config: TrainConfig, folder: Path) -> Path:
    """Model, processor and config into ``folder.tmp``; the caller renames it into place."""
    from got_model.build import save_checkpoint

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_checkpoint(built, tmp)
    (tmp / CONFIG_NAME).write_text(train_config.dump(config), encoding="utf-8")
    return tmp


def _move_into_place(tmp: Path, final: Path) -> None:
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def save(built: Any, optimizer: Any, scheduler: Any, step: int, config: TrainConfig, out: Path,
         extra: dict[str, Any]) -> Path:
    """Write the checkpoint of ``step`` (``extra`` goes into its trainer state); prune old ones."""
    final = checkpoint_dir(out, step)
    tmp = _write_model(built, config, final)
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
    _move_into_place(tmp, final)
    for old in _done(out)[: -config.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def save_final(built: Any, config: TrainConfig, out: Path) -> Path:
    """The last model (no trainer state) in ``OUT/final``."""
    final = out / "final"
    _move_into_place(_write_model(built, config, final), final)
    return final


@dataclass
class Restored:
    """Where a resumed run continues: its step, the training time of the runs before it, and the next
    virtual shard of each live source (pipelines/train/live.py)."""

    step: int = 0
    elapsed: float = 0.0
    live: dict[int, int] = field(default_factory=dict)


def restore(folder: Path, optimizer: Any, scheduler: Any) -> Restored:
    """Load the optimiser, schedule and torch RNG state of checkpoint ``folder``."""
    state = torch.load(folder / STATE_NAME, map_location="cpu", weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.random.set_rng_state(state["torch_rng"])
    return Restored(step=int(state["step"]), elapsed=float(state.get("elapsed", 0.0)), live=dict(state.get("live", {})))
