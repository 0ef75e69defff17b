"""stitch: the poster's target is its parts' targets in order, each part is what its renderer draws
from the recorded seed, crops are set, and the same seed gives the same poster."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from got_model.prompts import MULTI_CROP
from pipelines.render.stored_meta import shard_meta
from renderers import registry
from renderers.base import Reject, Sample
from renderers.stitch import Options, StitchRenderer

TEXT_ONLY = {"renderers": {"text-page": 1.0}, "parts": (2, 4)}  # no browser: quick


@pytest.fixture(scope="module")
def text_page():
    cls = registry.load("text-page")
    renderer = cls(cls.Options())
    yield renderer
    renderer.close()


def test_target_is_the_parts_targets_in_reading_order_and_each_part_is_its_seed(text_page):
    stitch = StitchRenderer(Options(**TEXT_ONLY, max_pixels=64 * 1024 * 1024))
    for seed in range(3):
        sample = stitch.render(np.random.default_rng(seed))
        poster = np.asarray(sample.images[0])
        parts = sample.meta["parts"]
        assert [p["cell"] for p in parts] == sorted(p["cell"] for p in parts)  # row-major
        alone = [text_page.render(np.random.default_rng(p["seed"])) for p in parts]
        assert sample.target == "\n\n".join(part.target for part in alone)
        assert sample.meta["scale"] == 1.0
        for part, drawn in zip(parts, alone):
            x0, y0, x1, y1 = part["box_px"]
            assert np.array_equal(poster[y0:y1, x0:x1], np.asarray(drawn.images[0].convert("RGB")))
            assert part["text-page"]["font"] == drawn.meta["font"]
    stitch.close()


def test_crops_are_set_and_ask_for_gots_multi_crop_query():
    stitch = StitchRenderer(Options(**TEXT_ONLY))
    sample = stitch.render(np.random.default_rng(5))
    width, height = sample.images[0].size
    assert 1 <= sample.meta["crops"] <= 12
    assert sample.meta["crops"] == min(12, -(-width // 1024) * -(-height // 1024))
    stored = shard_meta(stitch, sample, seed=5, attempt=0)
    assert stored["task"] == "format" and stored["crops"] == sample.meta["crops"]
    assert stored["prompt"] == MULTI_CROP
    stitch.close()


def test_same_seed_same_poster_from_a_used_or_fresh_renderer():
    used = StitchRenderer(Options(**TEXT_ONLY))
    used.render(np.random.default_rng(1))
    a = used.render(np.random.default_rng(9))
    b = StitchRenderer(Options(**TEXT_ONLY)).render(np.random.default_rng(9))
    assert a.target == b.target and a.meta == b.meta
    assert np.array_equal(np.asarray(a.images[0]), np.asarray(b.images[0]))
    assert StitchRenderer(Options(**TEXT_ONLY)).render(np.random.default_rng(10)).target != a.target


def test_large_posters_are_scaled_to_max_pixels():
    stitch = StitchRenderer(Options(renderers={"text-page": 1.0}, parts=(6, 6), max_pixels=4 * 1024 * 1024,
                                    min_scale=0.1))
    sample = stitch.render(np.random.default_rng(0))
    width, height = sample.images[0].size
    assert sample.meta["scale"] < 1 and width * height <= 4 * 1024 * 1024
    with pytest.raises(Reject, match="poster-too-large"):
        StitchRenderer(Options(renderers={"text-page": 1.0}, parts=(6, 6), max_pixels=1024 * 1024,
                               min_scale=0.9)).render(np.random.default_rng(0))


class SometimesTwoPages:
    """A part renderer whose samples are two pages now and then."""

    name, version, task = "text-page", "0", "ocr"

    def __init__(self) -> None:
        self.closed = 0

    def render(self, rng: np.random.Generator) -> Sample:
        pages = 2 if rng.random() < 0.3 else 1
        shade = int(rng.integers(0, 200))
        images = [Image.new("L", (300, 400), shade) for _ in range(pages)]
        return Sample(images, f"page {shade}", {"lang": "en"})

    def render_batch(self, rngs):
        return [self.render(rng) for rng in rngs]

    def validate(self, sample: Sample) -> None:
        pass

    def close(self) -> None:
        self.closed += 1


def test_multi_page_parts_are_drawn_again_and_parts_are_closed():
    stitch = StitchRenderer(Options(renderers={"text-page": 1.0}, parts=(8, 8)))
    stitch.parts["text-page"].close()
    fake = stitch.parts["text-page"] = SometimesTwoPages()
    redrawn_any = False
    for seed in range(10):
        sample = stitch.render(np.random.default_rng(seed))
        parts = sample.meta["parts"]
        redrawn_any = any(p["attempts"] for p in parts)
        if redrawn_any:
            break
    assert redrawn_any, "no part was drawn again"
    for part in parts:
        redrawn = fake.render(np.random.default_rng(part["seed"]))
        assert len(redrawn.images) == 1
    assert sample.target == "\n\n".join(fake.render(np.random.default_rng(p["seed"])).target for p in parts)
    stitch.close()
    assert fake.closed == 1
    stitch.close()  # each close reaches every part; a part's own close is idempotent
    assert fake.closed == 2


def test_bad_options_are_refused():
    with pytest.raises(registry.RegistryError, match="unknown renderer"):
        StitchRenderer(Options(renderers={"no-such-renderer": 1.0}))
    with pytest.raises(ValueError, match="itself"):
        Options(renderers={"stitch": 1.0})
    with pytest.raises(ValueError, match="2..12"):
        Options(parts=(1, 3))
