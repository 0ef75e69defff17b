"""The Ray distributor: a run's shards made by Ray actors on a cluster (img2dataset's Ray distributor).

The second implementation of :class:`pipelines.render.distribute.Distributor`, chosen with
``--distributor ray``; nothing else of the engine changes, so the bytes are the local pool's.

* Connection: the Ray session already open in this process, else ``ray.init()``'s own default (the
  cluster named by ``RAY_ADDRESS``, else a new one on this machine). :func:`connected` opens one to a
  given address for the length of a run (``--ray-address``).
* Before any shard: every node that can take work imports each renderer of the run, and sees the
  output folder and the corpora; a node that cannot fails the run with a message naming the node and
  the package (:func:`check_nodes`). A renderer of another version on a node fails it too, since its
  shards would differ from the run's identity.
* Work: one actor task per shard. An actor serves one renderer, built when the actor starts (the
  first actors start while the nodes are checked) and kept between shards, so a browser or a LaTeX
  pool starts once per actor, never per shard. At most ``workers`` actors live at
  once; an actor whose renderer has no shard left is closed and its place goes to a renderer that
  has. An actor reserves one CPU, a browser renderer's :data:`BROWSER_CPUS` (Chromium's processes run
  beside Python), capped at the largest node's CPUs so that a small node can still take the shard.
* Faults: a shard whose actor is lost (its process killed, its node gone) or that raised anything but
  :class:`pipelines.render.worker.ShardError` (a renderer that rejects too often does so again) is
  tried again, on another actor, up to :data:`MAX_TRIES` times in all. A lost shard left only its
  temp file, which the next try truncates; the commit rules are the writer's, unchanged.
* Progress: actors send ``(samples, rejects)`` through a Ray queue, as the local pool's workers do
  through theirs.

The output folder and the corpora must be at the same path on every node (a shared filesystem): each
shard is committed by the node that makes it.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ray
from ray.util.queue import Queue
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from pipelines.render.distribute import ShardWorker, drain_progress
from pipelines.render.plan import RunError, ShardJob
from pipelines.render.worker import GC_THRESHOLDS, ProgressFn, RenderContext, ShardError
from renderers import registry

log = logging.getLogger(__name__)

MAX_TRIES = 3  # per shard, the first included
BROWSER_CPUS = 1.2
WAIT_SECONDS = 0.2  # the driver's longest sleep between looks at finished shards and progress
CLOSE_SECONDS = 60  # for an actor to close its renderers before it is killed


@contextlib.contextmanager
def connected(address: str | None = None) -> Iterator[None]:
    """Inside the block this process is connected to Ray: to the cluster at ``address`` (``auto``:
    the one started on this machine with ``ray start``), or by ``ray.init()``'s default when None. A
    session this call opened is closed after it; one already open is used as it is."""
    if ray.is_initialized():
        yield
        return
    ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
    try:
        yield
    finally:
        ray.shutdown()


def cluster_cpus() -> int:
    """The CPUs of the connected cluster's live nodes: the default number of actors."""
    return max(1, int(sum(n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"])))


def distribute(jobs: list[ShardJob], context: RenderContext, workers: int, progress: ProgressFn) -> list[str]:
    """The :class:`~pipelines.render.distribute.Distributor` on Ray; ``workers`` actors at most."""
    if not jobs:
        return []
    with connected():
        remote = dataclasses.replace(context, out=context.out.absolute())  # a path that means one folder everywhere
        names = list(dict.fromkeys(job.renderer for job in jobs))
        largest = max(n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"])
        browsers = set(registry.browser_renderers(names))
        cpus = {name: min(BROWSER_CPUS if name in browsers else 1.0, largest) for name in names}
        return _Scheduler(remote, workers, cpus, progress).run(jobs, lambda: check_nodes(remote, names))


# --- before any work: what every node can do -------------------------------------------------------

@ray.remote(num_cpus=0)
def _node_report(context: RenderContext, names: list[str], cwd: str) -> dict[str, Any]:
    """What this node makes of the run: renderer versions, import errors, paths it cannot see."""
    with contextlib.suppress(OSError):
        os.chdir(cwd)  # relative corpus paths mean what they mean on the driver
    versions, errors = {}, {}
    for name in names:
        try:
            versions[name] = str(registry.load(name).version)
        except Exception as err:  # noqa: BLE001 - whatever stops the import is the node's answer
            errors[name] = f"{type(err).__name__}: {err}"
    paths = [context.out / "run.json", *(Path(job.corpus) for job in context.config.renderers if job.corpus)]
    return {"host": socket.gethostname(), "versions": versions, "errors": errors,
            "unseen": [str(p) for p in paths if not p.exists()]}


def check_nodes(context: RenderContext, names: list[str]) -> None:
    """Raise :class:`RunError` unless every live node with CPUs imports each renderer of ``names`` at
    the driver's version and sees the output folder and the corpora."""
    nodes = [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0]
    if not nodes:
        raise RunError("the Ray cluster has no live node with CPUs to render on")
    reports = ray.get([
        _node_report.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
        .remote(context, names, os.getcwd())
        for n in nodes
    ])
    problems = []
    for node, report in zip(nodes, reports):
        where = f"node {node['NodeManagerAddress']} ({report['host']}, id {node['NodeID'][:8]})"
        for name, error in report["errors"].items():
            package = registry.get_entry(name).package
            problems.append(f"{where} cannot import renderer {name} from package {package}: {error}; "
                            f"install {package} on every node")
        for name, version in report["versions"].items():
            if version != (expected := str(registry.load(name).version)):
                problems.append(f"{where} has renderer {name} version {version}, this run needs {expected} "
                                f"(package {registry.get_entry(name).package}); install the same version everywhere")
        problems += [f"{where} does not see {path}: the output folder and the corpora must be at the same "
                     "path on every node (a shared filesystem)" for path in report["unseen"]]
    if problems:
        raise RunError("the Ray cluster cannot make this run; nothing was rendered:\n  " + "\n  ".join(problems))


# --- the actors -----------------------------------------------------------------------------------

class _ShardMaker:
    """A Ray actor: one worker process that makes shards of one renderer, built when it starts."""

    def __init__(self, context: RenderContext, progress: Queue, cwd: str, renderer: str) -> None:
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        gc.set_threshold(*GC_THRESHOLDS)  # the actor's process ends with the run: nothing to restore
        self.worker = ShardWorker(context, progress)
        context.renderer(renderer)

    def make(self, job: ShardJob) -> dict[str, Any]:
        try:
            return self.worker.context.make(job, self.worker.progress)
        finally:
            self.worker.flush()

    def close(self) -> None:
        self.worker.context.close()


_SHARD_MAKER = ray.remote(_ShardMaker)


@dataclasses.dataclass
class _Actor:
    handle: Any
    renderer: str
    job: ShardJob | None = None  # the shard in flight
    ref: Any = None  # its result


class _Scheduler:
    """The driver's side: actors started and retired, shards handed out, results and retries."""

    def __init__(self, context: RenderContext, workers: int, cpus: dict[str, float], progress: ProgressFn) -> None:
        self.workers, self.cpus, self.progress = workers, cpus, progress
        self.context_ref = ray.put(context)
        self.queue = Queue(actor_options={"num_cpus": 0})
        self.actors: list[_Actor] = []
        self.tries: collections.Counter[ShardJob] = collections.Counter()
        self.failures: list[str] = []
        self.finished = self.reported = 0

    def run(self, jobs: list[ShardJob], check: Callable[[], None]) -> list[str]:
        """Make ``jobs``; the first actors start (and build their renderers) while ``check`` runs,
        and no shard is handed out unless it passes."""
        self.waiting = {name: collections.deque(j for j in jobs if j.renderer == name) for name in self.cpus}
        try:
            while len(self.actors) < self.workers and (name := self._neediest()):
                self._start(name)
            check()
            while any(self.waiting.values()) or any(a.ref is not None for a in self.actors):
                self._hand_out()
                in_flight = {a.ref: a for a in self.actors if a.ref is not None}
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=WAIT_SECONDS)
                for ref in ready:
                    self._collect(in_flight[ref])
                drain_progress(self.queue, self._count)
        except KeyboardInterrupt:
            for actor in self.actors:
                ray.kill(actor.handle)
            self.actors.clear()
            raise
        finally:
            self._retire(self.actors)
            drain_progress(self.queue, self._count)
            ray.kill(self.queue.actor)
        if self.finished > self.reported:  # progress messages are best-effort; the finished shards are the truth
            self.progress(self.finished - self.reported, 0)
        return self.failures

    def _count(self, done: int, rejected: int) -> None:
        self.reported += done
        self.progress(done, rejected)

    def _hand_out(self) -> None:
        """Give idle actors their renderer's next shard, retire those with none, start new ones."""
        idle = [a for a in self.actors if a.ref is None]
        self._retire([a for a in idle if not self.waiting[a.renderer]])
        for actor in idle:
            if self.waiting[actor.renderer]:
                self._submit(actor, self.waiting[actor.renderer].popleft())
        while len(self.actors) < self.workers and (name := self._neediest()):
            self._submit(self._start(name), self.waiting[name].popleft())

    def _neediest(self) -> str | None:
        """The renderer with the most waiting shards per actor already serving it, among those with
        more waiting shards than idle actors."""
        serving = collections.Counter(a.renderer for a in self.actors)
        idle = collections.Counter(a.renderer for a in self.actors if a.ref is None)
        wanting = [n for n, waiting in self.waiting.items() if len(waiting) > idle[n]]
        return max(wanting, key=lambda n: len(self.waiting[n]) / (1 + serving[n]), default=None)

    def _start(self, name: str) -> _Actor:
        maker = _SHARD_MAKER.options(num_cpus=self.cpus[name], max_restarts=0)
        actor = _Actor(maker.remote(self.context_ref, self.queue, os.getcwd(), name), name)
        self.actors.append(actor)
        return actor

    def _submit(self, actor: _Actor, job: ShardJob) -> None:
        self.tries[job] += 1
        actor.job, actor.ref = job, actor.handle.make.remote(job)

    def _collect(self, actor: _Actor) -> None:
        job, ref = actor.job, actor.ref
        assert job is not None
        actor.job = actor.ref = None
        try:
            ray.get(ref)
            self.finished += job.count
            return
        except ray.exceptions.RayActorError as err:  # its process or node is gone: so is the actor
            self.actors.remove(actor)
            ray.kill(actor.handle)  # never two writers of one shard, should it still be running
            reason = f"its Ray worker was lost ({type(err).__name__})"
        except ray.exceptions.RayTaskError as err:
            error = err.cause if err.cause is not None else err
            reason = f"it failed ({type(error).__name__}: {error})"
            if isinstance(error, ShardError):
                self.failures.append(f"{job.name}: {error}")
                return
        if self.tries[job] >= MAX_TRIES:
            self.failures.append(f"{job.name}: tried {MAX_TRIES} times; the last time {reason}")
            return
        log.warning("shard %s: %s; trying again (%d of %d)", job.name, reason, self.tries[job] + 1, MAX_TRIES)
        self.waiting[job.renderer].appendleft(job)

    def _retire(self, actors: list[_Actor]) -> None:
        """Close the actors' renderers (browsers, LaTeX), then end their processes."""
        if not actors:
            return
        closing = [a.handle.close.remote() for a in actors]
        with contextlib.suppress(ray.exceptions.RayError):
            ray.wait(closing, num_returns=len(closing), timeout=CLOSE_SECONDS)
        for actor in actors:
            ray.kill(actor.handle)
            if actor in self.actors:
                self.actors.remove(actor)
