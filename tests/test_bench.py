"""The arithmetic of ``gotforge bench`` (speeds are printed, never asserted: this machine is shared)."""

from __future__ import annotations

import pytest

from pipelines.bench.renderers import steady_throughput


def shard(start: float, seconds: float, count: int) -> dict[str, float]:
    return {"started_at": start, "finished_at": start + seconds, "count": count}


def test_one_worker_throughput_is_samples_over_shard_time() -> None:
    warm_up = shard(0.0, 3.0, 10)  # the worker's first shard, left out
    shards = [warm_up, shard(3.0, 2.0, 20), shard(5.5, 1.0, 10), shard(6.5, 4.0, 20)]  # a gap between shards
    assert steady_throughput(shards, 1) == pytest.approx(50 / 7.0)


def test_two_worker_throughput_leaves_out_start_up_and_the_tail() -> None:
    # Worker A renders 10 samples/s after a slow first shard; worker B starts 1.5 s later (start-up)
    # and renders 5 samples/s after its own first shard; A's last shard ends 3 s after B's (the
    # tail). While both run past their first shards, 15 samples/s are made.
    a = [shard(0.0, 2.0, 5), shard(2.0, 2.0, 20), shard(4.0, 2.0, 20), shard(6.0, 2.0, 20)]
    b = [shard(1.5, 1.5, 2), shard(3.0, 1.8, 9), shard(4.8, 1.8, 9)]
    assert steady_throughput(a + b, 2) == pytest.approx(15.0)


def test_a_run_where_workers_never_overlap_is_an_error() -> None:
    with pytest.raises(ValueError, match="too short"):
        steady_throughput([shard(0.0, 1.0, 5), shard(0.5, 1.0, 5), shard(1.5, 1.0, 5), shard(2.5, 1.0, 5)], 2)
