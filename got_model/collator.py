"""The GOT collator: decoded samples -> input_ids, attention_mask, labels, pixel_values.

Follows GOT's training format (paper section 3.2; ARCHITECTURE.md "GOT's prompts"): the chat template of
``prompts.chat_prompt`` with ``image_seq_length`` ``<imgpad>`` per view, the QUERY chosen from the
sample's meta, and the loss on the answer (target + ``<|im_end|>``) only. Views per sample:

- one image: 1 view;
- multi-crop (``meta["crops"]``): the tiles and the thumbnail that ``GotOcr2ImageProcessor`` cuts
  (``crop_to_patches``; ``crops`` may be ``true``, a maximum tile count, or ``{min_patches, max_patches}``);
- multi-page (``meta["pages"]``): one view per page image.

All views of a sample sit between one ``<img>`` and ``</img>``, as ``GotOcr2Processor`` writes them,
and their pixel values are concatenated in order, which is how ``GotOcr2Model`` scatters them.

Two stages, so a streaming loader can encode in its workers and pad in batches:
``encode(sample) -> Encoded | None`` and ``pad(encoded) -> batch``; ``__call__`` does both. A sample
whose prompt + answer exceeds ``max_length`` tokens is dropped (never truncated) and counted in
``stats`` and in the batch's ``num_dropped`` (which the trainer pops before the forward pass; the
per-process ``stats`` of a DataLoader worker are not visible to the main process).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from PIL import Image
from transformers import GotOcr2Processor

from .prompts import STYLES, answer_text, chat_prompt, query_for_meta

IGNORE_INDEX = -100


@dataclass
class Encoded:
    """One sample, tokenised, before padding."""

    input_ids: list[int]
    labels: list[int]
    pixel_values: torch.Tensor  # (views, 3, S, S)


class GotCollator:
    """Turn decoded samples ``{"images" | "image", "target", "meta"}`` into a GOT training batch.

    ``prompt_style``: ``"got"`` uses GOT's query strings (ARCHITECTURE.md); ``"transformers"`` uses the exact
    strings ``GotOcr2Processor(images)`` builds at inference (they differ by a space; see
    ``prompts.query_for``).
    """

    def __init__(
        self,
        processor: GotOcr2Processor,
        image_seq_length: int,
        max_length: int,
        prompt_style: Literal["got", "transformers"] = "got",
        max_crops: int = 12,
    ) -> None:
        if prompt_style not in STYLES:
            raise ValueError(f"prompt_style must be one of {list(STYLES)}, found {prompt_style!r}")
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.image_processor = processor.image_processor
        self.image_seq_length = image_seq_length
        self.max_length = max_length
        self.prompt_style = prompt_style
        self.max_crops = max_crops
        self.pad_token_id = self.tokenizer.pad_token_id
        if self.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token (GOT pads with <|endoftext|>)")
        self.stats: Counter[str] = Counter()

    # --- one sample --------------------------------------------------------------------------------

    def query(self, meta: Mapping[str, Any]) -> str:
        return query_for_meta(meta, self.prompt_style)

    def pixel_values(self, images: Sequence[Image.Image], meta: Mapping[str, Any]) -> torch.Tensor:
        """(views, 3, S, S): one per page, or the crops and thumbnail of a single image."""
        crops = meta.get("crops")
        if crops and not meta.get("pages"):
            if len(images) != 1:
                raise ValueError(f"a multi-crop sample has one image, found {len(images)}")
            limits = {"min_patches": 1, "max_patches": self.max_crops}
            if isinstance(crops, Mapping):
                limits.update({k: int(crops[k]) for k in ("min_patches", "max_patches") if k in crops})
            elif not isinstance(crops, bool):
                limits["max_patches"] = int(crops)
            out = self.image_processor(list(images), crop_to_patches=True, return_tensors="pt", **limits)
        else:
            if len(images) > 1 and not meta.get("pages"):
                raise ValueError(f"{len(images)} images but meta has no 'pages'")
            out = self.image_processor(list(images), crop_to_patches=False, return_tensors="pt")
        return out["pixel_values"]

    def encode(self, sample: Mapping[str, Any]) -> Encoded | None:
        """Tokenise one sample; ``None`` (and counted) when it is longer than ``max_length``."""
        images = sample["images"] if "images" in sample else [sample["image"]]
        meta = sample["meta"]
        pixel_values = self.pixel_values(images, meta)
        views = pixel_values.shape[0]
        prompt = chat_prompt(self.query(meta), self.image_seq_length * views)
        prompt_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = self.tokenizer(answer_text(sample["target"]), add_special_tokens=False)["input_ids"]
        self.stats["seen"] += 1
        if len(prompt_ids) + len(answer_ids) > self.max_length:
            self.stats["dropped_too_long"] += 1
            return None
        self.stats["kept"] += 1
        return Encoded(
            input_ids=prompt_ids + answer_ids,
            labels=[IGNORE_INDEX] * len(prompt_ids) + answer_ids,
            pixel_values=pixel_values,
        )

    # --- a batch -----------------------------------------------------------------------------------

    def pad(self, encoded: Sequence[Encoded], num_dropped: int = 0) -> dict[str, Any] | None:
        """Right-pad to the longest sample; ``None`` when nothing is left."""
        if not encoded:
            return None
        length = max(len(e.input_ids) for e in encoded)
        input_ids = torch.full((len(encoded), length), self.pad_token_id, dtype=torch.long)  # (batch, seq)
        labels = torch.full((len(encoded), length), IGNORE_INDEX, dtype=torch.long)  # (batch, seq)
        attention_mask = torch.zeros((len(encoded), length), dtype=torch.long)  # (batch, seq)
        for row, e in enumerate(encoded):
            n = len(e.input_ids)
            input_ids[row, :n] = torch.tensor(e.input_ids)
            labels[row, :n] = torch.tensor(e.labels)
            attention_mask[row, :n] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
            "pixel_values": torch.cat([e.pixel_values for e in encoded]),  # (views in batch, 3, S, S)
            "num_dropped": num_dropped,
        }

    def __call__(self, samples: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
        encoded = [self.encode(s) for s in samples]
        kept = [e for e in encoded if e is not None]
        return self.pad(kept, num_dropped=len(encoded) - len(kept))
