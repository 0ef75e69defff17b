"""Which parameters learn and how fast: stage 3's frozen encoder, AdamW's parameter groups (weight decay,
per-prefix learning-rate scales) and the schedule (linear warmup, then cosine decay).

GOT paper section 4.1: AdamW with a cosine schedule; section 3.2.3: stage 3 freezes the vision encoder
and both stride-2 convs (the linear projector and the decoder still learn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from pipelines.train.config import OptimConfig, TrainConfig


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


def param_groups(model: torch.nn.Module, optim: OptimConfig) -> list[dict[str, Any]]:
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


@dataclass
class Budget:
    """The run's training minutes so far (every rank's largest), kept by the trainer, against its
    ``max_minutes`` (``limit``; none: no time limit)."""

    limit: float | None
    minutes: float = 0.0

    @property
    def spent(self) -> float:
        """The share of the limit used (0 without one)."""
        return self.minutes / self.limit if self.limit is not None else 0.0


def lr_factor(step: int, max_steps: int, optim: OptimConfig, spent: float = 0.0) -> float:
    """Linear warmup over ``warmup_steps``, then cosine from 1 to ``min_lr_ratio`` at ``max_steps``;
    with ``schedule_over: minutes``, at ``max_minutes`` if that comes first (``spent``: its share used)."""
    if step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    span = max(1, max_steps - optim.warmup_steps)
    progress = (step - optim.warmup_steps) / span
    if optim.schedule_over == "minutes":
        progress = max(progress, spent)
    progress = min(1.0, progress)
    return optim.min_lr_ratio + (1 - optim.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model: torch.nn.Module, config: TrainConfig, budget: Budget,
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over ``param_groups`` and its schedule, stepped once per optimiser step (reading
    ``budget`` then, for a schedule over minutes)."""
    optim = config.optim
    optimizer = torch.optim.AdamW(param_groups(model, optim), lr=optim.lr, betas=optim.betas, eps=optim.eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, config.max_steps, optim, budget.spent))
    return optimizer, scheduler


def base_lr(scheduler: torch.optim.lr_scheduler.LambdaLR, config: TrainConfig) -> float:
    """The schedule's learning rate now (groups with an ``lr_scale`` run at a multiple of it)."""
    group = scheduler.optimizer.param_groups[0]
    return config.optim.lr * group["lr"] / group["initial_lr"]
