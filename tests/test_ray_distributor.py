"""The Ray distributor on a real two-node cluster on this machine: the local pool's bytes, a Ray
worker killed mid-shard, the driver killed mid-run, and a node that cannot import a renderer."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from pipelines.render.config import RendererJob, RunConfig
from pipelines.render.plan import RunError, ShardJob, plan
from pipelines.render.ray_distributor import distribute
from pipelines.render.run import render_run
from pipelines.render.worker import ProgressFn, RenderContext
from tests.shard_helpers import LINES, digits_run, tar_bytes

ROOT = Path(__file__).resolve().parent.parent
NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20}


@pytest.fixture(scope="module")
def cluster():
    """A head and a second node, one CPU each, this process connected as the driver."""
    nodes = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    nodes.add_node(**NODE)
    nodes.wait_for_nodes()
    ray.init(address=nodes.address, logging_level=logging.WARNING)
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def same_output(a: Path, b: Path, renderers: list[str]) -> None:
    assert tar_bytes(a) == tar_bytes(b)
    for name in ["sizes.json", "run.json", *(f"{r}/sizes.json" for r in renderers)]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert json.loads((a / "manifest.json").read_text())["totals"] == json.loads((b / "manifest.json").read_text())["totals"]
    assert not list(a.rglob(".*.tmp")), "a temp file was left behind"


def shard_makers(busy: bool) -> list[int]:
    """Pids of the Ray worker processes that are actors making shards (``busy``: making one now)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if title.startswith("ray::_ShardMaker") and (not busy or "make" in title):
            found.append(int(proc.name))
    return found


def test_a_mixed_run_on_two_nodes_writes_the_local_pools_bytes(cluster, tmp_path: Path) -> None:
    config = RunConfig(seed=5, shard_size=6, renderers=(
        RendererJob(name="digits", samples=30), RendererJob(name="text-page", samples=12, options=LINES)))
    local = render_run(config, tmp_path / "local", workers=2, show_progress=False)
    on_ray = render_run(config, tmp_path / "ray", workers=2, show_progress=False, distributor="ray")
    same_output(tmp_path / "ray", tmp_path / "local", ["digits", "text-page"])
    assert on_ray["totals"] == local["totals"] == {"samples": 42, "shards": 7, "rejects": 0}
    deadline = time.monotonic() + 30  # ray.kill returns before the process is gone
    while shard_makers(busy=False):
        assert time.monotonic() < deadline, "actors outlived the run"
        time.sleep(0.1)
    stats = {p: p.read_text() for p in (tmp_path / "ray").rglob("*.stats.json")}
    render_run(config, tmp_path / "ray", workers=2, show_progress=False, distributor="ray")
    assert {p: p.read_text() for p in (tmp_path / "ray").rglob("*.stats.json")} == stats  # nothing made again


def test_a_ray_worker_killed_mid_shard_is_retried(cluster, tmp_path: Path, caplog) -> None:
    config = digits_run(samples=1200, shard_size=200, seed=7)
    render_run(config, tmp_path / "local", workers=2, show_progress=False)
    out = tmp_path / "ray"
    killed: list[int] = []

    def kill_one_mid_shard() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if list((out / "digits").glob(".*.tar.tmp")) and (pids := shard_makers(busy=True)):
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_mid_shard)
    killer.start()
    with caplog.at_level(logging.WARNING, logger="pipelines.render.ray_distributor"):
        render_run(config, out, workers=2, show_progress=False, distributor="ray")
    killer.join()
    assert killed, "no shard maker was seen mid-shard"
    assert any("its Ray worker was lost (" in r.getMessage() and r.getMessage().endswith("trying again (2 of 3)")
               for r in caplog.records)
    same_output(out, tmp_path / "local", ["digits"])
    assert len(list((out / "digits").glob("*.stats.json"))) == 6  # one commit mark per shard, none twice


def test_a_killed_driver_is_resumed_by_a_rerun(cluster, tmp_path: Path) -> None:
    config = digits_run(samples=1600, shard_size=200, seed=11)
    render_run(config, tmp_path / "local", workers=2, show_progress=False)
    out = tmp_path / "ray"
    command = [sys.executable, "-m", "pipelines.cli", "render", "--renderer", "digits", "--samples", "1600",
               "--shard-size", "200", "--seed", "11", "--out", str(out), "--workers", "2", "--quiet",
               "--distributor", "ray", "--ray-address", cluster.address]
    driver = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while len(list((out / "digits").glob("*.stats.json"))) < 2:
        assert driver.poll() is None, driver.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    driver.stderr.close()
    before = {p.name: p.read_text() for p in (out / "digits").glob("*.stats.json")}
    assert 2 <= len(before) < 8
    deadline = time.monotonic() + 60  # Ray ends the dead driver's actors
    while shard_makers(busy=False):
        assert time.monotonic() < deadline, "the killed driver's actors are still running"
        time.sleep(0.1)

    rerun = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    same_output(out, tmp_path / "local", ["digits"])
    for name, stats in before.items():  # committed shards were kept, not made again
        assert (out / "digits" / name).read_text() == stats


def test_a_node_without_the_plugin_fails_the_run_before_work(cluster, tmp_path: Path) -> None:
    bare = cluster.add_node(**NODE, env_vars={"PYTHONPATH": ""})  # the plugin is on PYTHONPATH only
    cluster.wait_for_nodes()
    try:
        with pytest.raises(RunError) as failed:
            render_run(digits_run(), tmp_path, workers=2, show_progress=False, distributor="ray")
    finally:
        cluster.remove_node(bare)
    message = str(failed.value)
    assert f"node {bare.node_ip_address} (" in message and bare.unique_id[:8] in message
    assert "cannot import renderer digits from package gotforge-digits" in message
    assert message.count("cannot import") == 1  # the head and the second node have it
    assert not list(tmp_path.rglob("*.tar")) and not list(tmp_path.rglob("*.tmp"))


def test_a_render_config_chooses_ray_and_its_cluster(cluster, tmp_path: Path, gotforge) -> None:
    config = tmp_path / "ray.yaml"
    config.write_text(f"samples: 20\nshard_size: 10\nseed: 3\nout: {tmp_path / 'ray'}\ndistributor: ray\n"
                      f"ray_address: {cluster.address}\nrenderers:\n  digits: {{weight: 1}}\n")
    gotforge("render", "--config", str(config), "--quiet")
    for refused in (  # a cluster address with the local distributor
            gotforge("render", "--config", str(config), "--distributor", "local", "--out", str(tmp_path / "x"),
                     check=False),
            gotforge("render", "--renderer", "digits", "--out", str(tmp_path / "x"), "--ray-address", "auto",
                     check=False)):
        assert refused.returncode == 2 and "the cluster is for --distributor ray" in refused.stderr
    assert not (tmp_path / "x").exists()
    render_run(digits_run(20, 10, seed=3), tmp_path / "local", show_progress=False)
    same_output(tmp_path / "ray", tmp_path / "local", ["digits"])


class FlakyContext(RenderContext):
    """Shard 1 fails once, shard 2 every time, with an error a retry may cure (an I/O error)."""

    def make(self, job: ShardJob, progress: ProgressFn) -> dict:
        mark = self.out / f"{job.name}.failed"
        if job.shard == 2 or (job.shard == 1 and not mark.exists()):
            mark.touch()
            raise OSError(f"the shared filesystem hiccupped on {job.name}")
        return super().make(job, progress)


def test_failed_shards_are_tried_again_up_to_the_limit(cluster, tmp_path: Path, caplog) -> None:
    config = digits_run(samples=40, shard_size=10, seed=2)
    render_run(config, tmp_path / "local", show_progress=False)
    out = tmp_path / "ray"
    out.mkdir()
    shutil.copy(tmp_path / "local/run.json", out / "run.json")  # the folder claimed, as render_run does first
    with caplog.at_level(logging.WARNING, logger="pipelines.render.ray_distributor"):
        failures = distribute(plan(config), FlakyContext(config, out), 2, lambda done, rejected: None)
    assert failures == [("digits-000002: tried 3 times; the last time it failed "
                        "(OSError: the shared filesystem hiccupped on digits-000002)")]
    retries = [r.getMessage() for r in caplog.records if "trying again" in r.getMessage()]
    assert sorted(m.split(":")[0] for m in retries) == ["shard digits-000001", "shard digits-000002",
                                                          "shard digits-000002"]
    made = tar_bytes(out)
    assert made == {k: v for k, v in tar_bytes(tmp_path / "local").items() if "000002" not in k}
