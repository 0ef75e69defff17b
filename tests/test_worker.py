"""The shard worker: retries with the next attempt's seed, a limit on rejects in a row, batches that
never change bytes, one picklable context, and the collector settings of a run."""

from __future__ import annotations

import collections
import pickle

import numpy as np
import pytest
from PIL import Image

from pipelines.render.plan import ShardJob
from pipelines.render.run import render_run
from pipelines.render.seeding import sample_seed
from pipelines.render.worker import MAX_ATTEMPTS, RenderContext, ShardError, Timing, make_shard, render_valid
from renderers.base import Reject, RendererDefaults, Sample
from tests.shard_helpers import digits_run


class Coin(RendererDefaults):
    """Draws one number; rejects odd ones (``validate``), or everything with ``reject_all``."""

    name, markup, task, version = "coin", "text", "ocr", "1"

    def __init__(self, batch_size: int = 1, reject_all: bool = False) -> None:
        self.batch_size, self.reject_all = batch_size, reject_all

    def render(self, rng: np.random.Generator) -> Sample:
        value = int(rng.integers(1000))
        image = Image.new("L", (32, 16), 255)
        image.paste(0, (4, 4, 28, 12))
        return Sample([image], str(value), {"lang": "en"})

    def validate(self, sample: Sample) -> None:
        if self.reject_all or int(sample.target) % 2:
            raise Reject("odd")


def test_rejected_samples_are_retried_with_their_next_seed_and_come_out_in_order():
    job = ShardJob("coin", 2, 12)
    rejects: collections.Counter[str] = collections.Counter()
    accepted = list(render_valid(Coin(), 7, job, rejects, Timing()))
    assert [index for index, *_ in accepted] == list(range(12))
    for index, sample, seed, attempt in accepted:
        assert seed == sample_seed(7, "coin", 2, index, attempt) and int(sample.target) % 2 == 0
    assert rejects["odd"] == sum(attempt for *_, attempt in accepted) > 0


def test_batches_change_nothing_written(tmp_path):
    job = ShardJob("coin", 0, 12)
    one = make_shard(Coin(batch_size=1), 7, 1, job, tmp_path / "one", lambda done, rejected: None)
    five = make_shard(Coin(batch_size=5), 7, 1, job, tmp_path / "five", lambda done, rejected: None)
    assert job.tar_path(tmp_path / "one").read_bytes() == job.tar_path(tmp_path / "five").read_bytes()
    assert one["attempts"] == five["attempts"] and one["rejects"] == five["rejects"]


def test_a_renderer_that_rejects_everything_fails_its_shard(tmp_path):
    with pytest.raises(ShardError, match=f"{MAX_ATTEMPTS} times in a row"):
        make_shard(Coin(reject_all=True), 7, 1, ShardJob("coin", 0, 3), tmp_path, lambda done, rejected: None)
    assert list((tmp_path / "coin").iterdir()) == []  # nothing of the failed shard is left


def test_the_context_pickles_without_its_renderers(tmp_path):
    context = RenderContext(digits_run(), tmp_path)
    renderer = context.renderer("digits")
    assert context.renderer("digits") is renderer  # built once per process
    copy = pickle.loads(pickle.dumps(context))
    assert copy == context and copy.renderers == {}
    stats = copy.make(ShardJob("digits", 0, 10), lambda done, rejected: None)
    assert stats["count"] == 10 and set(copy.renderers) == {"digits"}
    copy.close()
    context.close()
    assert copy.renderers == context.renderers == {}


def test_a_run_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    import gc

    from pipelines.render.run import GC_THRESHOLDS, rendering_gc

    before = gc.get_threshold()
    with rendering_gc():
        assert gc.get_threshold() == GC_THRESHOLDS
        gc.freeze()
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    render_run(digits_run(samples=10), tmp_path, show_progress=False)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
