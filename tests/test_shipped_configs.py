"""Every shipped config runs: each ``configs/render/*.yaml`` renders a few samples and each
``configs/train/*.yaml`` trains two steps, through the ``gotforge`` command, with only sizes and paths
overridden (a CPU-sized model of the same kind, tiny shards, a local tokenizer); and a clean run prints
no library warnings.

The training configs keep their own recipe (stage, optimiser, batch, accumulation, bf16, gradient
checkpointing, evaluation). Their ``runs/…`` paths move under a temporary folder, so the stage configs
chain as they do for real: stage 2 takes its encoder from stage 1's ``final``, stage 3 starts from stage 2's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from got_model.tokenizer import train_tokenizer
from pipelines.render.config import RendererJob, RunConfig, split_by_weight
from pipelines.render.run import render_run
from pipelines.train.tokenizer import iter_shard_targets
from tests.shard_helpers import LINES

ROOT = Path(__file__).resolve().parent.parent
TRAIN_CONFIGS = sorted((ROOT / "configs/train").glob("*.yaml"))
RENDER_CONFIGS = sorted((ROOT / "configs/render").glob("*.yaml"))
# The CPU-sized preset of the same kind as each shipped preset (stage 1's composite, GOT's own).
TINY_MODEL = {"opt-125m-stage1": "got-tiny-stage1", "got-base": "got-tiny"}
# What train_sets replaces; every other key of a shipped training config must reach the run unchanged.
OVERRIDDEN = {"model", "tokenizer", "init_encoder_from", "out", "eval", "max_steps", "log_every"}
OVERRIDDEN_DATA = {"sources", "shuffle_buffer", "workers"}


def gotforge(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m pipelines.cli ARGS`` in a fresh process, so that notices printed once per process show."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, env=env, check=False,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"gotforge {' '.join(args)} failed:\n{result.stderr[-4000:]}"
    return result


def library_warnings(stderr: str) -> list[str]:
    """Lines of ``stderr`` that are warnings or notices (Python's warnings, transformers' and torch's)."""
    marks = ("warning", "[transformers]", "deprecat", "requires torchvision", "userwarning")
    return [line for line in stderr.splitlines() if any(m in line.lower() for m in marks)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny shards of every renderer a shipped training config reads (text-page as 1-2-word lines, as the
    tiny configs train on), held-out lines, and a tokenizer trained on the shards' targets."""
    root = tmp_path_factory.mktemp("shipped")
    sources = {Path(s["shards"]).parent.name for path in TRAIN_CONFIGS
               for s in yaml.safe_load(path.read_text())["data"]["sources"]}
    jobs = [RendererJob(name="text-page", samples=48, options=LINES)]
    jobs += [RendererJob(name=name, samples=6) for name in sorted(sources - {"text-page"})]
    render_run(RunConfig(seed=0, shard_size=12, renderers=tuple(jobs)), root / "shards", show_progress=False)
    heldout = RendererJob(name="text-page", samples=8, options=LINES)
    render_run(RunConfig(seed=1, shard_size=8, renderers=(heldout,)), root / "heldout", show_progress=False)
    targets = iter_shard_targets(str(root / "shards/*/*.tar"))
    train_tokenizer(targets, vocab_size=300).save_pretrained(root / "tokenizer")
    return root


def under(root: Path, value: str) -> str:
    """A shipped ``runs/…`` path moved under ``root``."""
    return str(root / value.removeprefix("runs/")) if value.startswith("runs/") else value


def train_sets(config: dict, root: Path) -> list[str]:
    """``--set`` overrides: sizes and paths only; the shipped recipe stays."""
    model = TINY_MODEL.get(config["model"]) or under(root, config["model"])
    sources = [{"shards": str(root / "shards" / Path(s["shards"]).parent.name / "*.tar"), "weight": s.get("weight", 1)}
               for s in config["data"]["sources"]]
    sets = [f"model={model}", f"out={under(root, config['out'])}", f"data.sources={json.dumps(sources)}",
            "data.shuffle_buffer=8",
            "data.workers=1",  # one loader process still runs the worker path; more only cost start-up here
            "max_steps=2", "log_every=1"]
    if config.get("tokenizer"):
        sets.append(f"tokenizer={root / 'tokenizer'}")
    if config.get("init_encoder_from"):
        sets.append(f"init_encoder_from={under(root, config['init_encoder_from'])}")
    if config.get("eval", {}).get("shards"):
        sets += [f"eval.shards={root / 'heldout/text-page/*.tar'}", "eval.samples=4", "eval.batch_size=4",
                 "eval.max_new_tokens=8"]
    return sets


def train_shipped(name: str, root: Path, done: dict[str, dict]) -> dict:
    """Train shipped config ``name`` for two steps, after the shipped configs whose output it starts from."""
    if name in done:
        return done[name]
    config = yaml.safe_load((ROOT / "configs/train" / name).read_text())
    for key in ("model", "init_encoder_from"):
        wanted = config.get(key) or ""
        for other in TRAIN_CONFIGS:
            out = yaml.safe_load(other.read_text())["out"]
            if wanted.startswith(out + "/"):
                train_shipped(other.name, root, done)
    sets = [arg for item in train_sets(config, root) for arg in ("--set", item)]
    result = gotforge("train", "--config", str(ROOT / "configs/train" / name), *sets)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    done[name] = {"summary": summary, "stderr": result.stderr, "out": Path(under(root, config["out"]))}
    return done[name]


@pytest.fixture(scope="module")
def trained() -> dict[str, dict]:
    return {}


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.name)
def test_each_shipped_training_config_trains_two_steps(path: Path, inputs: Path, trained: dict) -> None:
    run = train_shipped(path.name, inputs, trained)
    assert run["summary"]["step"] == 2
    assert (run["out"] / "final/model.safetensors").is_file() or (run["out"] / "final/encoder.safetensors").is_file()
    shipped = yaml.safe_load(path.read_text())
    saved = yaml.safe_load((run["out"] / "final/train_config.yaml").read_text())
    for key, value in shipped.items():
        if key not in OVERRIDDEN:
            kept = {k: v for k, v in value.items() if k not in OVERRIDDEN_DATA} if key == "data" else value
            got = {k: saved[key][k] for k in kept} if isinstance(kept, dict) else saved[key]
            assert got == kept, key
    if shipped.get("eval", {}).get("shards"):
        assert json.loads((run["out"] / "curve.json").read_text())[-1]["step"] == 2
    assert library_warnings(run["stderr"]) == []


def test_a_tiny_train_and_eval_print_no_library_warnings(inputs: Path, trained: dict) -> None:
    run = train_shipped("tiny-demo.yaml", inputs, trained)  # its evaluation runs inside the training run
    assert library_warnings(run["stderr"]) == []
    result = gotforge("eval", "--checkpoint", str(run["out"] / "final"), "--shards",
                      str(inputs / "heldout/text-page/*.tar"), "--samples", "4", "--max-new-tokens", "8")
    assert result.stdout.startswith("group")
    assert library_warnings(result.stderr) == []


@pytest.mark.parametrize("path", RENDER_CONFIGS, ids=lambda p: p.name)
def test_each_shipped_render_config_renders(path: Path, tmp_path: Path) -> None:
    renderers = yaml.safe_load(path.read_text())["renderers"]
    weights = [(entry or {}).get("weight", 1.0) for entry in renderers.values()]
    samples = next(n for n in range(len(renderers), 1000) if min(split_by_weight(n, weights)) > 0)
    out = tmp_path / "out"
    gotforge("render", "--config", str(path), "--out", str(out), "--samples", str(samples),
             "--shard-size", str(samples), "--workers", "1", "--quiet")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["samples"] == samples
    assert set(manifest["renderers"]) == set(renderers)
