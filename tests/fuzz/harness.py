"""One renderer fed hostile items through the real engine, and what became of each.

The items are written as a user corpus and rendered by ``render_run`` in coverage mode (every item
once, ``order: cover``), in a child process with a wall-clock limit (:func:`engine`), one worker and
a short per-sample time limit. Then every item must be accounted for: drawn (samples whose
``meta.source.item`` names it) or missed with a reason in ``missed.jsonl``, never both, never neither.

What counts: a **crash** is an engine run that ends in an error (a failed shard, a refused corpus,
a traceback); a **hang** is one still running at its wall-clock limit; an **unfaithful** pair is
a written sample whose label holds what no image shows (control, format, private-use, unassigned
or surrogate characters) or whose image does not decode. Every other outcome is a counted reject.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from PIL import Image

from pipelines.render.config import RendererJob, RunConfig
from pipelines.shard_format import read_samples
from tests.fuzz.cases import Spec

SAMPLE_LIMIT_S = 10.0  # the engine's per-sample limit in a fuzz run (its default is for real work)
BLANK = frozenset(b"\t\n\x0b\x0c\r ")  # a line of only these is not an item (corpora.index)
VISIBLE_CONTROLS = frozenset("\n\t")


@dataclasses.dataclass
class Tally:
    """What became of one renderer's inputs, summed over runs."""

    renderer: str
    inputs: int = 0
    samples: int = 0
    outcomes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    crashes: list[str] = dataclasses.field(default_factory=list)
    hangs: list[str] = dataclasses.field(default_factory=list)
    unfaithful: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


def generated(strategy: Any, count: int, seed: int) -> list[Any]:
    """``count`` values of a Hypothesis strategy, the same for the same ``seed`` (no shrinking:
    each value is an input here, judged by the engine run that follows)."""
    found: list[Any] = []
    if count < 1:
        return found

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found[:count]


def write_corpus(spec: Spec, items: list[bytes], folder: Path) -> tuple[Path, int]:
    """The items as a corpus in ``folder``; returns its path and how many items the engine will see."""
    folder.mkdir(parents=True)
    if spec.layout == "lines":
        path = folder / f"corpus{spec.suffix}"
        path.write_bytes(b"".join(item.replace(b"\n", b" ") + b"\n" for item in items))
        return path, sum(1 for item in items if set(item) - BLANK)
    for k, item in enumerate(items):
        (folder / f"{k:05d}{spec.suffix}").write_bytes(item)
    return folder, len(items)


def engine(config: RunConfig, out: Path, sample_limit: float, wall_s: float) -> tuple[str | None, bool]:
    """Run the engine on ``config`` in a child process; returns (error text or None, hung)."""
    command = [sys.executable, "-m", "tests.fuzz.harness", config.model_dump_json(), str(out), str(sample_limit)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        _, err = process.communicate(timeout=wall_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return f"no end within {wall_s:g} s", True
    return (None if process.returncode == 0 else err.strip()[-2000:] or f"exit status {process.returncode}"), False


def fuzz(name: str, spec: Spec, items: list[bytes], folder: Path, tally: Tally,
         sample_limit: float = SAMPLE_LIMIT_S) -> None:
    """Render ``items`` with renderer ``name`` (``sample_limit`` s a sample) and add what became of
    them to ``tally``."""
    corpus, expected = write_corpus(spec, items, folder / "corpus")
    photos = spec.layout == "photos"
    job = RendererJob(name=name, corpus=str(corpus), options=spec.options,
                      **({"order": "sample", "samples": 2 * len(items)} if photos else {"order": "cover"}))
    config = RunConfig(seed=len(items), shard_size=64, renderers=(job,))
    out = folder / "out"
    started = time.perf_counter()
    error, hung = engine(config, out, sample_limit, wall_s=120 + 4 * sample_limit * len(items))
    tally.seconds += time.perf_counter() - started
    tally.inputs += len(items)
    if hung:
        tally.hangs.append(error or "")
        return
    if error is not None:
        tally.crashes.append(error)
        return
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["renderers"][name]
    rows = [r for tar in sorted((out / name).glob("*.tar")) for r in read_samples(tar)]
    tally.samples += len(rows)
    for row in rows:
        if problem := unfaithful(row):
            tally.unfaithful.append(f"{row['key']}: {problem}")
    if photos:
        tally.outcomes.update({"drawn": len(rows)} | entry.get("corpus", {}).get("rejects", {}))
        return
    missed = [json.loads(line) for line in (out / name / "missed.jsonl").read_text().splitlines()]
    drawn = {row["meta"]["source"]["item"] for row in rows}
    lost = set(range(expected)) - drawn - {m["item"] for m in missed}
    twice = drawn & {m["item"] for m in missed}
    if entry["units"] != expected or lost or twice:
        tally.crashes.append(f"accounting: {expected} items, {entry['units']} units, unaccounted {sorted(lost)[:5]}, "
                             f"both drawn and missed {sorted(twice)[:5]}")
    tally.outcomes.update({"drawn": len(drawn)} | collections.Counter(m["reason"] for m in missed))


def unfaithful(row: dict[str, Any]) -> str | None:
    """Why a written pair cannot be faithful, or None."""
    hidden = sorted({f"U+{ord(c):04X}" for c in row["target"]
                     if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cn", "Cs") and c not in VISIBLE_CONTROLS})
    if hidden:
        return f"the label holds characters no image shows: {', '.join(hidden[:6])}"
    for data in row["images"]:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except Exception as err:  # noqa: BLE001 - any decoding failure is the finding
            return f"an image does not decode: {err}"
    return None


def main(argv: list[str]) -> int:
    """The child process: one engine run (``CONFIG_JSON OUT SAMPLE_LIMIT_S``)."""
    from pipelines.render.run import render_run

    config = RunConfig.model_validate_json(argv[0])
    render_run(config, Path(argv[1]), workers=1, show_progress=False, time_limit_s=float(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
