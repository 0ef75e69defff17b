"""GOT's stage-1 model: the GOT vision tower and projector composed with any causal-LM decoder.

GOT paper section 3.2.1 pre-trains the vision encoder with a small decoder (OPT-125M) before stage 2
joins it to Qwen. transformers' ``GotOcr2ForConditionalGeneration`` only holds Qwen2-style decoders, so
this module composes its parts by hand (composition, not a subclass):

    pixel_values (images, 3, S, S)
      -> vision_tower   GotOcr2VisionEncoder: patches, ViTDet with window attention, neck  (images, C, g, g)
      -> multi_modal_projector: conv 3x3/2 (C -> 2C), conv 3x3/2 (2C -> P), flatten, linear (P -> D)
                                                                                       (images, tokens, D)
      -> written into the <imgpad> positions of the decoder's input embeddings       (batch, seq, D)
      -> language_model  any AutoModelForCausalLM (OPT, GPT-2, Qwen2, ...)

P (``projector_channels``) is the width of the *stage-2* decoder, so that stage 2 keeps both convs and
initialises only the linear layer (GOT: 1024 channels; 1024 -> 768 for OPT-125M, 1024 -> 1024 for Qwen).
The parameter names ``vision_tower.*`` and ``multi_modal_projector.*`` match
``GotOcr2Model``'s, which is what lets ``build.init_encoder_from`` copy them across.

A saved stage-1 folder holds ``stage1_config.json``, ``encoder.safetensors`` (vision tower and
projector), ``decoder/`` (the decoder in Hugging Face format) and the tokenizer and processor.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModelForCausalLM, GotOcr2VisionConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.got_ocr2.modeling_got_ocr2 import GotOcr2MultiModalProjector, GotOcr2VisionEncoder

CONFIG_NAME = "stage1_config.json"
ENCODER_NAME = "encoder.safetensors"
DECODER_DIR = "decoder"


def make_projector(
    vision_channels: int, projector_channels: int, decoder_width: int
) -> GotOcr2MultiModalProjector:
    """transformers' GOT projector with its convs ending at ``projector_channels`` and the linear layer
    mapping those to ``decoder_width`` (identical to GotOcr2's when the two are equal)."""
    shape = SimpleNamespace(
        vision_config=SimpleNamespace(output_channels=vision_channels),
        text_config=SimpleNamespace(hidden_size=projector_channels),
    )
    projector = GotOcr2MultiModalProjector(shape)
    projector.multimodal_projector = nn.Linear(projector_channels, decoder_width)
    return projector


class Stage1Model(nn.Module):
    """GOT vision tower + projector + any causal-LM decoder, fed like GotOcr2ForConditionalGeneration."""

    def __init__(
        self,
        vision_config: GotOcr2VisionConfig,
        decoder: PreTrainedModel,
        projector_channels: int,
        image_token_index: int,
        image_seq_length: int,
    ) -> None:
        super().__init__()
        self.vision_tower = GotOcr2VisionEncoder(vision_config)
        decoder_width = decoder.get_input_embeddings().embedding_dim
        self.multi_modal_projector = make_projector(
            vision_config.output_channels, projector_channels, decoder_width
        )
        self.language_model = decoder
        self.projector_channels = projector_channels
        self.image_token_index = image_token_index
        self.image_seq_length = image_seq_length

    @property
    def config(self) -> SimpleNamespace:
        """The fields a trainer reads off a GOT model's config."""
        return SimpleNamespace(
            image_token_index=self.image_token_index,
            image_seq_length=self.image_seq_length,
            vision_config=self.vision_tower.config,
            text_config=self.language_model.config,
        )

    @property
    def generation_config(self) -> Any:
        return self.language_model.generation_config

    def image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(images, 3, S, S) -> (images, tokens, decoder width)."""
        vision = self.vision_tower(pixel_values).last_hidden_state  # (images, C, g, g)
        return self.multi_modal_projector(vision)  # (images, tokens, D)

    def embed(self, input_ids: torch.Tensor, pixel_values: torch.Tensor | None) -> torch.Tensor:
        """Token embeddings with the image features written into the <imgpad> positions."""
        embeds = self.language_model.get_input_embeddings()(input_ids)  # (batch, seq, D)
        if pixel_values is None:
            return embeds
        features = self.image_features(pixel_values.to(embeds.dtype))  # (images, tokens, D)
        mask = input_ids == self.image_token_index  # (batch, seq)
        if int(mask.sum()) != features.shape[0] * features.shape[1]:
            raise ValueError(
                f"{int(mask.sum())} <imgpad> tokens in the batch but {features.shape[0]} images x "
                f"{features.shape[1]} tokens of image features"
            )
        return embeds.masked_scatter(mask[..., None], features.to(embeds.dtype))

    def forward(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> CausalLMOutputWithPast:
        embeds = self.embed(input_ids, pixel_values)
        return self.language_model(
            inputs_embeds=embeds, attention_mask=attention_mask, labels=labels, **kwargs
        )

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Decode from the prompt; returns prompt + new tokens (batch, seq + new), as GotOcr2 does."""
        embeds = self.embed(input_ids, pixel_values)
        new = self.language_model.generate(inputs_embeds=embeds, attention_mask=attention_mask, **kwargs)
        return torch.cat([input_ids, new.to(input_ids.device)], dim=1)

    # --- checkpoints -------------------------------------------------------------------------------

    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The vision tower and projector weights, under GotOcr2Model's names."""
        return {
            k: v.detach().contiguous()
            for k, v in self.state_dict().items()
            if k.startswith(("vision_tower.", "multi_modal_projector."))
        }

    def save_pretrained(self, out_dir: str | Path, extra: dict[str, Any] | None = None) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_file(self.encoder_state_dict(), str(out / ENCODER_NAME), metadata={"format": "pt"})
        self.language_model.save_pretrained(out / DECODER_DIR)
        config = {
            "vision_config": self.vision_tower.config.to_dict(),
            "projector_channels": self.projector_channels,
            "image_token_index": self.image_token_index,
            "image_seq_length": self.image_seq_length,
            **(extra or {}),
        }
        (out / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def from_pretrained(cls, ckpt_dir: str | Path) -> Stage1Model:
        path = Path(ckpt_dir)
        config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
        decoder = AutoModelForCausalLM.from_pretrained(path / DECODER_DIR)
        vision_config = GotOcr2VisionConfig(
            **{
                k: v
                for k, v in config["vision_config"].items()
                if k not in ("model_type", "transformers_version")
            }
        )
        model = cls(
            vision_config,
            decoder,
            config["projector_channels"],
            config["image_token_index"],
            config["image_seq_length"],
        )
        missing, unexpected = model.load_state_dict(load_file(str(path / ENCODER_NAME)), strict=False)
        missing = [k for k in missing if not k.startswith("language_model.")]
        if missing or unexpected:
            raise ValueError(f"{path / ENCODER_NAME}: missing keys {missing}, unexpected keys {unexpected}")
        return model


def is_stage1_checkpoint(path: str | Path) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()
