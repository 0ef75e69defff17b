"""The worker-memory measurement (pipelines/browser_memory.py): PSS read per process of a real
tree, roles told apart, and a short real run of a browser renderer in a fresh worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pipelines.bench import browser_memory

ALLOCATE = """
import sys, time
block = bytearray(64 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1  # touch every page, so it is resident
print("ready", flush=True)
time.sleep(60)
"""


def test_a_child_process_memory_is_counted_in_the_tree():
    before = browser_memory.tree_pss(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", ALLOCATE], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert child.pid in browser_memory.process_tree(os.getpid())
        assert browser_memory.role(child.pid, os.getpid()) == "other"
        assert browser_memory.role(os.getpid(), os.getpid()) == "python"
        after = browser_memory.tree_pss(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert after["other"] - before["other"] >= 60  # MiB: the 64 MiB block, private to the child
    assert after["private"] - before["private"] >= 60
    assert after["total"] == pytest.approx(sum(after[r] for r in browser_memory.ROLES))


def test_a_run_too_short_for_its_checkpoints_is_refused():
    with pytest.raises(ValueError, match="at least"):
        browser_memory.measure("formula", samples=100)


def test_a_short_run_in_a_worker_reads_every_chromium_process():
    samples = browser_memory.CHECKPOINTS[0] + browser_memory.WINDOW
    started = time.monotonic()
    result = browser_memory.measure_in_worker("formula", samples=samples, options={"recycle_every": 120})
    assert time.monotonic() - started < 300
    assert list(result["checkpoints"]) == [str(browser_memory.CHECKPOINTS[0]), str(samples)]
    assert len(result["readings"]) == samples // browser_memory.READ_EVERY
    assert result["launches"] == 3  # recycled after 120 and 240 samples
    last = result["checkpoints"][str(samples)]
    for role in ("python", "driver", "browser", "renderer", "gpu"):
        assert last[role] > 1, role  # MiB: each process kind was found and read
    assert 0 < last["private"] < last["total"]
    assert result["cpu_ms"] > 5  # a formula takes ~35 ms of CPU, Chromium's processes included
    table = browser_memory.format_table([result])
    assert "| formula | recycle_every=120 |" in table
