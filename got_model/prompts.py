"""GOT's task prompts (DESIGN.md, "GOT's prompts"; GOT paper section 3, transformers' GotOcr2Processor).

The query text is chosen per sample from its meta: ``task`` (``ocr`` plain / ``format``), and for
fine-grained samples ``box`` (x1, y1, x2, y2 on a 0-1000 scale) or ``color``, ``crops`` (multi-crop)
and ``pages`` (multi-page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PLAIN = "OCR: "
FORMAT = "OCR with format: "
MULTI_CROP = "OCR with format upon the patch reference: "
MULTI_PAGE = "OCR with format across multi pages: "
COLORS = ("red", "green", "blue")


def query_for(
    task: str,
    box: Sequence[float] | None = None,
    color: str | None = None,
    crops: bool = False,
    pages: bool = False,
) -> str:
    """The QUERY for one sample. ``task`` is ``ocr`` or ``format``."""
    if task not in ("ocr", "format"):
        raise ValueError(f"task must be 'ocr' or 'format', found {task!r}")
    if pages:
        return MULTI_PAGE
    if crops:
        return MULTI_CROP
    base = FORMAT if task == "format" else PLAIN
    if box is not None:
        if len(box) != 4 or not all(0 <= v <= 1000 for v in box):
            raise ValueError(f"box must be [x1, y1, x2, y2] on a 0-1000 scale, found {list(box)}")
        return f"[{', '.join(str(int(round(v))) for v in box)}] {base}"
    if color is not None:
        if color not in COLORS:
            raise ValueError(f"color must be one of {COLORS}, found {color!r}")
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
