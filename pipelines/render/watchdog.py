"""The per-sample time limit: a render or a check that runs past it raises :class:`SampleTimeout` in
the worker's main thread, and the worker counts a ``timeout`` reject and restarts the back-end.

Two back-ends have limits of their own, and this one sits above them: the browser back-end
(``renderers/backends/browser.py``) kills and relaunches a browser that does not answer within its
``timeout_s`` (``browser-timeout``), and the LaTeX back-end kills a run's process group after its
``timeout`` (``latex-timeout``). Every other renderer (RDKit, matplotlib, Verovio, Pillow, the
corpus parsers) had none: the engine's limit covers every renderer.

How: one watchdog thread per process. :func:`time_limit` arms it; at the deadline it sends
:data:`SIGNAL` to the main thread, whose handler raises :class:`SampleTimeout` (a ``BaseException``,
so a renderer's ``except Exception`` cannot swallow it). A signal interrupts a blocking system call
and Python code, but not native code that never returns to the interpreter. For that, a process
allowed to end itself (:func:`end_process_when_stuck`: a pool worker, whose shard the pool makes
again in a fresh process) exits with :data:`HUNG_EXIT` when the main thread has not come back a
grace period after the signal (:data:`GRACE_S`, or the limit itself when shorter); elsewhere the
signal is sent again after each grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

SIGNAL = signal.SIGUSR1
HUNG_EXIT = 75  # the exit status of a worker that ended itself, stuck past its time limit
GRACE_S = 10.0  # at most, after the signal, for native code to return before the process ends itself


class SampleTimeout(BaseException):
    """A sample ran past its time limit."""


class _Watchdog(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="gotforge-watchdog", daemon=True)
        self.cond = threading.Condition()
        self.deadline: float | None = None  # time.monotonic() of the armed limit
        self.grace = GRACE_S
        self.generation = 0  # bumped by every arm and disarm, so a late signal is recognised
        self.fired = -1  # the generation the signal was last sent for
        self.may_end_process = False
        self.main = threading.main_thread().ident

    def run(self) -> None:
        with self.cond:
            while True:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                remaining = self.deadline - time.monotonic()
                if remaining > 0:
                    self.cond.wait(remaining)
                    continue
                generation = self.fired = self.generation
                signal.pthread_kill(self.main, SIGNAL)
                self.cond.wait_for(lambda: self.generation != generation, self.grace)  # noqa: B023
                if self.generation == generation and self.may_end_process:
                    sys.stderr.write("gotforge: a sample ran past its time limit in native code; ending this "
                                     "worker so its shard is made again in a fresh one\n")
                    sys.stderr.flush()
                    os._exit(HUNG_EXIT)

    def handler(self, signum: int, frame: Any) -> None:
        if self.fired == self.generation and self.deadline is not None:
            self.deadline = None  # disarmed here: the timeout is raised once, wherever it lands
            self.generation += 1
            raise SampleTimeout


_DOG: _Watchdog | None = None


def _watchdog() -> _Watchdog:
    """This process's watchdog, started and its handler installed on first use (in the main thread).
    The handler stays: removing it could let a late signal reach the default action, which ends
    the process."""
    global _DOG
    if _DOG is None or not _DOG.is_alive():  # a forked child has the object but not the thread
        _DOG = _Watchdog()
        signal.signal(SIGNAL, _DOG.handler)
        _DOG.start()
    return _DOG


def end_process_when_stuck(allowed: bool = True) -> None:
    """Let the watchdog end this process when native code does not return after the signal."""
    _watchdog().may_end_process = allowed


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`SampleTimeout` in the block once it has run ``seconds``; no limit for None or
    outside the main thread (where no signal handler can run)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    dog = _watchdog()
    with dog.cond:
        dog.generation += 1
        dog.deadline = time.monotonic() + seconds
        dog.grace = min(GRACE_S, seconds)
        dog.cond.notify()
    try:
        yield
    finally:
        with dog.cond:
            dog.deadline = None
            dog.generation += 1
            dog.cond.notify()
