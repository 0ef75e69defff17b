"""GOT model side: presets, fresh builds with the init recipe, stage 1 -> 2 encoder transfer, HF checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image, ImageDraw
from transformers import (
    GotOcr2Config,
    GotOcr2ForConditionalGeneration,
    GotOcr2ImageProcessor,
    GotOcr2Processor,
)

from got_model.build import (
    ENCODER_PREFIXES,
    Built,
    build_processor,
    create,
    init_encoder_from,
    save_checkpoint,
)
from got_model.collator import GotCollator
from got_model.info import format_info, model_info
from got_model.info import main as info_main
from got_model.init import sincos_2d
from got_model.presets import known_presets, load_preset
from got_model.stage1 import Stage1Model
from got_model.tokenizer import train_tokenizer

TEXTS = [f"Total {i}: {i * 13} apples, café {i % 7}" for i in range(80)]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, vocab_size=400)


def _batch(built: Built, n: int = 2) -> dict:
    images = []
    for i in range(n):
        image = Image.new("RGB", (200, 120), "white")
        ImageDraw.Draw(image).text((8, 8), f"Total {i}", fill="black")
        images.append(image)
    collator = GotCollator(built.processor, built.image_seq_length, max_length=512)
    samples = [{"image": im, "target": f"Total {i}", "meta": {"task": "ocr"}} for i, im in enumerate(images)]
    batch = collator(samples)
    batch.pop("num_dropped")
    return batch


def _train_step(model: torch.nn.Module, batch: dict) -> float:
    model.train()
    out = model(**batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    return float(out.loss.detach())


# --- presets ------------------------------------------------------------------------------------------


def test_builtin_presets_load():
    assert {"got-base", "got-tiny", "opt-125m-stage1", "got-tiny-stage1"} <= set(known_presets())
    for name in known_presets():
        preset = load_preset(name)
        assert preset.image_seq_length in (16, 256)
    assert load_preset("got-base").got_native and not load_preset("opt-125m-stage1").got_native


def test_preset_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="got-tiny"):
        load_preset("no-such-preset")
    text = load_preset("got-tiny").model_dump_json()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('"image_seq_length":16', '"image_seq_length":64'))
    with pytest.raises(ValueError, match="4x4|16 tokens"):
        load_preset(bad)
    bad.write_text(text.replace('"mlp_dim":', '"mlp_dims":3,"mlp_dim":'))
    with pytest.raises(ValueError, match="mlp_dims"):
        load_preset(bad)
    bad.write_text(text.replace('"init":{', '"init":{"lr":1,'))
    with pytest.raises(ValueError, match="lr"):
        load_preset(bad)


def test_got_base_is_gots_shape(capsys):
    info = model_info("got-base")
    assert 550e6 < info["parameters"]["total"] < 570e6
    assert info["image_tokens"]["patch_grid"] == 64 and info["image_tokens"]["image_tokens"] == 256
    assert info["parameters"]["decoder"] > info["parameters"]["vision_encoder"] > 80e6
    assert "256 image tokens" in format_info(info)
    assert info_main(["got-tiny", "--vocab-size", "4096"]) == 0
    assert "16 image tokens" in capsys.readouterr().out


# --- fresh models -------------------------------------------------------------------------------------


def test_fresh_got_tiny_follows_the_init_recipe(tokenizer):
    built = create("got-tiny", tokenizer)
    model = built.model
    assert isinstance(model, GotOcr2ForConditionalGeneration)
    assert model.config.text_config.vocab_size == len(tokenizer)
    assert model.config.image_token_index == tokenizer.convert_tokens_to_ids("<imgpad>")
    assert model.lm_head.weight is model.model.language_model.embed_tokens.weight
    tower = model.model.vision_tower
    assert torch.allclose(tower.pos_embed[0], 0.1 * sincos_2d(16, 64))
    conv = model.model.multi_modal_projector.conv_upsampler2.weight  # (out, in, 3, 3)
    assert conv.std().item() == pytest.approx(1 / math.sqrt(conv.shape[1] * 9), rel=0.05)
    assert tower.layers[0].mlp.lin1.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert list(built.processor.image_processor.image_std) == [-1.0, -1.0, -1.0]
    same = create("got-tiny", tokenizer).model  # seeded: the same weights twice
    assert torch.equal(same.model.vision_tower.pos_embed, tower.pos_embed)
    assert torch.equal(same.lm_head.weight, model.lm_head.weight)


def test_got_tiny_forward_backward_reaches_the_image(tokenizer):
    built = create("got-tiny", tokenizer)
    _train_step(built.model, _batch(built))
    tower = built.model.model.vision_tower
    assert tower.patch_embed.projection.weight.grad.abs().sum() > 0
    assert tower.pos_embed.grad.abs().sum() > 0


def test_stage1_composite_forward_backward_generate(tokenizer):
    built = create("got-tiny-stage1", tokenizer)
    model = built.model
    assert isinstance(model, Stage1Model)
    assert model.language_model.config.model_type == "opt"
    batch = _batch(built)
    _train_step(model, batch)
    assert model.vision_tower.patch_embed.projection.weight.grad.abs().sum() > 0
    model.eval()
    prompt_len = int((batch["labels"][0] == -100).sum())
    out = model.generate(
        batch["input_ids"][:1, :prompt_len], batch["pixel_values"][:1], max_new_tokens=3, do_sample=False
    )
    assert out.shape[1] <= prompt_len + 3
    with pytest.raises(ValueError, match="imgpad"):
        model(input_ids=batch["input_ids"], pixel_values=batch["pixel_values"][:1])


# --- stage 1 -> stage 2 ---------------------------------------------------------------------------------


def test_stage2_takes_the_stage1_encoder_bit_for_bit(tokenizer, tmp_path):
    stage1 = create("got-tiny-stage1", tokenizer, seed=1)
    _train_step(stage1.model, _batch(stage1))
    with torch.no_grad():  # move the weights off their init, as training would
        for p in stage1.model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    save_checkpoint(stage1, tmp_path / "stage1")
    reloaded = Stage1Model.from_pretrained(tmp_path / "stage1")
    for (k, a), b in zip(stage1.model.state_dict().items(), reloaded.state_dict().values()):
        assert torch.equal(a, b), k

    stage2 = create("got-tiny", tokenizer, init_encoder=tmp_path / "stage1")
    fresh = create("got-tiny", tokenizer)
    src = stage1.model.state_dict()
    dst = {k.removeprefix("model."): v for k, v in stage2.model.state_dict().items()}
    copied = [k for k in dst if k.startswith(ENCODER_PREFIXES)]
    assert len(copied) == len([k for k in src if k.startswith(ENCODER_PREFIXES)]) > 20
    for k in copied:
        assert torch.equal(dst[k], src[k]), k
    # the new linear projector and the decoder are freshly initialised
    linear = "multi_modal_projector.multimodal_projector.weight"
    assert torch.equal(
        stage2.model.model.multi_modal_projector.multimodal_projector.weight,
        fresh.model.model.multi_modal_projector.multimodal_projector.weight,
    )
    assert dst[linear].shape != src[linear].shape  # 128 -> 128 (Qwen) vs 128 -> 96 (OPT)
    _train_step(stage2.model, _batch(stage2))


def test_encoder_transfer_refuses_a_different_normalisation(tokenizer, tmp_path):
    stage1 = create("got-tiny-stage1", tokenizer)
    save_checkpoint(stage1, tmp_path / "stage1")
    built = create("got-tiny", tokenizer)
    other = build_processor(load_preset("got-base"), tokenizer)
    with pytest.raises(ValueError, match="image_mean"):
        init_encoder_from(built.model, tmp_path / "stage1", other)


# --- Hugging Face format ----------------------------------------------------------------------------------


def test_stage2_checkpoint_loads_in_plain_transformers(tokenizer, tmp_path):
    built = create("got-tiny", tokenizer)
    _train_step(built.model, _batch(built))
    save_checkpoint(built, tmp_path / "ckpt")

    model, loading = GotOcr2ForConditionalGeneration.from_pretrained(
        tmp_path / "ckpt", output_loading_info=True
    )
    assert not loading["missing_keys"] and not loading["unexpected_keys"] and not loading["mismatched_keys"]
    processor = GotOcr2Processor.from_pretrained(tmp_path / "ckpt")
    image = Image.new("RGB", (200, 120), "white")
    inputs = processor(image, num_image_tokens=model.config.image_seq_length, return_tensors="pt")
    model.eval()
    built.model.eval()
    with torch.no_grad():
        assert torch.equal(model(**inputs).logits, built.model(**inputs).logits)
    out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] <= inputs["input_ids"].shape[1] + 4
    assert model.generation_config.eos_token_id[0] == tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_a_checkpoint_transformers_saved_is_a_starting_point(tokenizer, tmp_path):
    config = GotOcr2Config(  # built and saved by transformers alone, not by got_model
        vision_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "mlp_dim": 64,
            "image_size": 64,
            "patch_size": 8,
            "output_channels": 32,
            "window_size": 4,
            "global_attn_indexes": [1],
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
        },
        image_token_index=tokenizer.convert_tokens_to_ids("<imgpad>"),
        image_seq_length=4,
    )
    GotOcr2ForConditionalGeneration(config).save_pretrained(tmp_path / "hf")
    image_processor = GotOcr2ImageProcessor(size={"height": 64, "width": 64})
    GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(tmp_path / "hf")

    built = create(tmp_path / "hf")
    assert isinstance(built.model, GotOcr2ForConditionalGeneration) and built.image_seq_length == 4
    assert built.processor.tokenizer.convert_tokens_to_ids("<imgpad>") == config.image_token_index
    batch = _batch(built)
    assert batch["input_ids"].eq(config.image_token_index).sum() == 2 * 4
    _train_step(built.model, batch)
    assert model_info(tmp_path / "hf")["image_tokens"]["image_tokens"] == 4


def test_a_checkpoint_without_tokenizer_takes_the_named_one(tokenizer, tmp_path):
    built = create("got-tiny", tokenizer)
    built.model.save_pretrained(tmp_path / "ckpt")
    built.processor.image_processor.save_pretrained(tmp_path / "ckpt")
    with pytest.raises(FileNotFoundError, match="no tokenizer"):
        create(tmp_path / "ckpt")
    tokenizer.save_pretrained(tmp_path / "tok")
    again = create(tmp_path / "ckpt", tmp_path / "tok")
    assert again.processor.tokenizer.convert_tokens_to_ids("<imgpad>") == again.model.config.image_token_index
