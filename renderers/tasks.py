"""The task keys of the sample contract (ARCHITECTURE.md, "The sample contract").

A renderer's ``task`` and a sample's ``task``, ``box`` and ``color`` say which of GOT's prompt
families the sample trains: plain or formatted OCR, guided by a box (x1, y1, x2, y2 on a 0-1000 scale
of the image) or by a frame's colour. The query strings themselves are the model's
(``got_model.prompts``); the render engine writes the query into every shard.
"""

from __future__ import annotations

from collections.abc import Sequence

TASKS = ("ocr", "format")
COLORS = ("red", "green", "blue")


def check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, found {task!r}")


def check_box(box: Sequence[float]) -> None:
    if len(box) != 4 or not all(0 <= v <= 1000 for v in box):
        raise ValueError(f"box must be [x1, y1, x2, y2] on a 0-1000 scale, found {list(box)}")


def check_color(color: str) -> None:
    if color not in COLORS:
        raise ValueError(f"color must be one of {list(COLORS)}, found {color!r}")
