"""GOT's prompts: the task queries and the chat template around them (ARCHITECTURE.md, "GOT's
prompts"; GOT paper section 3, transformers' GotOcr2Processor).

A sample's query is a function of the sample-contract keys of its meta: ``task`` (``ocr`` plain /
``format``), and for fine-grained samples ``box`` (x1, y1, x2, y2 on a 0-1000 scale) or ``color``,
``crops`` (multi-crop) and ``pages`` (multi-page). The render engine writes it into every shard as
``meta["prompt"]`` and the collator builds the same one, so this module is the one place that knows
the query strings. It imports nothing but the standard library: the render path imports it without
loading torch (tests/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# --- the task queries (GOT's QUERY; the family names are the sample contract's tasks) -----------------------

PLAIN = "OCR: "
FORMAT = "OCR with format: "
MULTI_CROP = "OCR with format upon the patch reference: "
MULTI_PAGE = "OCR with format across multi pages: "
FAMILY_QUERIES = {"ocr": PLAIN, "format": FORMAT}


def family_query(task: str) -> str:
    if task not in FAMILY_QUERIES:
        raise ValueError(f"task must be one of {list(FAMILY_QUERIES)}, found {task!r}")
    return FAMILY_QUERIES[task]


def box_text(box: Sequence[float]) -> str:
    if len(box) != 4:
        raise ValueError(f"box must be [x1, y1, x2, y2] on a 0-1000 scale, found {list(box)}")
    return f"[{', '.join(str(round(v)) for v in box)}]"


STYLES = ("got", "transformers")


def query_for(
    task: str,
    box: Sequence[float] | None = None,
    color: str | None = None,
    crops: bool = False,
    pages: bool = False,
    style: str = "got",
) -> str:
    """The QUERY for one sample: GOT's, or with ``style="transformers"`` exactly as transformers'
    ``GotOcr2Processor`` writes it when given no text.

    The two differ by whitespace only: transformers puts a space before ``OCR`` without a box
    (``" OCR: "``, ``"[red]  OCR: "``). Train with its spelling for a model that plain
    ``processor(image)`` prompts at inference exactly as in training; ``format`` is implied for
    multi-crop and multi-page, as in GOT.
    """
    if style not in STYLES:
        raise ValueError(f"prompt style must be one of {list(STYLES)}, found {style!r}")
    base = family_query(task)
    box_part = box_text(box) if box is not None else ""
    if style == "transformers":
        fmt = task == "format" or crops or pages
        return (
            f"{f'[{color}] ' if color is not None else ''}{'' if pages else box_part} OCR"
            f"{' with format' if fmt else ''}{' across multi pages' if pages else ''}"
            f"{' upon the patch reference' if crops else ''}: "
        )
    if pages:
        return MULTI_PAGE
    if crops:
        return MULTI_CROP
    if box is not None:
        return f"{box_part} {base}"
    if color is not None:
        return f"[{color}] {base}"
    return base


def query_for_meta(meta: Mapping[str, Any], style: str = "got") -> str:
    """The QUERY a sample's meta asks for, in GOT's spelling (as written into shards) or transformers'."""
    return query_for(
        meta["task"],
        box=meta.get("box"),
        color=meta.get("color"),
        crops=bool(meta.get("crops")),
        pages=bool(meta.get("pages")),
        style=style,
    )


# --- the chat template (ARCHITECTURE.md; GOT's conv_mpt template, as GotOcr2Processor builds it) ------------

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
IMG_START = "<img>"
IMG_END = "</img>"
IMG_PAD = "<imgpad>"
SYSTEM = "system\nYou should follow the instructions carefully and explain your answers in detail."


def chat_prompt(query: str, num_image_tokens: int) -> str:
    """Everything before the answer: system turn, user turn with the image tokens and QUERY, assistant tag.

    ``num_image_tokens`` counts all ``<imgpad>`` of the sample: image_seq_length x (pages, or crops + thumbnail).
    """
    return (
        f"{IM_START}{SYSTEM}{IM_END}{IM_START}user\n{IMG_START}{IMG_PAD * num_image_tokens}{IMG_END}\n"
        f"{query}{IM_END}{IM_START}assistant\n"
    )


def answer_text(target: str) -> str:
    """The supervised part: the target and the closing ``<|im_end|>``."""
    return f"{target}{IM_END}"
