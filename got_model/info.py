"""``gotforge model-info PRESET_OR_DIR``: parameter counts per part and the image-token arithmetic.

Counts come from building the model on PyTorch's ``meta`` device (shapes only, no memory), so even
got-base answers in about a second. Parts follow GOT paper section 3.1: vision encoder (patch
embedding, position embedding, ViTDet layers), neck, the two stride-2 convs, the linear projector, the
decoder (tied embeddings counted once).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    GotOcr2Config,
    GotOcr2ForConditionalGeneration,
    GotOcr2VisionConfig,
)

from .presets import load_preset
from .stage1 import CONFIG_NAME, DECODER_DIR, Stage1Model, is_stage1_checkpoint

QWEN_VOCAB = 151860  # GOT's vocabulary (Qwen), used for a preset when no tokenizer is named

PARTS = (
    ("neck", "vision_tower.neck."),
    ("vision_encoder", "vision_tower."),
    ("convs", "multi_modal_projector.conv_upsampler"),
    ("projector", "multi_modal_projector.multimodal_projector."),
    ("decoder", ""),
)


def _meta_model(preset_or_dir: str | Path, vocab_size: int) -> tuple[torch.nn.Module, str]:
    path = Path(preset_or_dir)
    with torch.device("meta"):
        if path.is_dir() and is_stage1_checkpoint(path):
            config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
            decoder = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path / DECODER_DIR))
            vision = GotOcr2VisionConfig(
                **{
                    k: v
                    for k, v in config["vision_config"].items()
                    if k not in ("model_type", "transformers_version")
                }
            )
            return Stage1Model(
                vision,
                decoder,
                config["projector_channels"],
                config["image_token_index"],
                config["image_seq_length"],
            ), f"stage-1 checkpoint {path}"
        if path.is_dir():
            return GotOcr2ForConditionalGeneration(GotOcr2Config.from_pretrained(path)), f"checkpoint {path}"
        preset = load_preset(preset_or_dir)
        text = preset.text_config(vocab_size, {"pad_token_id": 0, "eos_token_id": 0, "bos_token_id": None})
        if preset.got_native:
            config = GotOcr2Config(
                vision_config=preset.vision_config().to_dict(),
                text_config=text.to_dict(),
                image_token_index=vocab_size - 1,
                image_seq_length=preset.image_seq_length,
                tie_word_embeddings=bool(text.tie_word_embeddings),
            )
            return GotOcr2ForConditionalGeneration(config), f"preset {preset.name}"
        decoder = AutoModelForCausalLM.from_config(text)
        return Stage1Model(
            preset.vision_config(),
            decoder,
            preset.projector_channels or text.hidden_size,
            vocab_size - 1,
            preset.image_seq_length,
        ), f"preset {preset.name} (stage-1 composite)"


def model_info(preset_or_dir: str | Path, vocab_size: int = QWEN_VOCAB) -> dict[str, Any]:
    """Parameter counts per part and the image-token arithmetic of a preset or a checkpoint folder.

    ``vocab_size`` applies to presets only (a checkpoint carries its own).
    """
    model, source = _meta_model(preset_or_dir, vocab_size)
    counts = dict.fromkeys([name for name, _ in PARTS], 0)
    for name, param in model.named_parameters():  # shared (tied) parameters are listed once
        name = name.removeprefix("model.")
        part = next(part for part, prefix in PARTS if name.startswith(prefix))
        counts[part] += param.numel()
    counts["total"] = sum(counts.values())

    vision = model.config.vision_config
    image_size, patch = int(vision.image_size), int(vision.patch_size)
    grid = image_size // patch
    conv1 = (grid + 1) // 2
    conv2 = (conv1 + 1) // 2
    text = model.config.text_config
    tokens = {
        "image_size": image_size,
        "patch_size": patch,
        "patch_grid": grid,
        "window_size": int(vision.window_size),
        "global_attn_indexes": list(vision.global_attn_indexes),
        "encoder_layers": int(vision.num_hidden_layers),
        "after_conv1": conv1,
        "after_conv2": conv2,
        "image_tokens": conv2 * conv2,
        "image_seq_length": int(model.config.image_seq_length),
    }
    return {
        "source": source,
        "decoder": f"{text.model_type} ({text.num_hidden_layers} layers, width {text.hidden_size}, "
        f"vocab {text.vocab_size})",
        "parameters": counts,
        "image_tokens": tokens,
    }


def format_info(info: dict[str, Any]) -> str:
    """A plain-text table of ``model_info``'s result."""
    counts = info["parameters"]
    t = info["image_tokens"]
    lines = [
        f"{info['source']}: decoder {info['decoder']}",
        "",
        f"{'part':<16}{'parameters':>16}{'share':>9}",
    ]
    for part, n in counts.items():
        share = n / counts["total"] if counts["total"] else 0.0
        lines.append(f"{part:<16}{n:>16,}{share:>9.1%}")
    lines += [
        "",
        (
            f"image {t['image_size']} px / patch {t['patch_size']} = {t['patch_grid']}x{t['patch_grid']} grid "
            f"({t['encoder_layers']} ViTDet layers, {t['window_size']}x{t['window_size']} windows, "
            f"global at {t['global_attn_indexes'] or 'none'})"
        ),
        (
            f"-> conv 3x3 stride 2 -> {t['after_conv1']}x{t['after_conv1']} -> conv 3x3 stride 2 -> "
            f"{t['after_conv2']}x{t['after_conv2']} = {t['image_tokens']} image tokens per image "
            f"(image_seq_length {t['image_seq_length']}; x pages, or x crops + thumbnail)"
        ),
    ]
    if t["image_tokens"] != t["image_seq_length"]:
        lines.append("WARNING: image_seq_length differs from the encoder's token count")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``gotforge model-info PRESET_OR_DIR [--vocab-size N | --tokenizer DIR] [--json]``."""
    parser = argparse.ArgumentParser(prog="gotforge model-info", description=__doc__.splitlines()[0])
    parser.add_argument(
        "model", help="preset name (got-base, got-tiny, ...), preset YAML, or checkpoint folder"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--vocab-size", type=int, default=None, help=f"for a preset (default {QWEN_VOCAB})")
    group.add_argument(
        "--tokenizer", type=Path, default=None, help="take the vocabulary size from this tokenizer"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    vocab = args.vocab_size or QWEN_VOCAB
    if args.tokenizer is not None:
        from transformers import AutoTokenizer

        vocab = len(AutoTokenizer.from_pretrained(args.tokenizer))
    info = model_info(args.model, vocab)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
