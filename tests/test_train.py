"""The training loop: configs, schedule, stages, checkpoints, a kill-and-resume, and two torchrun
processes on the CPU with gloo. Real shards, a real tokenizer, the real got-tiny."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from got_model.build import create
from got_model.tokenizer import train_tokenizer
from pipelines.config import ConfigError
from pipelines.train import config as train_config
from pipelines.train import loop as train
from pipelines.train.checkpoint import latest_checkpoint
from pipelines.train.optim import freeze_encoder, lr_factor, param_groups, strip
from pipelines.train.tokenizer import iter_shard_targets
from tests.shard_helpers import render_lines

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shards (4 tars) and a tokenizer trained on their targets."""
    root = tmp_path_factory.mktemp("train")
    tars = render_lines(root / "shards", samples=48, shard_size=12)
    train_tokenizer(iter_shard_targets(str(tars / "*.tar")), vocab_size=300).save_pretrained(root / "tokenizer")
    return root


def write_config(workspace: Path, out: Path, **overrides: object) -> Path:
    config = {
        "model": "got-tiny",
        "tokenizer": str(workspace / "tokenizer"),
        "stage": 2,
        "out": str(out),
        "seed": 0,
        "data": {"sources": [{"shards": str(workspace / "shards/text-page/*.tar")}], "max_length": 128,
                 "shuffle_buffer": 8, "workers": 0},
        "optim": {"lr": 1e-3, "warmup_steps": 2, "min_lr_ratio": 0.1},
        "batch_size": 2,
        "max_steps": 6,
        "save_every": 2,
        "log_every": 1,
        "threads": 1,
        "progress": False,
    }
    for key, value in overrides.items():
        node = config
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]  # type: ignore[index]
        node[last] = value  # type: ignore[index]
    path = out.parent / f"{out.name}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def lr_scalars(out: Path) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values: dict[int, float] = {}
    for events in sorted((out / "tensorboard").glob("events.*")):
        acc = EventAccumulator(str(events))
        acc.Reload()
        for e in acc.Scalars("train/lr"):
            values[e.step] = e.value
    return values


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


# --- configs ------------------------------------------------------------------------------------


def test_shipped_configs_validate() -> None:
    names = sorted(p.name for p in (ROOT / "configs/train").glob("*.yaml"))
    assert {"stage1.yaml", "stage2.yaml", "stage3.yaml", "tiny-demo.yaml"} <= set(names)
    for name in names:
        config = train_config.load(ROOT / "configs/train" / name)
        assert config.data.sources
    stage3 = train_config.load(ROOT / "configs/train/stage3.yaml")
    assert stage3.stage == 3


def test_unknown_keys_and_bad_sets_are_rejected(tmp_path: Path, workspace: Path) -> None:
    path = write_config(workspace, tmp_path / "run")
    assert train_config.load(path, ["optim.lr=3e-4", "data.workers=2"]).optim.lr == 3e-4
    with pytest.raises(ConfigError, match="optim.lr"):
        train_config.load(path, ["optim.lr=fast"])
    with pytest.raises(ConfigError, match="optim.learning_rate"):
        train_config.load(path, ["optim.learning_rate=1e-4"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        train_config.load(path, ["optim.lr"])
    data = yaml.safe_load(path.read_text())
    data["shuffle"] = True
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="shuffle"):
        train_config.load(path)


def test_lr_schedule_warmup_then_cosine() -> None:
    optim = train_config.OptimConfig(lr=1.0, warmup_steps=4, min_lr_ratio=0.1)
    assert [lr_factor(s, 104, optim) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 104, optim) == pytest.approx(1.0)
    assert lr_factor(54, 104, optim) == pytest.approx(0.1 + 0.9 * 0.5)  # half way: cos = 0
    assert lr_factor(104, 104, optim) == pytest.approx(0.1)
    assert lr_factor(79, 104, optim) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.75)))
    # Over minutes: the cosine follows whichever of the two budgets is further spent.
    timed = train_config.OptimConfig(lr=1.0, warmup_steps=4, min_lr_ratio=0.1, schedule_over="minutes")
    assert lr_factor(2, 104, timed, spent=0.9) == 0.75  # warmup still counts steps
    assert lr_factor(54, 104, timed, spent=0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(10, 104, timed, spent=0.5) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(10, 104, timed, spent=1.3) == pytest.approx(0.1)
    assert lr_factor(10, 104, optim, spent=0.5) == lr_factor(10, 104, optim)  # over steps: the clock is ignored


def test_decay_only_and_stage3_freezing(workspace: Path) -> None:
    built = create("got-tiny", tokenizer=str(workspace / "tokenizer"))
    optim = train_config.OptimConfig(weight_decay=0.1, decay_only=("vision_tower.neck", "multi_modal_projector"))
    decay, no_decay = param_groups(built.model, optim)  # decayed first
    names = {id(p): n for n, p in built.model.named_parameters()}
    decayed = sorted(strip(names[id(p)]) for p in decay["params"])
    assert decayed and all(n.startswith(("vision_tower.neck", "multi_modal_projector")) for n in decayed)
    assert "multi_modal_projector.multimodal_projector.weight" in decayed
    assert not any(n.endswith("bias") for n in decayed) and no_decay["weight_decay"] == 0.0
    assert decay["lr"] == no_decay["lr"] == optim.lr
    scaled = train_config.OptimConfig(lr=1e-3, lr_scale={"vision_tower": 3.0})
    groups = param_groups(built.model, scaled)
    assert sorted(g["lr"] for g in groups) == [1e-3, pytest.approx(3e-3)]
    fast = next(g for g in groups if g["lr"] > 1e-3)["params"]
    assert {strip(names[id(p)]).split(".")[0] for p in fast} == {"vision_tower"}
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in built.model.parameters())
    frozen = freeze_encoder(built.model)
    trainable = {strip(n) for n, p in built.model.named_parameters() if p.requires_grad}
    assert frozen > 0 and not any(n.startswith(("vision_tower.", "multi_modal_projector.conv")) for n in trainable)
    assert "multi_modal_projector.multimodal_projector.weight" in trainable


def test_what_a_model_cannot_do_fails_before_training(workspace: Path, tmp_path: Path) -> None:
    stage1 = {"model": "got-tiny-stage1", "stage": 1}
    with pytest.raises(ConfigError, match="Stage1Model .* cannot recompute activations"):
        train.train(train_config.load(write_config(workspace, tmp_path / "a", **stage1, gradient_checkpointing=True)))
    with pytest.raises(ConfigError, match="data.max_length 4096 is more than the 2048 positions"):
        train.train(train_config.load(write_config(workspace, tmp_path / "b", **stage1, **{"data.max_length": 4096})))
    assert not (tmp_path / "a" / "checkpoints").exists()


# --- runs ---------------------------------------------------------------------------------------


def test_stage3_run_trains_the_decoder_and_keeps_the_encoder(workspace: Path, tmp_path: Path) -> None:
    first = train.train(train_config.load(write_config(workspace, tmp_path / "s2", max_steps=2, save_every=2)))
    assert first["step"] == 2
    start = tmp_path / "s2" / "final"
    out = tmp_path / "s3"
    # with the GPU switches on (bf16 autocast runs on the CPU too; checkpointing recomputes activations)
    summary = train.train(train_config.load(write_config(workspace, out, model=str(start), tokenizer=None,
                                                         stage=3, max_steps=3, save_every=3, bf16=True,
                                                         gradient_checkpointing=True)))
    assert summary["step"] == 3 and summary["samples_per_s"] > 0
    before, after = load_file(str(start / "model.safetensors")), load_file(str(out / "final/model.safetensors"))
    encoder = [k for k in before if k.removeprefix("model.").startswith(("vision_tower.", "multi_modal_projector.conv"))]
    decoder = [k for k in before if "language_model" in k]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)
    assert any(not torch.equal(before[k], after[k]) for k in decoder)
    checkpoint = out / "checkpoints/step-0000003"
    assert {"config.json", "model.safetensors", "train_config.yaml", "trainer_state.pt", "tokenizer.json"} <= {
        p.name for p in checkpoint.iterdir()}
    assert yaml.safe_load((checkpoint / "train_config.yaml").read_text())["stage"] == 3
    assert (out / "tensorboard").is_dir() and json.loads((out / "train_summary.json").read_text())["step"] == 3


def test_a_time_limit_stops_every_clock_with_a_checkpoint(workspace: Path, tmp_path: Path) -> None:
    for clock in ("wall", "cpu"):
        out = tmp_path / clock
        summary = train.train(train_config.load(write_config(
            workspace, out, max_steps=500, save_every=100, max_minutes=1e-5, clock=clock)))
        assert summary["step"] == 1 and summary["clock"] == clock
        assert latest_checkpoint(out) == out / "checkpoints/step-0000001"
        assert (out / "final/model.safetensors").is_file()


def test_a_schedule_over_minutes_ends_with_the_time_limit(workspace: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="schedule_over: minutes spans max_minutes"):
        train_config.load(write_config(workspace, tmp_path / "none", **{"optim.schedule_over": "minutes"}))
    out = tmp_path / "timed"
    overrides = {"max_steps": 100000, "save_every": 1000, "max_minutes": 0.05, "log_every": 1,
                 "optim.schedule_over": "minutes", "optim.warmup_steps": 1, "optim.min_lr_ratio": 0.1}
    summary = train.train(train_config.load(write_config(workspace, out, **overrides)))
    assert 1 < summary["step"] < 100000 and summary["minutes"] >= 0.05
    rates = lr_scalars(out)
    steps = sorted(rates)
    assert all(rates[a] >= rates[b] for a, b in itertools.pairwise(steps))  # decaying, with the clock
    assert rates[steps[-1]] == pytest.approx(0.1 * 1e-3)  # the cosine's floor, reached at the limit
    assert rates[steps[len(steps) // 2]] > 0.2 * 1e-3


def test_killed_run_resumes_with_the_same_steps_and_schedule(workspace: Path, tmp_path: Path) -> None:
    overrides = {"max_steps": 16, "save_every": 3, "optim.warmup_steps": 5, "keep_checkpoints": 50}
    reference = tmp_path / "reference"
    train.train(train_config.load(write_config(workspace, reference, **overrides)))
    expected = lr_scalars(reference)
    assert sorted(expected) == list(range(1, 17))

    out = tmp_path / "killed"
    config = write_config(workspace, out, **overrides)
    command = [sys.executable, "-m", "pipelines.cli", "train", "--config", str(config)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints/step-0000003/trainer_state.pt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = latest_checkpoint(out)
    assert killed_at is not None and not (out / "final").exists()
    step_before = int(killed_at.name.split("-")[1])
    assert 3 <= step_before < 16

    resumed = subprocess.run(command, check=False, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from {killed_at} at step {step_before}" in resumed.stderr
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["step"] == 16
    got = lr_scalars(out)
    assert sorted(got) == list(range(1, 17))  # no step missing or repeated in the logs (later runs win)
    for step in range(1, 17):
        assert got[step] == pytest.approx(expected[step], rel=1e-12), step
    state = torch.load(out / "checkpoints/step-0000016/trainer_state.pt", weights_only=False)
    assert state["step"] == 16 and state["scheduler"]["last_epoch"] == 16


def test_two_torchrun_processes_on_gloo(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    config = write_config(workspace, out, max_steps=3, save_every=3, log_keys=True)
    torchrun = Path(sys.executable).parent / "torchrun"
    result = subprocess.run(
        [str(torchrun), "--nproc-per-node", "2", "--master-port", str(29500 + os.getpid() % 1000),
         "-m", "pipelines.cli", "train", "--config", str(config)],
        check=False, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["world"] == 2 and summary["step"] == 3
    keys = {}
    for rank in range(2):
        lines = (out / f"keys-rank{rank}.txt").read_text().splitlines()
        keys[rank] = [line.split("\t")[1] for line in lines]
        assert len(keys[rank]) == 3 * 2  # 3 steps x batch 2
    assert not set(keys[0]) & set(keys[1])  # 4 tars over 2 ranks: each rank reads its own two
    tars = {rank: {k.rsplit("-", 1)[0] for k in keys[rank]} for rank in range(2)}
    assert tars[0].isdisjoint(tars[1])
    assert (out / "final/model.safetensors").is_file()
    assert latest_checkpoint(out) == out / "checkpoints/step-0000003"
    shutil.rmtree(out)
