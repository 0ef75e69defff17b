"""Faults the engine survives, with real processes, signals and file systems: a worker killed
mid-shard (replaced, its shard made again, the same bytes), a shard that kills every worker (failed
by name after three tries, the others committed), a full disk (a clear error, nothing partial, a
rerun with space completes), an output folder that refuses files (refused before any work), a tar
damaged after its commit (found by its checksum and made again), and samples that hang (a
``timeout`` reject or miss, the back-end restarted; native code that never returns ends its worker).

The crashing and hanging renderer is tests/plugin_faults, a test-only plugin installed here only.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.render import config as render_config
from pipelines.render.plan import RunError
from pipelines.render.run import render_run
from renderers import registry
from tests.conftest import ROOT, pip_install_target
from tests.shard_helpers import digits_run, tar_bytes


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    """The test-only ``faults`` renderer, registered for this module (and its worker processes)."""
    target = tmp_path_factory.mktemp("faults-plugin")
    pip_install_target(ROOT / "tests" / "plugin_faults", target)
    sys.path.insert(0, str(target))  # spawned workers get the parent's sys.path
    registry.entries.cache_clear()
    yield
    sys.path.remove(str(target))
    registry.entries.cache_clear()


def lines_corpus(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def faults_run(corpus: Path, shard_size: int = 5, options: tuple[str, ...] = ()):
    return render_config.from_args(["faults"], None, shard_size, 0, str(corpus), options)


WORDS = [f"line {i}" for i in range(40)]


# -- a worker killed mid-shard ------------------------------------------------------------------------
def test_a_killed_worker_is_replaced_and_the_run_ends_byte_identical(faults, tmp_path):
    marker = tmp_path / "killed-once"
    lines = [*WORDS[:13], f"kill-once {marker}", *WORDS[14:]]
    config = faults_run(lines_corpus(tmp_path / "lines.txt", lines))
    marker.touch()  # the reference run draws the line as text
    render_run(config, tmp_path / "reference", workers=1, show_progress=False)
    marker.unlink()
    render_run(config, tmp_path / "pool", workers=2, show_progress=False)
    assert marker.exists(), "no worker was killed"
    assert tar_bytes(tmp_path / "pool") == tar_bytes(tmp_path / "reference")
    assert len(tar_bytes(tmp_path / "pool")) == 8
    for name in ("sizes.json", "faults/sizes.json"):
        assert (tmp_path / "pool" / name).read_text() == (tmp_path / "reference" / name).read_text()


def test_a_shard_that_kills_every_worker_fails_by_name_and_the_others_complete(faults, tmp_path):
    lines = [*WORDS[:7], "kill", *WORDS[8:]]
    config = faults_run(lines_corpus(tmp_path / "lines.txt", lines))
    with pytest.raises(RunError) as caught:
        render_run(config, tmp_path / "out", workers=2, show_progress=False)
    message = str(caught.value)
    assert "1 shard(s) failed" in message
    assert "faults-000001: its worker process died 3 times while making it (the last killed by SIGKILL)" in message
    committed = sorted(p.name for p in (tmp_path / "out" / "faults").glob("*.stats.json"))
    assert committed == [f"faults-{s:06d}.stats.json" for s in range(8) if s != 1]


# -- a full disk, a folder that refuses files ---------------------------------------------------------
@contextlib.contextmanager
def mounted(folder: Path, options: str):
    """A tmpfs at ``folder`` with mount ``options`` (the test is skipped where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_a_clear_error_leaves_no_partial_shard_and_a_rerun_with_space_completes(tmp_path):
    config = digits_run(samples=400, shard_size=40)
    render_run(config, tmp_path / "reference", show_progress=False)
    with mounted(tmp_path / "small", "size=256k") as small:
        out = small / "run"
        with pytest.raises(RunError) as caught:
            render_run(config, out, show_progress=False)
        assert "no space left on the device while writing shard digits-0000" in str(caught.value)
        assert "free space (or fix access) and rerun the same command" in str(caught.value)
        shards = out / "digits"
        assert not list(shards.glob(".*"))  # no temp tar, no temp stats
        tars = {p.stem for p in shards.glob("*.tar")}
        assert tars == {p.name.removesuffix(".stats.json") for p in shards.glob("*.stats.json")}
        assert 0 < len(tars) < 10
        subprocess.run(["mount", "-o", "remount,size=8m", str(small)], check=True)
        render_run(config, out, show_progress=False)
        assert tar_bytes(out) == tar_bytes(tmp_path / "reference")


def test_an_output_folder_that_refuses_files_is_refused_before_any_work(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(RunError, match=f"cannot write into the output folder {blocked}: a file is in the way"):
        render_run(digits_run(), blocked, show_progress=False)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "digits").write_text("in the way")
    with pytest.raises(RunError, match="output folder .*/out/digits: a file is in the way"):
        render_run(digits_run(), tmp_path / "out", show_progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["digits"]
    with mounted(tmp_path / "read-only", "ro,size=1m") as read_only, \
            pytest.raises(RunError, match="Read-only file system; choose another --out"):
        render_run(digits_run(), read_only / "run", show_progress=False)


# -- a tar damaged after its commit -------------------------------------------------------------------
def test_a_tar_damaged_after_commit_is_found_by_its_checksum_and_made_again(tmp_path, capfd):
    render_run(digits_run(), tmp_path, show_progress=False)
    expected = tar_bytes(tmp_path)
    stats = json.loads((tmp_path / "digits" / "digits-000001.stats.json").read_text())
    assert len(stats["sha256"]) == 64
    damaged = tmp_path / "digits" / "digits-000001.tar"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    damaged.write_bytes(bytes(data))
    kept = (tmp_path / "digits" / "digits-000000.tar").stat().st_mtime_ns
    render_run(digits_run(), tmp_path, show_progress=False)
    assert tar_bytes(tmp_path) == expected
    assert (tmp_path / "digits" / "digits-000000.tar").stat().st_mtime_ns == kept
    assert f"{damaged} no longer has the SHA-256 its stats recorded at commit" in capfd.readouterr().err


# -- samples that hang ----------------------------------------------------------------------------------
def test_a_hanging_item_is_a_timeout_miss_and_the_back_end_restarts(faults, tmp_path):
    closes = tmp_path / "closes.log"
    corpus = lines_corpus(tmp_path / "lines.txt", ["first", "hang", "last"])
    config = faults_run(corpus, options=(f"faults.close_log={closes}",))
    manifest = render_run(config, tmp_path / "out", show_progress=False, time_limit_s=1.0)
    assert manifest["renderers"]["faults"]["missed"]["by_reason"] == {"timeout": 1}
    (missed,) = [json.loads(line) for line in (tmp_path / "out" / "faults" / "missed.jsonl").open()]
    assert (missed["item"], missed["location"], missed["reason"]) == (1, f"{corpus}:2", "timeout")
    assert "its back-end was restarted" in missed["detail"]
    assert manifest["totals"]["samples"] == 2 and manifest["rejects"] == {"timeout": 1}
    assert closes.read_text().count("closed") == 2  # the restart, then the end of the run


def test_native_code_past_the_limit_ends_its_worker_and_the_shard_fails_by_name(faults, tmp_path):
    lines = [*WORDS[:3], "hang-native", *WORDS[4:10]]
    config = faults_run(lines_corpus(tmp_path / "lines.txt", lines))
    with pytest.raises(RunError, match="faults-000000: its worker process died 3 times while making it "
                                       r"\(the last a sample ran past its time limit in native code"):
        render_run(config, tmp_path / "out", workers=2, show_progress=False, time_limit_s=1.0)
    assert [p.name for p in (tmp_path / "out" / "faults").glob("*.stats.json")] == ["faults-000001.stats.json"]

