"""The local process pool: shards made in spawned worker processes, a dead worker replaced.

``concurrent.futures``' pool breaks for every pending shard when one of its processes dies (the OOM
killer, a back-end library that crashes, a SIGKILL). Here each worker process serves one shard at a
time over a pipe of its own, and the main process waits on every pipe and every process at once,
so it knows which shard a dead worker was making. That shard is made again by a fresh worker (a
shard is a pure function of its job, so the bytes are the same); the other workers never stop. A
shard whose worker dies :data:`MAX_DEATHS` times is reported as failed, naming it and how its
worker ended, and the run goes on with the others.

A worker that the per-sample watchdog could not stop (a back-end stuck in native code) ends itself
with :data:`pipelines.render.watchdog.HUNG_EXIT` and is counted the same way.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import multiprocessing
import multiprocessing.connection
import signal
from typing import Any

from pipelines.render.distribute import ShardWorker
from pipelines.render.plan import ShardJob
from pipelines.render.watchdog import HUNG_EXIT, end_process_when_stuck
from pipelines.render.worker import GC_THRESHOLDS, ProgressFn, RenderContext

MAX_DEATHS = 3  # deaths of a shard's worker before the shard is failed (a shard that kills every worker)
CLOSE_WAIT_S = 30.0  # for a worker to close its renderers (browsers, LaTeX) before it is terminated


# --- worker side -------------------------------------------------------------------------------

class _Sender:
    """The progress channel of :class:`ShardWorker` over the worker's pipe."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def put(self, counts: tuple[int, int]) -> None:
        self.conn.send(("progress", *counts))


def die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the main process dies (even by SIGKILL), so an
    orphan never keeps writing into a folder that a rerun is resuming."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _serve(context: RenderContext, conn: Any) -> None:
    """A worker process: make each job received until ``None``, answering ``done`` or ``failed``."""
    die_with_parent()
    gc.set_threshold(*GC_THRESHOLDS)  # the worker process ends with the run: nothing to restore
    end_process_when_stuck()  # the pool makes the shard again in a fresh process
    worker = ShardWorker(context, _Sender(conn))
    while (job := conn.recv()) is not None:
        try:
            context.make(job, worker.progress)
            answer: tuple[Any, ...] = ("done",)
        except Exception as err:  # noqa: BLE001 - reported per shard, the run goes on
            answer = ("failed", str(err))
        worker.flush()
        conn.send(answer)
    context.close()


# --- main side ---------------------------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class _Slot:
    process: Any
    conn: Any
    job: ShardJob | None = None


def how_it_ended(exitcode: int | None) -> str:
    if exitcode == HUNG_EXIT:
        return "a sample ran past its time limit in native code and the worker ended itself"
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


class Pool:
    """``workers`` spawned processes making ``jobs``; :meth:`run` returns the failures."""

    def __init__(self, jobs: list[ShardJob], context: RenderContext, workers: int, progress: ProgressFn) -> None:
        self.queue = collections.deque(jobs)
        self.context, self.workers, self.progress = context, workers, progress
        self.mp = multiprocessing.get_context("spawn")
        self.slots: list[_Slot] = []
        self.deaths: collections.Counter[str] = collections.Counter()
        self.failures: list[str] = []
        self.finished = self.reported = 0

    def run(self) -> list[str]:
        try:
            while self.queue or any(slot.job for slot in self.slots):
                self._hand_out()
                self._wait()
        except BaseException:
            self._stop(terminate=True)
            raise
        self._stop(terminate=False)
        if self.finished > self.reported:  # progress messages are best-effort; finished shards are the truth
            self.progress(self.finished - self.reported, 0)
        return self.failures

    def _hand_out(self) -> None:
        for slot in self.slots:
            if slot.job is None and self.queue:
                slot.job = self.queue.popleft()
                slot.conn.send(slot.job)
        while self.queue and len(self.slots) < self.workers:
            self.slots.append(self._start())
            self.slots[-1].job = self.queue.popleft()
            self.slots[-1].conn.send(self.slots[-1].job)

    def _start(self) -> _Slot:
        ours, theirs = self.mp.Pipe()
        process = self.mp.Process(target=_serve, args=(self.context, theirs), daemon=True,
                                  name="gotforge-render-worker")
        process.start()
        theirs.close()  # so a dead worker's pipe reads as closed here
        return _Slot(process, ours)

    def _wait(self) -> None:
        waits = {slot.conn: slot for slot in self.slots} | {slot.process.sentinel: slot for slot in self.slots}
        for ready in multiprocessing.connection.wait(list(waits)):
            slot = waits[ready]
            if slot in self.slots:
                self._read(slot)

    def _read(self, slot: _Slot) -> None:
        """Every message waiting on ``slot``'s pipe; a closed pipe or an ended process is a death."""
        try:
            while slot.conn.poll():
                self._answer(slot, slot.conn.recv())
            if slot.process.is_alive():
                return
        except (EOFError, OSError):
            pass
        self._buried(slot)

    def _answer(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        kind, *rest = message
        if kind == "progress":
            self.reported += rest[0]
            self.progress(*rest)
            return
        assert slot.job is not None
        if kind == "done":
            self.finished += slot.job.count
        else:
            self.failures.append(f"{slot.job.name}: {rest[0]}")
        slot.job = None

    def _buried(self, slot: _Slot) -> None:
        """Remove a dead worker; its shard goes back to the front of the queue, or fails."""
        slot.process.join()
        slot.conn.close()
        self.slots.remove(slot)
        job = slot.job
        if job is None:
            return
        self.deaths[job.name] += 1
        ended = how_it_ended(slot.process.exitcode)
        if self.deaths[job.name] >= MAX_DEATHS:
            self.failures.append(f"{job.name}: its worker process died {MAX_DEATHS} times while making it "
                                 f"(the last {ended}); the other shards went on")
        else:
            self.queue.appendleft(job)

    def _stop(self, terminate: bool) -> None:
        """Ask idle workers to close their renderers and end; terminate the rest (or all)."""
        for slot in self.slots:
            if not terminate:
                with contextlib.suppress(OSError):
                    slot.conn.send(None)
        for slot in self.slots:
            if terminate:
                slot.process.terminate()
            slot.process.join(CLOSE_WAIT_S)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self.slots.clear()


def run_pool(jobs: list[ShardJob], context: RenderContext, workers: int, progress: ProgressFn) -> list[str]:
    """The :class:`~pipelines.render.distribute.Distributor` body of ``local`` with several workers."""
    return Pool(jobs, context, min(workers, len(jobs)), progress).run()
