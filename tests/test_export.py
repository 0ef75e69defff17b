"""`gotforge export`: each format read back the way its tool reads it, prompts equal to the trainer's."""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from got_model.prompts import MULTI_CROP, query_for_meta
from pipelines.cli import main
from pipelines.export import DATASET_INFO, ENTRY, JSONL
from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.run import render_run
from pipelines.shard_format import read_samples


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Plain (digits), box- and colour-guided (text-page) and two-page (mathpix-doc) samples."""
    out = tmp_path_factory.mktemp("run")
    config = RunConfig(seed=5, shard_size=3, renderers=(
        RendererJob(name="digits", samples=5),
        RendererJob(name="text-page", samples=4, options={"regions": {"box": 0.5, "color": 0.5}}),
        RendererJob(name="mathpix-doc", samples=2, options={"pages": [2, 2]}),
    ))
    render_run(config, out, show_progress=False)
    return out


def stored(run: Path) -> dict[str, dict]:
    """Every sample of the run by key, as the shards hold it."""
    return {r["key"]: r for name in json.loads((run / "sizes.json").read_text()) for r in read_samples(run / name)}


def export(run: Path, fmt: str, out: Path) -> None:
    assert main(["export", str(run), "--format", fmt, "--out", str(out)]) == 0


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_parquet_loads_in_datasets_with_the_trainers_prompts(run, tmp_path):
    export(run, "parquet", tmp_path / "pq")
    datasets.disable_progress_bars()
    table = datasets.load_dataset("parquet", data_files=str(tmp_path / "pq" / "*" / "*.parquet"), split="train",
                                  cache_dir=str(tmp_path / "hf"))
    samples = stored(run)
    assert len(table) == sum(json.loads((run / "sizes.json").read_text()).values()) == len(samples) == 11
    raw = table.cast_column("images", datasets.List(datasets.Image(decode=False)))
    for row, undecoded in zip(table, raw):
        sample = samples[row["key"]]
        assert row["prompt"] == query_for_meta(sample["meta"]) == sample["meta"]["prompt"]
        assert row["target"] == sample["target"] and row["renderer"] == sample["meta"]["renderer"]
        assert json.loads(row["meta"]) == sample["meta"] and row["source"] is None
        assert [i["bytes"] for i in undecoded["images"]] == sample["images"], "PNG bytes must be copied as they are"
        assert len(row["images"]) == len(sample["images"])
        for image, png in zip(row["images"], sample["images"]):
            assert isinstance(image, Image.Image) and np.array_equal(np.asarray(image), pixels(png))
    prompts = set(table["prompt"])
    assert any(p.startswith(("[red]", "[green]", "[blue]")) for p in prompts)  # colour-guided
    assert any(p[:1] == "[" and p[1].isdigit() for p in prompts)  # box-guided
    assert "OCR with format across multi pages: " in prompts


def test_parquet_export_is_byte_identical_when_repeated(run, tmp_path):
    export(run, "parquet", tmp_path / "a")
    export(run, "parquet", tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    assert len(files) == 5  # one per tar
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


@pytest.mark.parametrize("fmt", ["swift", "sharegpt"])
def test_json_lines_follow_the_tools_schema(run, tmp_path, fmt):
    out = tmp_path / fmt
    export(run, fmt, out)
    samples = stored(run)
    rows = [json.loads(line) for line in (out / JSONL).read_text(encoding="utf-8").splitlines()]
    assert [r["key"] for r in rows] == list(samples)  # every sample once, in stored order
    for row in rows:
        sample = samples[row["key"]]
        user, assistant = row["messages"]
        assert user == {"role": "user", "content": "<image>" * len(sample["images"]) + query_for_meta(sample["meta"])}
        assert assistant == {"role": "assistant", "content": sample["target"]}
        assert user["content"].count("<image>") == len(row["images"]) == len(sample["images"])
        # ms-swift resolves paths against its working directory; LLaMA-Factory against dataset_dir.
        assert all(Path(p).is_absolute() == (fmt == "swift") for p in row["images"])
        assert [(out / p).read_bytes() for p in row["images"]] == sample["images"]
        assert row["source"] is None
    if fmt == "sharegpt":
        info = json.loads((out / "dataset_info.json").read_text())
        assert info == DATASET_INFO and info[ENTRY]["file_name"] == JSONL
        assert info[ENTRY]["formatting"] == "sharegpt" and info[ENTRY]["columns"]["images"] == "images"
    datasets.disable_progress_bars()  # both tools read the file with datasets' JSON builder
    assert len(datasets.load_dataset("json", data_files=str(out / JSONL), split="train",
                                     cache_dir=str(tmp_path / "hf"))) == len(samples)


def test_multi_crop_samples_are_whole_images_with_the_multi_crop_prompt(tmp_path):
    config = RunConfig(shard_size=2, renderers=(RendererJob(name="text-page", samples=2, options={"crops": 4}),))
    render_run(config, tmp_path / "run", show_progress=False)
    export(tmp_path / "run", "swift", tmp_path / "out")
    samples = stored(tmp_path / "run")
    for line in (tmp_path / "out" / JSONL).read_text().splitlines():
        row = json.loads(line)
        assert row["messages"][0]["content"] == "<image>" + MULTI_CROP
        assert [Path(p).read_bytes() for p in row["images"]] == samples[row["key"]]["images"]


def test_bad_input_is_refused_before_any_work(run, tmp_path, capsys):
    out = tmp_path / "out"
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "--format", "swift", "--out", str(out)]) == 2
    assert "no sizes.json" in capsys.readouterr().err and not out.exists()

    assert main(["export", str(run), "--format", "jsonl", "--out", str(out)]) == 2
    assert "choose one of swift, sharegpt, parquet" in capsys.readouterr().err and not out.exists()

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export", str(run), "--format", "parquet", "--out", str(out)]) == 2
    assert f"remove {out}" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and sorted(p.name for p in tmp_path.iterdir()) == [
        "empty", "out"]
