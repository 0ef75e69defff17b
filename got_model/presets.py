"""Model presets: GOT's shape as data (``configs/models/*.yaml``), validated, unknown keys rejected.

A preset names the vision tower (transformers' ``GotOcr2VisionConfig``: SAM/ViTDet with window
attention and its neck), the decoder (any ``transformers`` causal-LM config, by ``model_type``), the
input size, the image-token count, the projector width, the initialisation recipe of a fresh model
and the image normalisation written into the saved processor. GOT paper section 3.1 (architecture):
a 1024x1024 image -> 16x16-pixel patches (64x64 grid) -> ViTDet -> two stride-2 convs -> 16x16 = 256
image tokens -> linear projector -> decoder.

``load_preset("got-tiny")`` reads a built-in file from ``configs/models/``; any other argument is a
path to a user YAML file of the same schema.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from transformers import AutoConfig, GotOcr2VisionConfig, PretrainedConfig

PRESET_DIR = Path(__file__).resolve().parent.parent / "configs" / "models"

# Decoders that transformers' GotOcr2ForConditionalGeneration can hold (its weight tying expects
# `language_model.embed_tokens`); any other causal LM goes into the stage-1 composite (stage1.py).
GOT_NATIVE_DECODERS = frozenset({"qwen2"})

# Keys the builder fills from the tokenizer; a preset may not set them.
_TOKEN_KEYS = ("vocab_size", "pad_token_id", "bos_token_id", "eos_token_id")


class InitRecipe(BaseModel):
    """How a fresh model is initialised (:mod:`got_model.init`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    init_range: float = Field(0.02, gt=0, description="std of linear and embedding weights")
    conv_init: Literal["fan_in", "default"] = Field(
        "fan_in", description="fan_in: conv weights ~ N(0, 1/fan_in); default: as transformers inits them"
    )
    pos_embed: Literal["sincos", "zero"] = Field(
        "sincos", description="absolute position embedding: scaled 2-D sin/cos, or zeros (SAM's init)"
    )
    pos_embed_scale: float = Field(0.1, ge=0)


class Normalization(BaseModel):
    """Pixel normalisation, saved in the processor config: x -> (x / 255 - mean) / std.

    mean 1, std -1 inverts the image (ink 1, background 0), which plain transformers then reproduces.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP, as GOT
    image_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)

    @field_validator("image_std")
    @classmethod
    def _nonzero(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(s == 0 for s in v):
            raise ValueError(f"image_std entries must be non-zero, found {v}")
        return v


class Preset(BaseModel):
    """One model preset (a YAML file in configs/models/)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    image_size: int = Field(gt=0, description="square input side in pixels")
    image_seq_length: int = Field(gt=0, description="image tokens per image (per page, per crop)")
    vision: dict[str, Any] = Field(description="GotOcr2VisionConfig keys (image_size is taken from above)")
    text: dict[str, Any] = Field(description="decoder config: model_type plus that config's keys")
    projector_channels: int | None = Field(
        None,
        description="output channels of the second stride-2 conv; default the decoder width. A stage-1 "
        "preset sets the width of the stage-2 decoder so the convs carry over (GOT: 1024).",
    )
    init: InitRecipe = InitRecipe()
    normalization: Normalization = Normalization()

    @model_validator(mode="after")
    def _check(self) -> Preset:
        vision_fields = {f.name for f in dataclasses.fields(GotOcr2VisionConfig)}
        unknown = sorted(set(self.vision) - vision_fields)
        if unknown:
            raise ValueError(
                f"preset {self.name!r}: unknown vision keys {unknown}; known: {sorted(vision_fields)}"
            )
        if "image_size" in self.vision:
            raise ValueError(f"preset {self.name!r}: set image_size at the top level, not under vision")
        if "model_type" not in self.text:
            raise ValueError(f"preset {self.name!r}: text needs a model_type (qwen2, opt, ...)")
        config_class = type(AutoConfig.for_model(self.text["model_type"]))
        text_fields = (
            {f.name for f in dataclasses.fields(config_class)}
            if dataclasses.is_dataclass(config_class)
            else set(config_class().to_dict())
        )
        unknown = sorted(set(self.text) - text_fields - {"model_type"})
        if unknown:
            raise ValueError(
                f"preset {self.name!r}: unknown {self.text['model_type']} keys {unknown}; known: {sorted(text_fields)}"
            )
        taken = sorted(set(self.text) & set(_TOKEN_KEYS))
        if taken:
            raise ValueError(f"preset {self.name!r}: {taken} come from the tokenizer; remove them from text")
        vision = self.vision_config()
        grid = self.image_size // vision.patch_size
        if self.image_size % vision.patch_size:
            raise ValueError(
                f"preset {self.name!r}: image_size {self.image_size} is not a multiple of "
                f"patch_size {vision.patch_size}"
            )
        tokens = image_tokens(self.image_size, vision.patch_size)
        if tokens != self.image_seq_length:
            raise ValueError(
                f"preset {self.name!r}: image_seq_length is {self.image_seq_length} but {self.image_size} px / "
                f"patch {vision.patch_size} = {grid}x{grid} grid -> two stride-2 convs -> {tokens} tokens"
            )
        bad = [i for i in vision.global_attn_indexes if i >= vision.num_hidden_layers]
        if bad:
            raise ValueError(
                f"preset {self.name!r}: global_attn_indexes {bad} >= num_hidden_layers "
                f"{vision.num_hidden_layers}"
            )
        return self

    @property
    def decoder_type(self) -> str:
        return str(self.text["model_type"])

    @property
    def got_native(self) -> bool:
        """True when the decoder fits transformers' GotOcr2ForConditionalGeneration (stages 2 and 3)."""
        return self.decoder_type in GOT_NATIVE_DECODERS and self.projector_channels in (
            None,
            self.text.get("hidden_size"),
        )

    def vision_config(self) -> GotOcr2VisionConfig:
        return GotOcr2VisionConfig(**{**self.vision, "image_size": self.image_size})

    def text_config(self, vocab_size: int, special: dict[str, int] | None = None) -> PretrainedConfig:
        """The decoder config with the tokenizer's vocabulary size and special ids filled in."""
        kwargs = {k: v for k, v in self.text.items() if k != "model_type"}
        kwargs["vocab_size"] = vocab_size
        kwargs.update(special or {})
        return AutoConfig.for_model(self.decoder_type, **kwargs)


def image_tokens(image_size: int, patch_size: int) -> int:
    """Image tokens per image: patch grid, then two stride-2 convs (kernel 3, padding 1)."""
    grid = image_size // patch_size
    for _ in range(2):
        grid = (grid + 1) // 2  # conv output size: floor((n + 2*1 - 3) / 2) + 1
    return grid * grid


def known_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name_or_path: str | Path) -> Preset:
    """A built-in preset by name (``got-base``, ``got-tiny``, ...) or a user YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = PRESET_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"no model preset {str(name_or_path)!r}: expected one of {known_presets()} or a YAML file path"
        )
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: a preset is a YAML mapping, found {type(data).__name__}")
    data.setdefault("name", path.stem)
    try:
        return Preset.model_validate(data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
