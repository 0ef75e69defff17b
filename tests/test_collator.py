"""The GOT collator against transformers' GotOcr2Processor, token by token, and its loss mask."""

from __future__ import annotations

import pytest
import torch
from PIL import Image, ImageDraw

from got_model.build import build_processor
from got_model.collator import IGNORE_INDEX, GotCollator
from got_model.presets import load_preset
from got_model.prompts import chat_prompt
from got_model.tokenizer import train_tokenizer

TEXTS = [
    f"Line {i}: OCR with format upon the patch reference across multi pages [red] {i * 7}" for i in range(80)
]
TOKENS = 16  # got-tiny's image_seq_length


@pytest.fixture(scope="module")
def processor():
    return build_processor(load_preset("got-tiny"), train_tokenizer(TEXTS, vocab_size=400))


def _image(width: int = 300, height: int = 200, text: str = "Hello") -> Image.Image:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((10, 10), text, fill="black")
    return image


# (meta, images, GotOcr2Processor keyword arguments asking for the same prompt)
CASES = {
    "plain": ({"task": "ocr"}, [_image()], {}),
    "format": ({"task": "format"}, [_image()], {"format": True}),
    "box": ({"task": "ocr", "box": [100, 100, 600, 800]}, [_image(1000, 500)], {"box": [100, 50, 600, 400]}),
    "color": ({"task": "ocr", "color": "red"}, [_image()], {"color": "red"}),
    "multi-crop": (
        {"task": "format", "crops": {"max_patches": 4}},
        [_image(600, 200)],
        {"format": True, "images_kwargs": {"crop_to_patches": True, "max_patches": 4}},
    ),
    "multi-page": (
        {"task": "format", "pages": 2},
        [_image(text="p0"), _image(text="p1")],
        {"format": True, "multi_page": True},
    ),
}


def _processor_inputs(processor, images, meta_kwargs, text=None):
    images_arg = [images] if meta_kwargs.get("multi_page") else images[0]
    return processor(
        images=images_arg, text=text, num_image_tokens=TOKENS, return_tensors="pt", **meta_kwargs
    )


@pytest.mark.parametrize("case", list(CASES))
def test_prompt_matches_processor_token_by_token(processor, case):
    meta, images, kwargs = CASES[case]
    target = "Hello world 42"
    for style in ("got", "transformers"):
        collator = GotCollator(processor, TOKENS, max_length=4096, prompt_style=style)
        encoded = collator.encode({"images": images, "target": target, "meta": meta})
        prompt_len = encoded.labels.index(next(x for x in encoded.labels if x != IGNORE_INDEX))
        ours = encoded.input_ids[:prompt_len]
        if style == "transformers":  # the prompt GotOcr2Processor writes itself
            reference = _processor_inputs(processor, images, kwargs)
        else:  # GOT's query in the template; the processor expands the one <imgpad> into every view's tokens
            reference = _processor_inputs(
                processor, images, kwargs, text=chat_prompt(collator.query(meta), 1)
            )
        assert ours == reference["input_ids"][0].tolist(), (case, style)
        assert torch.equal(encoded.pixel_values, reference["pixel_values"])
        views = encoded.pixel_values.shape[0]
        assert ours.count(processor.image_token_id) == TOKENS * views
    if case == "multi-crop":
        assert views == 4  # 3 tiles of a 3:1 image + the thumbnail
    if case == "multi-page":
        assert views == 2


def test_got_queries_follow_design(processor):
    collator = GotCollator(processor, TOKENS, max_length=4096)
    tok = processor.tokenizer
    encoded = collator.encode(
        {"image": _image(), "target": "x", "meta": {"task": "ocr", "box": [1, 2, 3, 4]}}
    )
    text = tok.decode(encoded.input_ids)
    assert text.startswith(
        "<|im_start|>system\nYou should follow the instructions carefully and explain your answers in detail."
        "<|im_end|><|im_start|>user\n<img>" + "<imgpad>" * TOKENS + "</img>\n[1, 2, 3, 4] OCR: <|im_end|>"
        "<|im_start|>assistant\n"
    )
    assert text.endswith("assistant\nx<|im_end|>")


def test_loss_only_on_answer_and_im_end(processor):
    collator = GotCollator(processor, TOKENS, max_length=4096)
    tok = processor.tokenizer
    target = "Line 3: 21\n  café [red]"
    encoded = collator.encode({"image": _image(), "target": target, "meta": {"task": "format"}})
    supervised = [i for i, lab in zip(encoded.input_ids, encoded.labels) if lab != IGNORE_INDEX]
    assert tok.decode(supervised) == target + "<|im_end|>"
    assert supervised[-1] == tok.convert_tokens_to_ids("<|im_end|>")
    n = len(supervised)
    assert encoded.labels[-n:] == encoded.input_ids[-n:]
    assert set(encoded.labels[:-n]) == {IGNORE_INDEX}
    # tokenising prompt and answer apart gives what tokenising them together gives
    assert tok(tok.decode(encoded.input_ids), add_special_tokens=False)["input_ids"] == encoded.input_ids


def test_batch_is_right_padded_and_overlong_samples_are_dropped(processor):
    plain = {"task": "ocr"}
    probe = GotCollator(processor, TOKENS, max_length=4096).encode(
        {"image": _image(), "target": "ab", "meta": plain}
    )
    limit = len(probe.input_ids) + 5
    collator = GotCollator(processor, TOKENS, max_length=limit)
    samples = [
        {"image": _image(), "target": "ab", "meta": plain},
        {"image": _image(), "target": "Line 1: " * 20, "meta": plain},  # too long: dropped, not truncated
        {"image": _image(), "target": "ab Line 9", "meta": plain},
    ]
    batch = collator(samples)
    assert batch["num_dropped"] == 1
    assert collator.stats == {"seen": 3, "kept": 2, "dropped_too_long": 1}
    assert batch["input_ids"].shape[0] == 2 and batch["pixel_values"].shape == (2, 3, 128, 128)
    assert batch["input_ids"].shape[1] <= limit
    short = len(probe.input_ids)
    assert batch["attention_mask"][0].sum() == short
    assert (batch["input_ids"][0, short:] == processor.tokenizer.pad_token_id).all()
    assert (batch["labels"][0, short:] == IGNORE_INDEX).all()
    assert collator(samples[1:2]) is None
    assert collator.stats["dropped_too_long"] == 2


def test_inverted_normalisation_makes_background_zero(processor):
    encoded = GotCollator(processor, TOKENS, max_length=4096).encode(
        {"image": Image.new("RGB", (64, 64), "white"), "target": "", "meta": {"task": "ocr"}}
    )
    assert torch.allclose(encoded.pixel_values, torch.zeros_like(encoded.pixel_values), atol=1e-6)
