"""A run that mixes every built-in renderer loads in ``datasets`` as one table, nothing dropped."""

from __future__ import annotations

import json

import datasets
import pytest

from pipelines.hf_features import features_for_run
from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.run import render_run
from pipelines.shard_format import read_samples
from renderers import registry
from renderers.base import META_KEYS

BUILT_IN = [name for name, entry in registry.entries().items() if entry.package == "gotforge"]


def pruned(value):
    """``value`` without the ``None`` fields that a struct column adds for keys a sample lacks."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    jobs = [RendererJob(name=name, samples=3) for name in BUILT_IN]
    jobs[BUILT_IN.index("text-page")] = RendererJob(name="text-page", samples=3,
                                                    options={"regions": {"page": 0.4, "box": 0.3, "color": 0.3}})
    jobs[BUILT_IN.index("mathpix-doc")] = RendererJob(name="mathpix-doc", samples=3, options={"pages": [2, 3]})
    render_run(RunConfig(seed=4, shard_size=3, renderers=tuple(jobs)), out, workers=2, show_progress=False)
    return out


def test_a_mixed_run_loads_whole_in_datasets(mixed_run):
    datasets.disable_progress_bars()
    files = sorted(str(p) for p in mixed_run.glob("*/*.tar"))
    table = datasets.load_dataset("webdataset", data_files={"train": files}, split="train",
                                  features=features_for_run(mixed_run), cache_dir=str(mixed_run / ".hf"))
    sizes = json.loads((mixed_run / "sizes.json").read_text())
    assert len(table) == sum(sizes.values()) == 3 * len(BUILT_IN)
    stored = {r["key"]: r["meta"] for tar in files for r in read_samples(tar, images="skip")}
    for row in table:
        meta = row["json"]
        name = meta["renderer"]
        original = next(m for m in stored.values() if m["seed"] == meta["seed"] and m["renderer"] == name)
        assert pruned(meta[name]) == pruned(original[name]), f"{name}: its own meta changed on loading"
        assert all(meta[k] == original[k] for k in META_KEYS if k in original)
        assert row["txt"] and (row["png"] is not None or row["p0.png"] is not None)


def test_without_features_datasets_keeps_the_contract_keys_of_every_renderer(mixed_run):
    """Plain inference (first five samples) still gives every row the keys gotforge reads."""
    datasets.disable_progress_bars()
    files = sorted(str(p) for p in mixed_run.glob("*/*.tar"))
    table = datasets.load_dataset("webdataset", data_files={"train": files}, split="train",
                                  cache_dir=str(mixed_run / ".hf-plain"))
    assert len(table) == 3 * len(BUILT_IN)
    assert {row["json"]["renderer"] for row in table} == set(BUILT_IN)
    assert all(row["json"]["prompt"] and row["json"]["lang"] for row in table)
