"""Distributors: the local pool writes the same bytes as one process, and a second distributor with
the same signature plugs in by name and writes them too."""

from __future__ import annotations

import inspect
import json
import pickle

import pytest

from pipelines.render.config import ConfigError
from pipelines.render.distribute import DISTRIBUTORS, Distributor, local, ray
from pipelines.render.plan import ShardJob
from pipelines.render.run import render_run
from pipelines.render.worker import ProgressFn, RenderContext
from tests.shard_helpers import digits_run, tar_bytes


def sequential(jobs: list[ShardJob], context: RenderContext, workers: int, progress: ProgressFn) -> list[str]:
    """A second distributor: one job after the other, last first, from an unpickled copy of the
    context, as a remote worker would get it."""
    remote = pickle.loads(pickle.dumps(context))
    failures = []
    try:
        for job in reversed(jobs):
            try:
                remote.make(job, progress)
            except Exception as err:  # noqa: BLE001 - reported per shard, as the protocol asks
                failures.append(f"{job.name}: {err}")
    finally:
        remote.close()
    return failures


def signature(function) -> list[tuple[str, object, object]]:
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    return [(p.name, p.kind, p.annotation) for p in parameters] + [
        ("return", None, inspect.signature(function).return_annotation)]


@pytest.mark.parametrize("distributor", [local, ray, sequential])
def test_distributors_have_the_protocols_signature(distributor):
    assert signature(distributor) == signature(Distributor.__call__)


def test_local_is_chosen_by_name(tmp_path):
    assert DISTRIBUTORS == {"local": local, "ray": ray}  # ray: tests/test_ray_distributor.py
    with pytest.raises(ConfigError, match="unknown distributor 'spark'"):
        render_run(digits_run(), tmp_path, distributor="spark")
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_one_and_two_workers_write_identical_tars(tmp_path):
    config = digits_run(samples=45, shard_size=10)
    render_run(config, tmp_path / "one", workers=1, show_progress=False)
    render_run(config, tmp_path / "two", workers=2, show_progress=False)
    one, two = tar_bytes(tmp_path / "one"), tar_bytes(tmp_path / "two")
    assert len(one) == 5 and one == two
    other_seed = tar_bytes(render_run(digits_run(45, 10, seed=4), tmp_path / "s4", show_progress=False)
                           and tmp_path / "s4")
    assert other_seed != one


def test_a_second_distributor_writes_the_pools_bytes(tmp_path, monkeypatch):
    monkeypatch.setitem(DISTRIBUTORS, "sequential", sequential)
    config = digits_run(samples=45, shard_size=10)
    pool = render_run(config, tmp_path / "pool", workers=2, show_progress=False)
    other = render_run(config, tmp_path / "sequential", workers=2, show_progress=False, distributor="sequential")
    assert len(tar_bytes(tmp_path / "pool")) == 5
    assert tar_bytes(tmp_path / "sequential") == tar_bytes(tmp_path / "pool")
    for name in ("sizes.json", "digits/sizes.json", "run.json"):
        assert json.loads((tmp_path / "sequential" / name).read_text()) == json.loads((tmp_path / "pool" / name).read_text())
    assert other["totals"] == pool["totals"]
