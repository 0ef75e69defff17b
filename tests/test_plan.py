"""The planner: shard jobs, the folder claim and lock, and resumption (committed shards kept, the rest
redone, identical to an uninterrupted run even after SIGKILL). Real tars, real worker processes."""

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

from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.plan import RunError, ShardJob, folder_lock, plan, to_do
from pipelines.render.run import render_run
from tests.shard_helpers import digits_run, tar_bytes


def test_plan_interleaves_renderers_and_ends_with_a_short_shard():
    config = RunConfig(shard_size=10, renderers=(RendererJob(name="digits", samples=25),
                                                 RendererJob(name="molecule", samples=10)))
    assert plan(config) == [ShardJob("digits", 0, 10), ShardJob("molecule", 0, 10), ShardJob("digits", 1, 10),
                            ShardJob("digits", 2, 5)]


def test_a_second_render_into_a_locked_folder_is_refused(tmp_path):
    with folder_lock(tmp_path), pytest.raises(RunError, match="another gotforge render"), folder_lock(tmp_path):
        pass


def test_rerun_keeps_committed_shards_and_refuses_another_config(tmp_path):
    render_run(digits_run(), tmp_path, show_progress=False)
    first = tmp_path / "digits" / "digits-000000.tar"
    stamp = first.stat().st_mtime_ns
    time.sleep(0.01)
    render_run(digits_run(), tmp_path, show_progress=False)
    assert first.stat().st_mtime_ns == stamp, "a committed shard was rewritten"
    assert to_do(plan(digits_run()), tmp_path) == []
    with pytest.raises(RunError, match="shard_size: 10 → 20"):
        render_run(digits_run(shard_size=20), tmp_path, show_progress=False)


def test_uncommitted_leftovers_are_redone(tmp_path):
    render_run(digits_run(), tmp_path, show_progress=False)
    expected = tar_bytes(tmp_path)
    shard_dir = tmp_path / "digits"
    (shard_dir / "digits-000001.stats.json").unlink()  # renamed but never marked committed
    (shard_dir / "digits-000002.tar").write_bytes(b"truncated")  # size no longer matches its stats
    (shard_dir / ".digits-000000.tar.tmp").write_bytes(b"partial")  # a temp file from a killed run
    assert [job.shard for job in to_do(plan(digits_run()), tmp_path)] == [1, 2]
    assert not (shard_dir / "digits-000002.tar").exists() and not list(shard_dir.glob(".*.tmp"))
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
