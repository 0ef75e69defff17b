"""The distributor: where the shard jobs of a run are made (img2dataset's distributor).

A distributor is one function, :class:`Distributor`; the engine picks it by name from
:data:`DISTRIBUTORS`. Each worker it runs gets the run's :class:`RenderContext` (one picklable
object) and calls ``context.make(job, progress)`` per job; what a shard is, and how it is
committed, is the worker's and the writer's business. So a cluster distributor (Ray tasks or
actors, say) is this one function again, with nothing else of the engine changed.

``local``: in this process for one worker (the renderers the engine built to fail early are used
as they are), else a pool of spawned processes, each with its own renderers, where a dead worker is
replaced and its shard made again (:mod:`pipelines.render.pool`). ``ray``: Ray actors on
a cluster (:mod:`pipelines.render.ray_distributor`), imported only when chosen, so Ray is an
optional extra.
"""

from __future__ import annotations

import multiprocessing.util
import queue
import time
from typing import Any, Protocol

from pipelines.config import ConfigError
from pipelines.render.plan import ShardJob
from pipelines.render.worker import ProgressFn, RenderContext


class Distributor(Protocol):
    """Make the shard of every job with ``context.make(job, progress)``; return the failures.

    An implementation must guarantee:

    * each job is made at most once at a time (two writers of one shard would race on its temp
      file); a job made again later is fine, as a worker's shard is a pure function of the job;
    * one failing shard never stops the others: every failure is returned, one
      ``"<job.name>: <error>"`` string per failed shard, and shards that did not fail are committed;
    * ``progress(samples, rejects)`` is called in the calling process, best-effort: late, merged
      or partly missing calls only change the progress bar, never what is written;
    * renderers built in workers it started are closed (``context.close()``) before it returns;
    * ``KeyboardInterrupt`` in the caller stops the workers and propagates.

    ``workers`` is how many shards may be made at once; the context says everything else.
    """

    def __call__(self, jobs: list[ShardJob], context: RenderContext, workers: int,
                 progress: ProgressFn) -> list[str]: ...


def local(jobs: list[ShardJob], context: RenderContext, workers: int, progress: ProgressFn) -> list[str]:
    """In this process for one worker or one job, else a pool of ``workers`` spawned processes."""
    if workers == 1 or len(jobs) <= 1:
        failures = []
        for job in jobs:
            try:
                context.make(job, progress)
            except Exception as err:  # noqa: BLE001 - reported per shard, the run goes on
                failures.append(f"{job.name}: {err}")
        return failures
    from pipelines.render.pool import run_pool  # imported here: the pool builds on this module

    return run_pool(jobs, context, workers, progress)


def ray(jobs: list[ShardJob], context: RenderContext, workers: int, progress: ProgressFn) -> list[str]:
    """On a Ray cluster, ``workers`` actors at most (:mod:`pipelines.render.ray_distributor`)."""
    return ray_module().distribute(jobs, context, workers, progress)


def ray_module() -> Any:
    """:mod:`pipelines.render.ray_distributor`, or a :class:`ConfigError` saying how to install Ray."""
    try:
        from pipelines.render import ray_distributor
    except ModuleNotFoundError as err:
        if err.name != "ray":
            raise
        raise ConfigError("--distributor ray needs Ray: pip install 'gotforge[ray]'") from None
    return ray_distributor


DISTRIBUTORS: dict[str, Distributor] = {"local": local, "ray": ray}


# --- pool worker side --------------------------------------------------------------------------

class ShardWorker:
    """Per-process state of a worker, local or a Ray actor: the context (its renderers) and the
    progress channel, which batches counts so the parent's queue is not flooded."""

    def __init__(self, context: RenderContext, progress_queue: Any) -> None:
        self.context, self.queue = context, progress_queue
        self.pending = [0, 0]
        self.last_flush = time.monotonic()
        multiprocessing.util.Finalize(self, context.close, exitpriority=10)

    def progress(self, done: int, rejects: int) -> None:
        self.pending[0] += done
        self.pending[1] += rejects
        if time.monotonic() - self.last_flush > 0.2:
            self.flush()

    def flush(self) -> None:
        if self.pending != [0, 0]:
            self.queue.put(tuple(self.pending))
            self.pending = [0, 0]
        self.last_flush = time.monotonic()


def drain_progress(progress_queue: Any, progress: ProgressFn) -> None:
    """Hand every count waiting in ``progress_queue`` to ``progress`` without blocking."""
    while True:
        try:
            done, rejected = progress_queue.get_nowait()
        except queue.Empty:
            return
        progress(done, rejected)
