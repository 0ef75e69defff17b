"""Live sources (pipelines/train/live.py): the engine's samples rendered in the loader, never written;
the same records and batches as the engine's shards, and a killed run that resumes past them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from got_model.build import create
from got_model.collator import GotCollator
from got_model.tokenizer import train_tokenizer
from pipelines.config import ConfigError
from pipelines.render.config import load_mix
from pipelines.render.run import render_run
from pipelines.render.seeding import sample_seed
from pipelines.train import config as train_config
from pipelines.train import data
from pipelines.train import loop as train
from pipelines.train.live import LiveSource, live_stream
from pipelines.train.tokenizer import iter_shard_targets
from tests.shard_helpers import LINES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A render config of line slices (one 16-sample shard a round), its shards as the engine writes
    them, and a tokenizer."""
    root = tmp_path_factory.mktemp("live")
    (root / "lines.yaml").write_text(yaml.safe_dump({
        "seed": 4, "samples": 16, "shard_size": 16, "renderers": {"text-page": {"options": LINES}}}))
    config, _ = load_mix(root / "lines.yaml")
    render_run(config, root / "shards", show_progress=False)
    train_tokenizer(iter_shard_targets(str(root / "shards/text-page/*.tar")), vocab_size=300).save_pretrained(
        root / "tokenizer")
    return root


def write_config(workspace: Path, out: Path, source: dict, **overrides: object) -> Path:
    config = {
        "model": "got-tiny", "tokenizer": str(workspace / "tokenizer"), "out": str(out), "seed": 2,
        "data": {"sources": [source], "max_length": 128, "shuffle_buffer": 4, "workers": 0},
        "batch_size": 4, "max_steps": 2, "save_every": 2, "log_every": 1, "threads": 1, "progress": False,
        **overrides,
    }
    path = out.with_suffix(".yaml")
    path.write_text(yaml.safe_dump(config))
    return path


def test_live_records_are_the_engines_and_go_on_past_its_shards(workspace: Path) -> None:
    source = LiveSource.load(workspace / "lines.yaml")
    stored = list(data.read_once(str(workspace / "shards/text-page/*.tar")))
    live = live_stream(source, 0, 1, 0, (positions := {}), 0)
    made = [next(live) for _ in range(20)]
    live.close()
    for a, b in zip(made, stored):
        assert (a["key"], a["target"], a["meta"]) == (b["key"], b["target"], b["meta"])
        assert [im.tobytes() for im in a["images"]] == [im.tobytes() for im in b["images"]]
    assert len(stored) == 16
    assert [r["key"] for r in made[16:]] == [f"text-page-000001-00000{i}" for i in range(4)]  # the next round
    assert made[16]["meta"]["seed"] == sample_seed(4, "text-page", 1, 0, made[16]["meta"]["attempt"])
    assert positions == {0: 2}
    # readers split the virtual shards: reader 1 of 2 starts at shard 1 (past the resumed start 2: 3)
    other = live_stream(source, 1, 2, 2, {}, 0)
    assert next(other)["key"] == "text-page-000003-000000"
    other.close()


def test_two_steps_from_a_live_source_whose_first_batch_is_the_shards(workspace: Path, tmp_path: Path) -> None:
    shards = train_config.load(write_config(workspace, tmp_path / "shards", {"shards": str(workspace / "shards/text-page/*.tar")}))
    live = train_config.load(write_config(workspace, tmp_path / "live", {"render": str(workspace / "lines.yaml")}))
    built = create("got-tiny", tokenizer=str(workspace / "tokenizer"))
    collator = GotCollator(built.processor, built.image_seq_length, max_length=128)

    def first_batch(config: train_config.TrainConfig) -> dict:
        stream = data.TrainStream(data.source_specs(config.data.sources), collator, 4, 4, config.seed)
        return next(iter(data.train_loader(stream, workers=0, prefetch=1)))

    from_shards, from_live = first_batch(shards), first_batch(live)
    assert from_live.pop("live") == {0: 1} and "live" not in from_shards
    assert from_live.keys() == from_shards.keys() and from_live["keys"] == from_shards["keys"]
    for name, value in from_shards.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, from_live[name]), name
    summary = train.train(live)
    assert summary["step"] == 2 and np.isfinite(summary["loss"])
    state = torch.load(tmp_path / "live/checkpoints/step-0000002/trainer_state.pt", weights_only=False)
    assert state["live"] == {0: 1}  # two batches of 4 came from virtual shard 0 alone


def test_a_killed_live_run_resumes_past_what_it_had_drawn(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    config = write_config(workspace, out, {"render": str(workspace / "lines.yaml")}, max_steps=16, save_every=4,
                          log_keys=True, keep_checkpoints=50, data={
                              "sources": [{"render": str(workspace / "lines.yaml")}], "max_length": 128,
                              "shuffle_buffer": 4, "workers": 1, "prefetch": 1})
    command = [sys.executable, "-m", "pipelines.cli", "train", "--config", str(config)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not (out / "checkpoints/step-0000004/trainer_state.pt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    killed_at = train.checkpoint.latest_checkpoint(out)
    step = int(killed_at.name.split("-")[1])
    start = torch.load(killed_at / "trainer_state.pt", weights_only=False)["live"][0]
    assert 4 <= step < 16 and start >= 1

    resumed = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["step"] == 16
    # what the killed run drew before its checkpoint: the same config run to that step (it is seeded)
    reference = tmp_path / "reference"
    train.train(train_config.load(config, [f"out={reference}", f"max_steps={step}"]))
    assert torch.load(reference / f"checkpoints/step-{step:07d}/trainer_state.pt", weights_only=False)["live"] == {0: start}

    def logged(folder: Path) -> list[list[str]]:
        return [line.split("\t") for line in (folder / "keys-rank0.txt").read_text().splitlines()]

    first, resumed = logged(reference), logged(out)[-4 * (16 - step):]  # a killed run's keys may be lost
    assert [int(s) for s, _ in first] == sorted(list(range(step)) * 4)
    assert [int(s) for s, _ in resumed] == sorted(list(range(step, 16)) * 4)
    drawn, again = [k for _, k in first], [k for _, k in resumed]
    assert len(set(drawn)) == len(drawn) and len(set(again)) == len(again)  # sample k drawn once
    assert max(int(k.split("-")[2]) for k in drawn) < start <= min(int(k.split("-")[2]) for k in again)


def test_a_covered_corpus_is_refused_as_a_live_source(tmp_path: Path) -> None:
    (tmp_path / "lines.txt").write_text("one line\nanother line\n")
    entry = {"corpus": str(tmp_path / "lines.txt"), "options": LINES}
    (tmp_path / "cover.yaml").write_text(yaml.safe_dump({"samples": 4, "renderers": {"text-page": entry}}))
    with pytest.raises(ConfigError, match="order: sample, or render it to shards"):
        data.source_specs([train_config.Source(render=str(tmp_path / "cover.yaml"))])
    entry["order"] = "sample"
    (tmp_path / "sample.yaml").write_text(yaml.safe_dump({"samples": 4, "renderers": {"text-page": entry}}))
    assert LiveSource.load(tmp_path / "sample.yaml").job(3).shard == 3


def test_two_torchrun_ranks_split_a_live_source_and_save_the_highest_mark(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    config = write_config(workspace, out, {"render": str(workspace / "lines.yaml")}, max_steps=2, log_keys=True)
    torchrun = Path(sys.executable).parent / "torchrun"
    result = subprocess.run(
        [str(torchrun), "--nproc-per-node", "2", "--master-port", str(29600 + os.getpid() % 1000),
         "-m", "pipelines.cli", "train", "--config", str(config)],
        check=False, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    shards = {}
    for rank in range(2):
        keys = [line.split("\t")[1] for line in (out / f"keys-rank{rank}.txt").read_text().splitlines()]
        assert len(keys) == 2 * 4
        shards[rank] = {int(k.split("-")[2]) for k in keys}
    assert shards == {0: {0}, 1: {1}}  # reader j of 2 starts at virtual shard j
    state = torch.load(out / "checkpoints/step-0000002/trainer_state.pt", weights_only=False)
    assert state["live"] == {0: 2}  # the highest of both ranks' marks (rank 0's alone is 1)
