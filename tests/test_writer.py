"""The shard writer: tars that webdataset reads, the stats file written after the tar as the commit
mark, and nothing left of a shard that is not committed."""

from __future__ import annotations

import json
import tarfile

import pytest
import webdataset as wds

from pipelines.render.plan import ShardJob
from pipelines.render.run import render_run
from pipelines.render.seeding import sample_rng
from pipelines.render.writer import committed_stats, open_shard
from pipelines.shard_format import encode_members
from tests.shard_helpers import digits_run


def test_round_trip_through_webdataset(tmp_path):
    render_run(digits_run(), tmp_path, show_progress=False)
    urls = sorted(str(p) for p in (tmp_path / "digits").glob("*.tar"))
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("pil"))
    assert len(samples) == 30
    first = samples[0]
    assert first["__key__"] == "digits-000000-000000"
    assert set(first) >= {"png", "txt", "json"}
    meta = first["json"]
    assert meta["renderer"] == "digits" and meta["prompt"] == "OCR: " and meta["task"] == "ocr"
    assert meta["markup"] == "text" and meta["lang"] == "en" and meta["renderer_version"] == "1"
    # The stored seed replays the sample exactly.
    from gotforge_digits import DigitsRenderer

    replay = DigitsRenderer(DigitsRenderer.Options()).render(sample_rng(meta["seed"]))
    assert replay.target == first["txt"]
    assert json.loads((tmp_path / "sizes.json").read_text()) == {
        "digits/digits-000000.tar": 10, "digits/digits-000001.tar": 10, "digits/digits-000002.tar": 10}
    assert json.loads((tmp_path / "digits" / "sizes.json").read_text())["digits-000002.tar"] == 10
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["totals"] == {"samples": 30, "shards": 3, "rejects": 0}
    assert manifest["renderers"]["digits"]["package"] == "gotforge-digits"


def test_commit_renames_the_tar_then_writes_its_stats(tmp_path):
    job = ShardJob("fake", 4, 2)
    members = [encode_members(f"fake-000004-{i:06d}", [b"png"], f"t{i}", {"lang": "en"}) for i in range(2)]
    with open_shard(job, tmp_path) as writer:
        for sample in members:
            writer.add(sample)
        assert job.temp_path(tmp_path).exists() and not job.tar_path(tmp_path).exists()
        stats = writer.commit({"count": 2})
    assert not job.temp_path(tmp_path).exists()
    assert stats["tar"] == "fake-000004.tar" and stats["shard"] == "fake-000004"
    assert stats["bytes"] == job.tar_path(tmp_path).stat().st_size
    assert committed_stats(job, tmp_path) == stats
    with tarfile.open(job.tar_path(tmp_path)) as tar:
        assert tar.getnames() == [name for sample in members for name in sample]
        assert {(m.mtime, m.mode, m.uname, m.gname) for m in tar.getmembers()} == {(0, 0o644, "", "")}
    assert committed_stats(ShardJob("fake", 4, 3), tmp_path) is None  # another count: not this shard


def test_a_shard_left_without_commit_leaves_nothing(tmp_path):
    job = ShardJob("fake", 0, 1)
    with pytest.raises(RuntimeError, match="renderer broke"), open_shard(job, tmp_path) as writer:
        writer.add(encode_members("fake-000000-000000", [b"png"], "t", {"lang": "en"}))
        raise RuntimeError("renderer broke")
    assert list((tmp_path / "fake").iterdir()) == []
    assert committed_stats(job, tmp_path) is None
