"""``gotforge gpu-check``: its CPU path end to end (got-tiny, the trainer's own steps, the figures it prints),
and a clear refusal when a GPU is asked for and there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pipelines import cli
from pipelines.bench import gpu_check


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_cpu_path_trains_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str], bf16: bool) -> None:
    steps = 20 if not bf16 else 4
    args = ["gpu-check", "--device", "cpu", "--steps", str(steps), "--samples", "48", "--batch-size", "4",
            "--threads", "1", "--out", str(tmp_path), "--bf16" if bf16 else "--no-bf16"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    for words in ("samples/s", "tokens/s", "step time: data", "forward", "backward", "optimizer", "peak memory",
                  "loss:"):
        assert words in printed, words
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert result["steps"] == steps and result["model"] == "got-tiny" and result["bf16"] is bf16
    assert result["gradient_checkpointing"] is True
    assert result["samples_per_s"] > 0 and result["tokens_per_s"] > result["samples_per_s"]
    split = result["split"]
    assert set(split) == {"data", "forward", "backward", "optimizer", "other"}
    assert all(0 <= split[k] <= 1 for k in ("data", "forward", "backward", "optimizer"))
    assert split["forward"] > 0 and split["backward"] > 0 and split["optimizer"] > 0
    assert abs(sum(split.values()) - 1) < 1e-6
    assert result["peak_memory"]["peak_rss_gib"] > 0
    assert len(result["loss_curve"]) == steps
    if not bf16:  # 20 steps at lr 1e-3 from a fresh model: the loss falls
        assert result["loss_went_down"] and "going down" in printed


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: the refusal cannot be seen")
def test_asking_for_a_missing_gpu_is_refused_before_any_work(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["gpu-check", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU here" in err and "--device cpu" in err
    assert not (tmp_path / "x").exists()  # nothing rendered, nothing trained
    with pytest.raises(gpu_check.NoDevice):
        gpu_check.check_device("cuda")


def test_summary_of_steps() -> None:
    steps = [{"seconds": 1.0, "data": 0.1, "forward": 0.3, "backward": 0.5, "optimizer": 0.05, "samples": 8,
              "tokens": 800, "loss": 5.0 - i / 10} for i in range(20)]
    r = gpu_check.summarise(steps, warmup=2)
    assert r["timed_steps"] == 18 and r["samples_per_s"] == pytest.approx(8) and r["tokens_per_s"] == pytest.approx(800)
    assert r["split"]["forward"] == pytest.approx(0.3) and r["split"]["other"] == pytest.approx(0.05)
    assert r["loss_first"] == pytest.approx(4.95) and r["loss_went_down"]
