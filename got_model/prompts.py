"""GOT's chat template around a sample's query (ARCHITECTURE.md, "GOT's prompts"; GOT paper section 3,
transformers' GotOcr2Processor).

The query itself is part of the sample contract (:mod:`renderers.tasks`); this module wraps it in the
conversation the model sees, and gives transformers' own spelling of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from renderers.tasks import query_for

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


def transformers_query(
    task: str,
    box: Sequence[float] | None = None,
    color: str | None = None,
    crops: bool = False,
    pages: bool = False,
) -> str:
    """The QUERY exactly as transformers' ``GotOcr2Processor`` writes it when given no text.

    It differs from GOT's (``query_for``) by whitespace only: a leading space before ``OCR`` without a
    box (``" OCR: "``, ``"[red]  OCR: "``). Use it to train a model that plain ``processor(image)``
    prompts at inference exactly as in training; ``format`` is implied for multi-crop and multi-page, as
    in GOT.
    """
    query_for(task, box=box, color=color, crops=crops, pages=pages)  # same validation
    fmt = task == "format" or crops or pages
    box_text = f"[{', '.join(str(round(v)) for v in box)}]" if box is not None and not pages else ""
    return (
        f"{f'[{color}] ' if color is not None else ''}{box_text} OCR"
        f"{' with format' if fmt else ''}{' across multi pages' if pages else ''}"
        f"{' upon the patch reference' if crops else ''}: "
    )
