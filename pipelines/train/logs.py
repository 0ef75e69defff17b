"""What a training run measures and writes as it goes: its rates (:class:`Timer`), its training time
(:class:`Clock`, what ``max_minutes`` and ``eval.every_minutes`` count), and rank 0's TensorBoard
scalars, progress bar and learning curve (``OUT/curve.json``) with each rank's sample-key log (:class:`Logs`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipelines.train.config import TrainConfig

log = logging.getLogger("gotforge.train")


class Timer:
    """Wall-clock seconds of the loop (everything but held-out evaluation) and of waiting for data, for
    samples/s, tokens/s and the data-wait share; and of the step's parts (forward, backward, optimiser:
    clipping, step, zeroing), each read after the trainer's ``device_sync`` (a GPU's synchronize) when set."""

    def __init__(self) -> None:
        self.data = self.compute = self.excluded = 0.0
        self.forward = self.backward = self.optimizer = 0.0
        self.samples = self.tokens = 0
        self.start = time.perf_counter()

    @property
    def total(self) -> float:
        return max(time.perf_counter() - self.start - self.excluded, 1e-9)

    def add(self, other: Timer) -> None:
        self.data += other.data
        self.compute += other.compute
        self.forward += other.forward
        self.backward += other.backward
        self.optimizer += other.optimizer
        self.samples += other.samples
        self.tokens += other.tokens

    def rates(self, world: int) -> dict[str, float]:
        total = self.total
        return {"samples_per_s": world * self.samples / total, "tokens_per_s": world * self.tokens / total,
                "data_wait": self.data / total}


class Clock:
    """Training time in the config's ``clock`` (wall, or this process's CPU time), across resumes;
    what ``max_minutes`` and ``eval.every_minutes`` count. Evaluation is left out."""

    def __init__(self, kind: str, elapsed: float) -> None:
        self.now = time.process_time if kind == "cpu" else time.perf_counter
        self.started = self.now() - elapsed
        self.last_eval = elapsed

    def elapsed(self) -> float:
        return self.now() - self.started

    def leave_out(self, since: float) -> None:
        """Time since ``since`` (a reading of ``now``) does not count."""
        self.started += self.now() - since


@dataclass
class Logs:
    """Rank 0's TensorBoard writer, progress bar and learning curve; each rank's sample-key log."""

    out: Path
    writer: Any = None
    progress: Any = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    keys: TextIO | None = None

    @classmethod
    def open(cls, config: TrainConfig, out: Path, rank: int, step: int, resumed: bool) -> Logs:
        logs = cls(out)
        if rank == 0:
            from torch.utils.tensorboard import SummaryWriter

            logs.writer = SummaryWriter(str(out / "tensorboard"))
            if config.progress:
                from tqdm import tqdm

                # Over minutes the step count is open: the bar counts steps without an end.
                total = None if config.optim.schedule_over == "minutes" else config.max_steps
                logs.progress = tqdm(total=total, initial=step, desc="train", unit="step",
                                     dynamic_ncols=True)
            if resumed and (out / "curve.json").is_file():
                logs.curve = json.loads((out / "curve.json").read_text())
        if config.log_keys:
            logs.keys = (out / f"keys-rank{rank}.txt").open("a")
        return logs

    def scalars(self, section: str, values: dict[str, Any], step: int) -> None:
        for k, v in values.items():
            if isinstance(v, (int, float)) and k != "step":
                self.writer.add_scalar(f"{section}/{k}", v, step)

    def add_point(self, point: dict[str, Any]) -> None:
        """One evaluation into the learning curve (``OUT/curve.json``) and TensorBoard."""
        self.curve.append(point)
        (self.out / "curve.json").write_text(json.dumps(self.curve, indent=1))
        log.info("eval at step %d: %s", point["step"], point)
        self.scalars("eval", point, point["step"])

    def close(self) -> None:
        for handle in (self.progress, self.keys):
            if handle is not None:
                handle.close()
