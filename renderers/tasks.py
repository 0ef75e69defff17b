"""GOT's task prompts, as the sample contract names them (ARCHITECTURE.md, "GOT's prompts").

A sample's query is a function of its meta: ``task`` (``ocr`` plain / ``format``), and for
fine-grained samples ``box`` (x1, y1, x2, y2 on a 0-1000 scale) or ``color``, ``crops`` (multi-crop)
and ``pages`` (multi-page). The engine writes it into every shard as ``meta["prompt"]`` and the
collator builds the same one, so this module is the one place that knows the query strings; it
imports nothing but the standard library, so the render path and the model package share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TASKS = ("ocr", "format")
COLORS = ("red", "green", "blue")

PLAIN = "OCR: "
FORMAT = "OCR with format: "
MULTI_CROP = "OCR with format upon the patch reference: "
MULTI_PAGE = "OCR with format across multi pages: "


def check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, found {task!r}")


def check_box(box: Sequence[float]) -> None:
    if len(box) != 4 or not all(0 <= v <= 1000 for v in box):
        raise ValueError(f"box must be [x1, y1, x2, y2] on a 0-1000 scale, found {list(box)}")


def check_color(color: str) -> None:
    if color not in COLORS:
        raise ValueError(f"color must be one of {list(COLORS)}, found {color!r}")


def query_for(
    task: str,
    box: Sequence[float] | None = None,
    color: str | None = None,
    crops: bool = False,
    pages: bool = False,
) -> str:
    """GOT's QUERY for one sample."""
    check_task(task)
    if pages:
        return MULTI_PAGE
    if crops:
        return MULTI_CROP
    base = FORMAT if task == "format" else PLAIN
    if box is not None:
        check_box(box)
        return f"[{', '.join(str(round(v)) for v in box)}] {base}"
    if color is not None:
        check_color(color)
        return f"[{color}] {base}"
    return base


def query_for_meta(meta: Mapping[str, Any]) -> str:
    """The QUERY a sample's meta asks for (as written into shards and read by the collator)."""
    return query_for(
        meta["task"],
        box=meta.get("box"),
        color=meta.get("color"),
        crops=bool(meta.get("crops")),
        pages=bool(meta.get("pages")),
    )
