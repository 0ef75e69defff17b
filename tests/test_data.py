"""The streaming stages (pipelines.train.data) on real shards rendered by the engine."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from got_model.build import create
from got_model.collator import GotCollator
from got_model.tokenizer import train_tokenizer
from pipelines.train import data
from pipelines.train.tokenizer import iter_shard_targets
from tests.shard_helpers import render_lines


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_lines(tmp_path_factory.mktemp("lines"), samples=48, shard_size=12)  # 4 tars


@pytest.fixture(scope="module")
def collator(shards: Path) -> GotCollator:
    tokenizer = train_tokenizer(iter_shard_targets(str(shards / "*.tar")), vocab_size=300)
    built = create("got-tiny", tokenizer=tokenizer)
    return GotCollator(built.processor, built.image_seq_length, max_length=128)


def keys_of(tar: str) -> set[str]:
    return {s["key"] for s in data.read_once(tar)}


def test_split_urls_partitions_by_node_then_worker() -> None:
    urls = [f"s{i}" for i in range(8)]
    parts = [data.split_urls(urls, rank, 2, worker, 2) for rank in range(2) for worker in range(2)]
    assert parts == [["s0", "s4"], ["s1", "s5"], ["s2", "s6"], ["s3", "s7"]]
    assert data.split_urls(urls[:3], 1, 2, 1, 2) == urls[:3]  # fewer tars than readers: all read all


def test_resample_is_seeded_endless_and_skips_bad() -> None:
    urls = ["a", "b", "c"]
    first = [u for u, _ in zip(data.resample(urls, np.random.default_rng(1), set()), range(200))]
    again = [u for u, _ in zip(data.resample(urls, np.random.default_rng(1), set()), range(200))]
    other = [u for u, _ in zip(data.resample(urls, np.random.default_rng(2), set()), range(200))]
    assert first == again and first != other
    assert set(first) == {"a", "b", "c"}
    assert {u for u, _ in zip(data.resample(urls, np.random.default_rng(1), {"b"}), range(50))} == {"a", "c"}
    with pytest.raises(data.DataError, match="every tar is unreadable"):
        next(data.resample(urls, np.random.default_rng(1), set(urls)))


def test_decode_gives_images_targets_meta(shards: Path) -> None:
    samples = list(data.read_once(str(shards / "*.tar")))
    assert len(samples) == 48
    s = samples[0]
    assert s["key"] == "text-page-000000-000000"
    assert s["images"][0].mode == "RGB" and s["target"] and s["meta"]["renderer"] == "text-page"
    assert len({x["key"] for x in samples}) == 48


def test_corrupt_and_truncated_tars_are_skipped_with_a_warning(shards: Path, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    good = sorted(shards.glob("*.tar"))
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"this is not a tar file" * 100)
    truncated = tmp_path / "truncated.tar"
    blob = good[1].read_bytes()
    truncated.write_bytes(blob[: len(blob) // 2])
    bad: set[str] = set()
    with caplog.at_level(logging.WARNING, logger="pipelines.train.data"):
        samples = list(data.decode(data.read_tars([str(corrupt), str(good[0]), str(truncated)], bad)))
    assert bad == {str(corrupt), str(truncated)}
    assert sum("skipping unreadable shard" in r.message for r in caplog.records) == 2
    keys = [s["key"] for s in samples]
    assert keys[:12] == sorted(keys_of(str(good[0])))  # the good tar whole
    from_truncated = keys[12:]
    assert 0 < len(from_truncated) < 12  # the complete samples before the cut, nothing half-read
    assert set(from_truncated) < keys_of(str(good[1]))
    assert all(s["target"] and s["images"] for s in samples)


def test_mix_follows_weights_and_is_seeded() -> None:
    def stream(tag: str):
        while True:
            yield tag

    def draw(seed: int) -> list[str]:
        mixed = data.mix([stream("a"), stream("b")], [3.0, 1.0], np.random.default_rng(seed))
        return [next(mixed) for _ in range(4000)]

    counts = Counter(draw(0))
    assert 0.72 < counts["a"] / 4000 < 0.78
    assert draw(0) == draw(0) and draw(0) != draw(1)


def test_shuffle_keeps_every_item_and_reorders() -> None:
    out = list(data.shuffle(range(100), 10, np.random.default_rng(0)))
    assert sorted(out) == list(range(100)) and out != list(range(100))
    assert list(data.shuffle(range(5), 0, np.random.default_rng(0))) == list(range(5))


def test_batch_counts_dropped_and_names_keys() -> None:
    items = [("k0", 0), ("k1", None), ("k2", 2), ("k3", 3), ("k4", None), ("k5", 5)]
    padded = list(data.batch(iter(items), 2, lambda kept, num_dropped: {"x": kept, "num_dropped": num_dropped}))
    assert padded == [
        {"x": [0, 2], "num_dropped": 1, "keys": ["k0", "k2"]},
        {"x": [3, 5], "num_dropped": 1, "keys": ["k3", "k5"]},
    ]


def test_a_stream_of_only_overlong_samples_fails_instead_of_spinning() -> None:
    items = ((f"k{i}", None) for i in range(10**9))
    with pytest.raises(data.DataError, match="1000 samples in a row are longer"):
        next(data.batch(items, 2, lambda kept, num_dropped: kept))


def test_train_stream_ranks_and_workers_read_different_data(shards: Path, collator: GotCollator) -> None:
    pattern = str(shards / "*.tar")
    seen = {}
    for rank in range(2):
        stream = data.TrainStream([(pattern, 1.0)], collator, batch_size=4, shuffle_buffer=8, seed=0,
                                  rank=rank, world=2)
        loader = data.train_loader(stream, workers=2, prefetch=2)
        keys: list[str] = []
        for batch, _ in zip(loader, range(12)):
            assert batch["input_ids"].shape[0] == 4 and batch["pixel_values"].shape == (4, 3, 128, 128)
            assert batch["labels"].ne(-100).any()
            keys.extend(batch["keys"])
        seen[rank] = keys
    shard_of = {k: k.rsplit("-", 1)[0] for keys in seen.values() for k in keys}
    # 4 tars, 2 ranks x 2 workers: each reader owns one tar, so the ranks' samples are disjoint
    assert not set(seen[0]) & set(seen[1])
    assert len({shard_of[k] for k in seen[0]}) == 2 and len({shard_of[k] for k in seen[1]}) == 2
    assert len(seen[0]) == 48 and len(set(seen[0])) < 48  # resampled past the 24 samples it owns


def test_train_stream_never_stalls_at_an_epoch_edge(shards: Path, collator: GotCollator) -> None:
    one = min(shards.glob("*.tar"))
    stream = data.TrainStream([(str(one), 1.0)], collator, batch_size=5, shuffle_buffer=4, seed=3)
    batches = [b for b, _ in zip(data.train_loader(stream, workers=0, prefetch=1), range(10))]
    assert len(batches) == 10  # 50 samples from a 12-sample tar
    assert all(torch.equal(b["attention_mask"].sum(1) > 0, torch.ones(5, dtype=torch.bool)) for b in batches)


def test_a_missing_glob_fails_early(tmp_path: Path, collator: GotCollator) -> None:
    with pytest.raises(data.DataError, match="no shard matches"):
        data.TrainStream([(str(tmp_path / "*.tar"), 1.0)], collator, 2, 0, 0)


def test_mixing_two_sources_in_the_stream(shards: Path, tmp_path: Path, collator: GotCollator) -> None:
    tars = sorted(shards.glob("*.tar"))
    for name, picked in (("a", tars[:1]), ("b", tars[1:2])):
        (tmp_path / name).mkdir()
        for t in picked:
            shutil.copy(t, tmp_path / name / t.name)
    stream = data.TrainStream([(str(tmp_path / "a/*.tar"), 4.0), (str(tmp_path / "b/*.tar"), 1.0)], collator,
                              batch_size=10, shuffle_buffer=0, seed=0)
    keys = [k for b, _ in zip(data.train_loader(stream, 0, 1), range(20)) for k in b["keys"]]
    from_a = sum(k.startswith(tars[0].stem) for k in keys)
    assert 0.7 < from_a / len(keys) < 0.9
