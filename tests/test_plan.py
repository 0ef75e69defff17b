"""Shards: WebDataset round-trip, identical tars for any worker count, atomic commit, resume after
SIGKILL, and refusing to mix runs. Real tars, real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import webdataset as wds

from pipelines.render.run import RunError, render_run
from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.seeding import sample_rng


def digits_run(samples: int = 30, shard_size: int = 10, seed: int = 3) -> RunConfig:
    return RunConfig(seed=seed, shard_size=shard_size, renderers=(RendererJob(name="digits", samples=samples),))


def tar_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.tar"))}


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


def test_one_and_two_workers_write_identical_tars(tmp_path):
    config = digits_run(samples=45, shard_size=10)
    render_run(config, tmp_path / "one", workers=1, show_progress=False)
    render_run(config, tmp_path / "two", workers=2, show_progress=False)
    one, two = tar_bytes(tmp_path / "one"), tar_bytes(tmp_path / "two")
    assert len(one) == 5 and one == two
    other_seed = tar_bytes(render_run(digits_run(45, 10, seed=4), tmp_path / "s4", show_progress=False)
                           and tmp_path / "s4")
    assert other_seed != one


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


def test_rerun_keeps_committed_shards_and_refuses_another_config(tmp_path):
    render_run(digits_run(), tmp_path, show_progress=False)
    first = tmp_path / "digits" / "digits-000000.tar"
    stamp = first.stat().st_mtime_ns
    time.sleep(0.01)
    render_run(digits_run(), tmp_path, show_progress=False)
    assert first.stat().st_mtime_ns == stamp, "a committed shard was rewritten"
    with pytest.raises(RunError, match="shard_size: 10 → 20"):
        render_run(digits_run(shard_size=20), tmp_path, show_progress=False)


def test_uncommitted_leftovers_are_redone(tmp_path):
    render_run(digits_run(), tmp_path, show_progress=False)
    expected = tar_bytes(tmp_path)
    shard_dir = tmp_path / "digits"
    (shard_dir / "digits-000001.stats.json").unlink()  # renamed but never marked committed
    (shard_dir / "digits-000002.tar").write_bytes(b"truncated")  # size no longer matches its stats
    (shard_dir / ".digits-000000.tar.tmp").write_bytes(b"partial")  # a temp file from a killed run
    render_run(digits_run(), tmp_path, show_progress=False)
    assert tar_bytes(tmp_path) == expected
    assert not list(shard_dir.glob(".*.tmp"))


def test_sigkill_mid_run_then_resume_is_identical_to_an_uninterrupted_run(tmp_path, gotforge):
    args = ["--renderer", "digits", "--samples", "600", "--shard-size", "20", "--seed", "9", "--quiet"]
    gotforge("render", *args, "--out", str(tmp_path / "whole"), "--workers", "2")
    expected = tar_bytes(tmp_path / "whole")

    killed = tmp_path / "killed"
    process = subprocess.Popen([str(Path(sys.executable).parent / "gotforge"), "render", *args, "--out", str(killed),
                                "--workers", "2"], start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(killed.glob("digits/*.stats.json"))) < 3:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    committed = list(killed.glob("digits/*.stats.json"))
    assert 3 <= len(committed) < 30, "the kill did not land mid-run"
    for tar_path in killed.glob("digits/*.tar"):  # every tar under its final name is complete
        with tarfile.open(tar_path) as tar:
            assert len(tar.getmembers()) == 3 * 20, f"partial shard visible: {tar_path.name}"

    gotforge("render", *args, "--out", str(killed), "--workers", "2")
    assert tar_bytes(killed) == expected
    assert json.loads((killed / "sizes.json").read_text()) == json.loads((tmp_path / "whole" / "sizes.json").read_text())
