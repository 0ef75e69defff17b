"""The renderer contract (ARCHITECTURE.md), checked over every registered renderer, built-in or
third-party (timm-style: a new renderer is covered with no new test file)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from got_model.prompts import FAMILY_QUERIES, query_for
from pipelines.render.checks import check_sample
from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.seeding import sample_rng, sample_seed
from pipelines.render.stored_meta import shard_meta
from pipelines.render.worker import build_renderer
from pipelines.render.writer import encode_sample
from renderers import registry
from renderers.base import META_KEYS, Reject, Sample, check_meta_key
from renderers.tasks import COLORS, TASKS

NAMES = registry.names()


def fresh(name: str):
    return build_renderer(RunConfig(renderers=(RendererJob(name=name, samples=1),)), name)


def first_valid(renderer, start: int = 0, tries: int = 25) -> tuple[int, Sample]:
    """The first seed from ``start`` whose sample passes validation (renderers may reject some)."""
    for i in range(start, start + tries):
        seed = sample_seed(0, renderer.name, 0, i, 0)
        try:
            sample = renderer.render(sample_rng(seed))
            check_sample(sample)
            renderer.validate(sample)
            return seed, sample
        except Reject:
            continue
    raise AssertionError(f"{renderer.name}: no valid sample in {tries} seeds")


def as_bytes(sample: Sample) -> list[bytes]:
    if sample.png is not None:
        return list(sample.png)
    out = []
    for image in sample.images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def test_registry_has_the_builtins_and_the_plugin():
    assert {"molecule", "chart-matplotlib", "text-page", "digits"} <= set(NAMES)


def test_every_task_and_colour_of_the_contract_has_gots_query():
    assert set(TASKS) == set(FAMILY_QUERIES)
    for color in COLORS:
        assert query_for("ocr", color=color) == f"[{color}] OCR: "


@pytest.mark.parametrize("name", NAMES)
def test_declares_the_contract(name):
    cls = registry.load(name)
    assert registry.NAME_PATTERN.match(cls.name) and cls.name == name
    assert cls.task in TASKS
    assert isinstance(cls.markup, str) and cls.markup
    assert isinstance(cls.version, str) and cls.version
    cls.Options()  # every option has a default


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes(name):
    seed, sample = first_valid(fresh(name))
    again = fresh(name).render(sample_rng(seed))
    assert as_bytes(again) == as_bytes(sample)
    assert again.target == sample.target
    assert again.meta == sample.meta


@pytest.mark.parametrize("name", NAMES)
def test_used_instance_equals_fresh_instance(name):
    used = fresh(name)
    for i in range(3):
        try:
            used.render(sample_rng(sample_seed(1, name, 0, i, 0)))
        except Reject:
            pass
    seed, from_used = first_valid(used, start=50)
    from_fresh = fresh(name).render(sample_rng(seed))
    assert as_bytes(from_used) == as_bytes(from_fresh)
    assert (from_used.target, from_used.meta) == (from_fresh.target, from_fresh.meta)


@pytest.mark.parametrize("name", NAMES)
def test_shard_members_decode_to_exactly_the_images(name):
    """What the shard stores (the renderer's own PNG, or the engine's encoding) is the image."""
    _, sample = first_valid(fresh(name), start=150)
    members = encode_sample("k", sample, {"lang": "en"}, compress_level=1)
    pngs = [data for member, data in members.items() if member.endswith(".png")]
    assert len(pngs) == len(sample.images)
    for data, image in zip(pngs, sample.images):
        decoded = Image.open(io.BytesIO(data))
        assert decoded.size == image.size and decoded.mode == image.mode
        assert np.array_equal(np.asarray(decoded), np.asarray(image))


@pytest.mark.parametrize("name", NAMES)
def test_meta_is_json_and_records_language(name):
    _, sample = first_valid(fresh(name), start=100)
    decoded = json.loads(json.dumps(sample.meta, ensure_ascii=False))
    assert decoded == sample.meta
    assert re.fullmatch(r"[a-z]{2,3}|mix", decoded["lang"]), decoded["lang"]


@pytest.mark.parametrize("name", NAMES)
def test_stored_meta_keeps_the_contract_keys_on_top_and_the_rest_under_the_name(name):
    renderer = fresh(name)
    seed, sample = first_valid(renderer, start=100)
    stored = json.loads(json.dumps(shard_meta(renderer, sample, seed, 0), ensure_ascii=False))
    own = stored.pop(name, {})
    assert set(stored) <= set(META_KEYS), set(stored) - set(META_KEYS)
    for key, value in stored.items():
        check_meta_key(key, value)  # the declared type and range, after a JSON round trip
    assert {k: v for k, v in sample.meta.items() if k not in META_KEYS} == own
    assert stored["prompt"] and stored["renderer"] == name and stored["seed"] == seed


def test_a_contract_key_of_the_wrong_type_is_refused():
    renderer = fresh("digits")
    seed, sample = first_valid(renderer)
    sample.meta["box"] = "10 20 30 40"
    with pytest.raises(TypeError, match="box"):
        shard_meta(renderer, sample, seed, 0)
    sample.meta["box"] = [10, 20, 30, 4000]
    with pytest.raises(ValueError, match="0-1000"):
        shard_meta(renderer, sample, seed, 0)


@pytest.mark.parametrize("name", NAMES)
def test_render_batch_equals_render_one_by_one(name):
    """Batching changes speed, never bytes: result i is what render(rngs[i]) gives."""
    renderer = fresh(name)
    seeds = [sample_seed(2, name, 0, i, 0) for i in range(max(3, min(renderer.batch_size + 1, 6)))]
    batch = renderer.render_batch([sample_rng(s) for s in seeds])
    assert len(batch) == len(seeds)
    single = fresh(name)
    for seed, result in zip(seeds, batch):
        try:
            alone = single.render(sample_rng(seed))
        except Reject as reject:
            assert isinstance(result, Reject) and result.reason == reject.reason
            continue
        assert not isinstance(result, Reject), f"seed {seed}: batch rejected ({result}), render did not"
        assert (as_bytes(result), result.target, result.meta) == (as_bytes(alone), alone.target, alone.meta)


@pytest.mark.parametrize("name", NAMES)
def test_close_frees_the_back_end_and_a_closed_renderer_starts_afresh(name):
    """close() may be called twice, and a renderer used after it draws the same samples: the
    engine restarts a renderer that ran past its time limit this way."""
    renderer = fresh(name)
    seed, sample = first_valid(renderer)
    renderer.close()
    renderer.close()
    again = renderer.render(sample_rng(seed))
    assert (as_bytes(again), again.target) == (as_bytes(sample), sample.target)
    renderer.close()


@pytest.mark.parametrize("name", NAMES)
def test_labels_pass_validation_and_distinct_seeds_differ(name):
    renderer = fresh(name)
    _, a = first_valid(renderer, start=200)
    _, b = first_valid(renderer, start=300)
    assert a.target.strip() and b.target.strip()
    assert (a.target, as_bytes(a)) != (b.target, as_bytes(b)), "different seeds gave the same sample"
