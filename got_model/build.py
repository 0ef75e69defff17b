"""Build the model and processor a training run starts from: a fresh preset, a stage-1 checkpoint's
encoder, or a local GOT checkpoint in Hugging Face format.

- Fresh: ``build_model(preset, tokenizer)`` makes transformers' ``GotOcr2ForConditionalGeneration``
  (Qwen2 decoder; stages 2 and 3) or the stage-1 composite (``stage1.Stage1Model``, any decoder), with
  the vocabulary and special ids taken from the tokenizer and the preset's init recipe (init.py).
- Stage 2 from stage 1 (GOT paper section 3.2.2): ``init_encoder_from(model, STAGE1_DIR)`` copies the
  vision tower and both stride-2 convs bit for bit and leaves the new linear projector freshly
  initialised.
- From a checkpoint: ``load_checkpoint(DIR)`` reads a folder that ``GotOcr2ForConditionalGeneration``
  / ``GotOcr2Processor.from_pretrained`` load (e.g. a downloaded GOT-OCR-2.0-hf), or a stage-1 folder.
- ``create(...)`` is the one call a trainer makes: a preset name/path or a checkpoint folder in, a
  ``Built`` (model, processor, image_seq_length) out.

The processor is transformers' own ``GotOcr2Processor`` with the PIL image processor
(``GotOcr2ImageProcessorPil``: resize to the preset's size, rescale, normalise with the preset's
mean/std), so a saved checkpoint preprocesses the same under plain transformers. The PIL one is named
explicitly, for new and loaded checkpoints alike, because torchvision is no dependency: the pixels then
never depend on whether it happens to be installed. One thing transformers does not save: its
processor always expands an image to 256 ``<imgpad>`` unless called with
``num_image_tokens=model.config.image_seq_length``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GotOcr2Config,
    GotOcr2ForConditionalGeneration,
    GotOcr2ImageProcessorPil,
    GotOcr2Processor,
    PreTrainedTokenizerBase,
)

from .init import apply_init
from .presets import Preset, load_preset
from .prompts import IM_END, IMG_PAD
from .stage1 import ENCODER_NAME, Stage1Model, is_stage1_checkpoint
from .tokenizer import EOS, check_special_tokens

Model = GotOcr2ForConditionalGeneration | Stage1Model

# Parameters that stage 2 carries over from a stage-1 (or any GOT) checkpoint: everything up to the
# second stride-2 conv. The projector's linear layer is new.
ENCODER_PREFIXES = (
    "vision_tower.",
    "multi_modal_projector.conv_upsampler1.",
    "multi_modal_projector.conv_upsampler2.",
)


@dataclass
class Built:
    model: Model
    processor: GotOcr2Processor
    image_seq_length: int


def special_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int | None]:
    """Decoder config ids: pad = <|endoftext|>, eos = <|im_end|> (GOT's answers end there), no bos."""
    ids = check_special_tokens(tokenizer)
    return {"pad_token_id": ids[EOS], "eos_token_id": ids[IM_END], "bos_token_id": None}


def build_processor(preset: Preset, tokenizer: PreTrainedTokenizerBase) -> GotOcr2Processor:
    """GotOcr2Processor resizing to the preset's input size with the preset's normalisation."""
    image_processor = GotOcr2ImageProcessorPil(
        size={"height": preset.image_size, "width": preset.image_size},
        image_mean=list(preset.normalization.image_mean),
        image_std=list(preset.normalization.image_std),
        do_convert_rgb=True,
    )
    return GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer)


def build_got_config(preset: Preset, tokenizer: PreTrainedTokenizerBase) -> GotOcr2Config:
    if not preset.got_native:
        raise ValueError(
            f"preset {preset.name!r} has a {preset.decoder_type} decoder (projector_channels "
            f"{preset.projector_channels}); GotOcr2ForConditionalGeneration takes a qwen2 decoder whose width is "
            "the projector's: build it as a stage-1 model"
        )
    ids = special_ids(tokenizer)
    text = preset.text_config(len(tokenizer), ids)
    return GotOcr2Config(
        vision_config=preset.vision_config().to_dict(),
        text_config=text.to_dict(),
        image_token_index=tokenizer.convert_tokens_to_ids(IMG_PAD),
        image_seq_length=preset.image_seq_length,
        tie_word_embeddings=bool(text.tie_word_embeddings),
        pad_token_id=ids["pad_token_id"],
    )


def _set_generation_ids(model: Model, tokenizer: PreTrainedTokenizerBase) -> None:
    ids = check_special_tokens(tokenizer)
    gen = model.generation_config
    gen.eos_token_id = [ids[IM_END], ids[EOS]]
    gen.pad_token_id = ids[EOS]
    gen.bos_token_id = None


def build_model(preset: Preset, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> Model:
    """A freshly initialised model for ``preset`` (GotOcr2 for a Qwen2 decoder, else the stage-1 composite)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if preset.got_native:
            model: Model = GotOcr2ForConditionalGeneration(build_got_config(preset, tokenizer))
        else:
            text = preset.text_config(len(tokenizer), special_ids(tokenizer))
            decoder = AutoModelForCausalLM.from_config(text)
            model = Stage1Model(
                preset.vision_config(),
                decoder,
                projector_channels=preset.projector_channels or text.hidden_size,
                image_token_index=tokenizer.convert_tokens_to_ids(IMG_PAD),
                image_seq_length=preset.image_seq_length,
            )
        apply_init(model, preset.init)
    finally:
        torch.random.set_rng_state(generator_state)
    _set_generation_ids(model, tokenizer)
    return model


def _checkpoint_tensors(ckpt_dir: Path) -> dict[str, torch.Tensor]:
    """All tensors of a stage-1 folder (encoder.safetensors) or a HF GOT folder (*.safetensors)."""
    files = (
        [ckpt_dir / ENCODER_NAME]
        if is_stage1_checkpoint(ckpt_dir)
        else sorted(ckpt_dir.glob("*.safetensors"))
    )
    if not files:
        raise FileNotFoundError(f"{ckpt_dir}: no {ENCODER_NAME} or *.safetensors to take an encoder from")
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        for key, value in load_file(str(file)).items():
            key = key.removeprefix("model.")  # GotOcr2ForConditionalGeneration nests GotOcr2Model as `model`
            tensors[key] = value
    return tensors


def _processor_normalization(ckpt_dir: Path) -> tuple[list[float], list[float]] | None:
    for name in ("processor_config.json", "preprocessor_config.json"):
        path = ckpt_dir / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            data = data.get("image_processor", data)
            if "image_mean" in data:
                return list(data["image_mean"]), list(data["image_std"])
    return None


@torch.no_grad()
def init_encoder_from(
    model: Model, ckpt_dir: str | Path, processor: GotOcr2Processor | None = None
) -> list[str]:
    """Copy the vision tower and both stride-2 convs from a stage-1 (or GOT) checkpoint into ``model``.

    The copy is exact (same dtype, same bits). The projector's linear layer and the decoder keep their
    fresh initialisation. Returns the names copied. Raises when a shape differs, when the checkpoint lacks
    an encoder weight, or when its saved normalisation differs from ``processor``'s.
    """
    path = Path(ckpt_dir)
    source = _checkpoint_tensors(path)
    target = {k: v for k, v in _model_params(model).items() if k.startswith(ENCODER_PREFIXES)}
    missing = sorted(set(target) - set(source))
    if missing:
        raise KeyError(
            f"{path}: checkpoint lacks encoder weights {missing[:5]}{' ...' if len(missing) > 5 else ''}"
        )
    mismatched = [
        f"{k}: {tuple(source[k].shape)} vs {tuple(v.shape)}"
        for k, v in target.items()
        if source[k].shape != v.shape
    ]
    if mismatched:
        raise ValueError(
            f"{path}: encoder shapes differ from the model's (checkpoint vs model): {mismatched[:4]}; a stage-1 "
            "preset must share the vision config and set projector_channels to the stage-2 decoder width"
        )
    if processor is not None:
        saved = _processor_normalization(path)
        ours = (list(processor.image_processor.image_mean), list(processor.image_processor.image_std))
        if saved is not None and [list(map(float, s)) for s in saved] != [list(map(float, o)) for o in ours]:
            raise ValueError(
                f"{path}: the encoder was trained with image_mean/std {saved}, this run uses {ours}"
            )
    for key, param in target.items():
        param.copy_(source[key].to(param.dtype))
    return sorted(target)


def _model_params(model: Model) -> dict[str, torch.Tensor]:
    """Parameters under GotOcr2Model's names (``vision_tower.*``, ``multi_modal_projector.*``)."""
    if isinstance(model, GotOcr2ForConditionalGeneration):
        return {k.removeprefix("model."): v for k, v in model.state_dict(keep_vars=True).items()}
    return dict(model.state_dict(keep_vars=True))


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    check_special_tokens(tokenizer)
    return tokenizer


def _load_processor(path: Path, tokenizer: str | Path | PreTrainedTokenizerBase | None) -> GotOcr2Processor:
    """The checkpoint's processor; its tokenizer when it has one, else ``tokenizer``."""
    image_processor = GotOcr2ImageProcessorPil.from_pretrained(str(path))
    if any((path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json")):
        return GotOcr2Processor.from_pretrained(str(path), image_processor=image_processor)
    if tokenizer is None:
        raise FileNotFoundError(f"{path} has no tokenizer; name one (e.g. from `gotforge tokenizer`)")
    tok = load_tokenizer(tokenizer) if isinstance(tokenizer, (str, Path)) else tokenizer
    return GotOcr2Processor(image_processor=image_processor, tokenizer=tok)


def load_checkpoint(
    ckpt_dir: str | Path, tokenizer: str | Path | PreTrainedTokenizerBase | None = None
) -> Built:
    """A stage-1 folder or a Hugging Face GOT folder (config.json + weights + processor [+ tokenizer]).

    The checkpoint's own tokenizer wins; ``tokenizer`` is used only when the folder has none.
    """
    path = Path(ckpt_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint folder {path}")
    processor = _load_processor(path, tokenizer)
    if is_stage1_checkpoint(path):
        model: Model = Stage1Model.from_pretrained(path)
    else:
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{path}: neither a stage-1 folder nor a Hugging Face folder with config.json"
            )
        model = GotOcr2ForConditionalGeneration.from_pretrained(str(path))
    image_token = processor.tokenizer.convert_tokens_to_ids(IMG_PAD)
    if image_token != model.config.image_token_index:
        raise ValueError(
            f"{path}: the tokenizer's <imgpad> is id {image_token}, the model's image_token_index "
            f"{model.config.image_token_index}"
        )
    return Built(model, processor, int(model.config.image_seq_length))


def create(
    model: str | Path,
    tokenizer: str | Path | PreTrainedTokenizerBase | None = None,
    init_encoder: str | Path | None = None,
    seed: int = 0,
) -> Built:
    """What a training run starts from.

    ``model`` is a checkpoint folder (its own processor, and its own tokenizer when it has one) or a
    preset name/path (then ``tokenizer`` is required: a folder, e.g. from ``gotforge tokenizer``, or a tokenizer object).
    ``init_encoder`` (the training config's ``init_encoder_from``) takes the encoder from a stage-1
    checkpoint.
    """
    path = Path(model)
    if path.is_dir():
        built = load_checkpoint(path, tokenizer)
    else:
        preset = load_preset(model)
        if tokenizer is None:
            raise ValueError(
                f"preset {preset.name!r} needs a tokenizer folder (train one with `gotforge tokenizer`)"
            )
        tok = load_tokenizer(tokenizer) if isinstance(tokenizer, (str, Path)) else tokenizer
        built = Built(build_model(preset, tok, seed), build_processor(preset, tok), preset.image_seq_length)
    if init_encoder is not None:
        init_encoder_from(built.model, init_encoder, built.processor)
    return built


def save_checkpoint(built: Built, out_dir: str | Path) -> None:
    """Model + processor (with its tokenizer) in one folder that plain transformers loads."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    built.model.save_pretrained(out)
    built.processor.save_pretrained(out)
