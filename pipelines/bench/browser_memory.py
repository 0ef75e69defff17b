"""Worker memory of the browser renderers over a long run: issue 3's target is that a worker's memory
after 2,000 samples stays within 20% of its memory after 200.

A worker is measured as it lives in a run: one renderer instance in a fresh Python process renders
sample after sample (``render`` then ``validate``, the engine's seeds), and every ``READ_EVERY``
samples the proportional set size (PSS, ``/proc/PID/smaps_rollup``) of each process in the worker's
tree is read: Python itself, the Playwright driver (node) and Chromium's browser, renderer, GPU and
utility processes. PSS splits a shared page between the processes that map it, so the sum over the
tree counts each page once, which neither RSS (counts shared pages in every process) nor USS (drops
them) does.

The figure "after k samples" is the median of the readings over the last ``WINDOW`` samples up to
k: memory saws up and down with the page's garbage collection and with the purge every 50 samples
(:data:`renderers.backends.browser.PURGE_EVERY`), by ~15% in the renderer process, and one reading lands
anywhere on that saw. The file-backed part of PSS (mostly Chromium's 200 MB of code) also moves
when other programs map the same files (another Chromium on a shared machine lowers ours by
~100 MiB), so the table also gives the growth of the anonymous and shared-memory part alone, the
heaps, which is what a leak would grow.

``python -m pipelines.bench.browser_memory`` prints the table (``gotforge bench --memory`` too); ``--set
recycle_every=200`` passes a renderer option, e.g. to weigh a recycling interval's memory against
its time (the wall and CPU milliseconds per sample are in the result).

The other browser benchmark lives here too, beside the list of renderers both measure
(:func:`renderers.registry.browser_renderers`): :func:`pooled_vs_launch`, the pooled browser against one launched per
sample (``gotforge bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.config import apply_sets, parse_sets

CHECKPOINTS = (200, 2000)
READ_EVERY = 10  # samples between two readings
WINDOW = 50  # samples whose readings make one checkpoint's figure (one purge cycle)
ROLES = ("python", "driver", "browser", "renderer", "gpu", "utility", "other")
TARGET = 0.20  # growth from the first checkpoint to the last, at most


def pooled_vs_launch(name: str = "formula", samples: int = 20) -> dict[str, float]:
    """Median wall milliseconds per sample of renderer ``name`` with its pooled browser, and with a
    browser launched (and its page loaded) for every sample; their ratio is the pool's speed-up.

    Both render the same seeds; the pooled browser is warmed by one sample first."""
    import numpy as np

    from renderers import registry
    from renderers.base import Reject

    cls = registry.load(name)
    timings: dict[str, list[float]] = {"pooled": [], "per_launch": []}
    for mode, options in (("pooled", {}), ("per_launch", {"recycle_every": 1})):
        renderer = cls(cls.Options(**options), None)
        try:
            with contextlib.suppress(Reject):
                renderer.render(np.random.default_rng(10_000))
            for seed in range(samples):
                started = time.perf_counter()
                with contextlib.suppress(Reject):
                    renderer.render(np.random.default_rng(seed))
                timings[mode].append(1000 * (time.perf_counter() - started))
        finally:
            renderer.close()
    pooled = statistics.median(timings["pooled"])
    per_launch = statistics.median(timings["per_launch"])
    return {"pooled_ms": pooled, "per_launch_ms": per_launch, "speedup": per_launch / pooled}


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                with open(f"/proc/{entry.name}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (Chromium's processes are the driver's children)."""
    children, tree, stack = _children(), [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def role(pid: int, root: int) -> str:
    """What a process of the worker's tree is, from its command line."""
    if pid == root:
        return "python"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            # Chromium's child processes rewrite theirs as one string with spaces between arguments.
            args = handle.read().decode(errors="replace").replace("\0", " ").split()
    except OSError:
        return "other"
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), None)
    if kind is None:
        name = Path(args[0]).name if args and args[0] else ""
        if name.startswith("node") or "run-driver" in args:
            return "driver"
        return "browser" if "chromium" in name else "other"
    return {"renderer": "renderer", "gpu-process": "gpu", "utility": "utility"}.get(kind, "other")


def pss_kib(pid: int) -> dict[str, int]:
    """The process's PSS in KiB: ``pss`` in all, and its ``anon``, ``file`` and ``shmem`` parts
    (zeros for a process that has just ended)."""
    fields = {"Pss:": "pss", "Pss_Anon:": "anon", "Pss_File:": "file", "Pss_Shmem:": "shmem"}
    found = dict.fromkeys(fields.values(), 0)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                key = line.split(maxsplit=1)[0]
                if key in fields:
                    found[fields[key]] = int(line.split()[1])
    except OSError:
        pass
    return found


def tree_pss(root: int) -> dict[str, float]:
    """PSS in MiB of the tree under ``root``: by :func:`role`, ``total``, and ``private`` (its
    anonymous and shared-memory part: the heaps, which a leak grows; the file-backed rest, mostly
    Chromium's code, also shrinks and swells as other programs map the same files)."""
    mib = dict.fromkeys((*ROLES, "total", "private"), 0.0)
    for pid in process_tree(root):
        pss = pss_kib(pid)
        mib[role(pid, root)] += pss["pss"] / 1024
        mib["total"] += pss["pss"] / 1024
        mib["private"] += (pss["anon"] + pss["shmem"]) / 1024
    return mib


def _cpu_seconds(pids: list[int], seen: dict[tuple[int, str], float]) -> None:
    """Record each process's CPU seconds (user + system) so far in ``seen``, keyed by pid and start
    time: summed over every process ever seen, a recycled browser's CPU stays counted after it is
    gone (up to its last reading)."""
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            seen[pid, fields[19]] = (int(fields[11]) + int(fields[12])) / tick


def _render_and_read(renderer: Any, name: str, samples: int) -> dict[str, Any]:
    """Render ``samples`` samples as a worker does and read the tree every ``READ_EVERY`` samples."""
    from pipelines.render.seeding import sample_rng, sample_seed
    from renderers.base import Reject

    validate = getattr(renderer, "validate", None)
    root, readings, rejects = os.getpid(), [], 0
    cpu_seen: dict[tuple[int, str], float] = {}
    _cpu_seconds(process_tree(root), cpu_seen)
    cpu_started, started = sum(cpu_seen.values()), time.perf_counter()
    for index in range(samples):
        try:
            sample = renderer.render(sample_rng(sample_seed(0, name, 0, index, 0)))
            if validate is not None:
                validate(sample)
        except Reject:
            rejects += 1
        if (index + 1) % READ_EVERY == 0:
            readings.append({"samples": index + 1, **tree_pss(root)})
            _cpu_seconds(process_tree(root), cpu_seen)
    return {"readings": readings, "rejects": rejects, "wall_s": time.perf_counter() - started,
            "cpu_s": sum(cpu_seen.values()) - cpu_started}


def measure(name: str, samples: int = CHECKPOINTS[-1], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Render ``samples`` samples of renderer ``name`` with one instance in this process and read
    the tree's memory as it goes (see the module docstring). Returns the figures after
    ``CHECKPOINTS[0]`` and after ``samples`` samples (total and by role), every reading, and the wall
    and CPU milliseconds per sample."""
    from renderers import registry

    if samples < CHECKPOINTS[0] + WINDOW:
        raise ValueError(f"samples must be at least {CHECKPOINTS[0] + WINDOW}, found {samples}")
    cls = registry.load(name)
    renderer = cls(cls.Options(**(options or {})), None)
    try:
        run = _render_and_read(renderer, name, samples)
    finally:
        close = getattr(renderer, "close", None)
        if close is not None:
            close()
    figures = {}
    for k in (CHECKPOINTS[0], samples):
        window = [r for r in run["readings"] if k - WINDOW < r["samples"] <= k]
        figures[str(k)] = {key: statistics.median(r[key] for r in window) for key in (*ROLES, "total", "private")}
    first, last = figures[str(CHECKPOINTS[0])], figures[str(samples)]
    return {
        "renderer": name,
        "options": options or {},
        "samples": samples,
        "rejects": run["rejects"],
        "checkpoints": figures,
        "growth": last["total"] / first["total"] - 1,
        "private_growth": last["private"] / first["private"] - 1,
        "launches": getattr(getattr(renderer, "page", None), "launches", None),
        "wall_ms": 1000 * run["wall_s"] / samples,
        "cpu_ms": 1000 * run["cpu_s"] / samples,
        "readings": run["readings"],
    }


def measure_in_worker(name: str, samples: int = CHECKPOINTS[-1], options: dict[str, Any] | None = None,
                      timeout_s: float = 1800.0) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process, as a worker of a run is: nothing else this process
    has loaded or rendered counts."""
    command = [sys.executable, "-m", "pipelines.bench.browser_memory", "--renderer", name, "--samples", str(samples),
               "--json"]
    for key, value in (options or {}).items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False,
                            cwd=Path(__file__).resolve().parents[2])
    if result.returncode != 0:
        raise RuntimeError(f"memory measurement of {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ends(row: dict[str, Any]) -> tuple[str, str]:
    keys = list(row["checkpoints"])
    return keys[0], keys[-1]


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: PSS at the first and last checkpoint, the growth, and where the growth is."""
    first, last = _ends(rows[0])
    header = (f"| renderer | options | PSS after {first} (MiB) | after {last} (MiB) | growth (target ≤ "
              f"{100 * TARGET:.0f}%) | growth of the heaps (anon + shmem) | change by process (MiB) | "
              "ms/sample wall · CPU |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, b = (r["checkpoints"][k] for k in _ends(r))
        by_role = ", ".join(f"{role} {b[role] - a[role]:+.0f}" for role in ROLES if a[role] >= 1 or b[role] >= 1)
        options = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "-"
        lines.append(f"| {r['renderer']} | {options} | {a['total']:.0f} | {b['total']:.0f} | {100 * r['growth']:+.0f}% | "
                     f"{100 * r['private_growth']:+.0f}% | {by_role} | {r['wall_ms']:.0f} · {r['cpu_ms']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench.browser_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--renderer", action="append", default=[], metavar="NAME",
                        help="renderer to measure (repeatable; default every browser renderer)")
    parser.add_argument("--samples", type=int, default=CHECKPOINTS[-1], help="samples per renderer (default 2000)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="renderer option")
    parser.add_argument("--json", action="store_true", help="measure here and print the result as JSON (one renderer)")
    args = parser.parse_args(argv)
    options = apply_sets({}, parse_sets(args.set, "regions.box=0.2"))  # the one --set rule
    if args.json:
        (name,) = args.renderer or (None,)
        if name is None:
            raise SystemExit("--json measures one renderer: name it with --renderer")
        print(json.dumps(measure(name, args.samples, options=options)))
        return 0
    from renderers import registry

    rows = [measure_in_worker(name, args.samples, options) for name in args.renderer or registry.browser_renderers()]
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
