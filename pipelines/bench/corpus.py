"""The corpus section of ``make bench``: what a large user corpus costs a worker that opens it lazily.

``bench_corpus(scratch)`` writes a text corpus of 5 million lines (English and Chinese, a few blank
lines) into ``scratch``, then measures, each time in a fresh Python process so that nothing is
warm in memory but the operating system's file cache:

* opening it with :func:`corpora.indexed.open_corpus` while no index exists (the index is built and
  the file hashed), then opening it again (the index is reused);
* reading 10,000 consecutive items from the middle, parsed as text lines (in-order rendering), and
  10,000 items at random positions (sampling);
* the process's peak resident memory (``getrusage``), and the same before the corpus was opened, so
  the corpus's own share is the difference; and at the end, how much of the resident memory is the
  process's own (anonymous) and how much is mapped file pages: the index pages that reads touched,
  which the page cache shares between workers and can reclaim.

Targets: open in at most 10 s with the index built; a worker's peak memory at most 300 MB. Reported,
never asserted (the machine is shared). ``python -m pipelines.bench.corpus [--lines N] [--scratch DIR]``
prints the table on its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

LINES = 5_000_000
READ = 10_000
WORDS_EN = ("the", "of", "and", "to", "in", "is", "was", "for", "on", "that", "with", "as", "by", "at",
            "from", "his", "her", "an", "which", "be", "this", "are", "or")
WORDS_ZH = tuple("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经")


def write_corpus(path: Path, lines: int, seed: int = 0) -> None:
    """``lines`` lines of words (one in eight Chinese, one in a thousand blank) written to ``path``."""
    rng = np.random.default_rng(seed)
    block = []
    for k in range(100_000):  # distinct line bodies, repeated with a serial number in front
        if k % 1000 == 999:
            block.append("")
        elif k % 8 == 7:
            block.append("".join(rng.choice(WORDS_ZH, int(rng.integers(8, 40)))))
        else:
            block.append(" ".join(rng.choice(WORDS_EN, int(rng.integers(4, 16)))))
    with open(path, "w", encoding="utf-8") as out:
        for first in range(0, lines, len(block)):
            out.writelines(f"{i} {block[i % len(block)]}\n" if block[i % len(block)] else "\n"
                           for i in range(first, min(lines, first + len(block))))


def _measure(path: Path, cache: Path, read: int) -> dict[str, Any]:
    """Runs in the fresh process: open, read, and report times and peak memory."""
    from corpora.indexed import open_corpus
    from corpora.text import _parse_passage

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    before = peak_mb()
    started = time.perf_counter()
    corpus = open_corpus(path, _parse_passage, cache_dir=cache)
    fingerprint = corpus.fingerprint
    opened = time.perf_counter()
    middle = len(corpus) // 2
    items = corpus.items(middle, middle + read)
    contiguous = time.perf_counter()
    rng = np.random.default_rng(0)
    for i in rng.integers(len(corpus), size=read):
        corpus.item(int(i))
    scattered = time.perf_counter()
    return {
        "items": len(corpus),
        "fingerprint": fingerprint,
        "open_s": opened - started,
        "read_contiguous_s": contiguous - opened,
        "read_random_s": scattered - contiguous,
        "parsed": sum(1 for item in items if isinstance(item, tuple)),
        "peak_before_mb": before,
        "peak_mb": peak_mb(),
        **_resident(),
    }


def _resident() -> dict[str, float]:
    """Resident anonymous and file-mapped memory now, in MB (Linux; empty elsewhere)."""
    try:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        kib = {key: int(status[key].split()[0]) for key in ("RssAnon", "RssFile")}
    except (OSError, KeyError, ValueError):
        return {}
    return {"anon_mb": kib["RssAnon"] / 1024, "mapped_mb": kib["RssFile"] / 1024}


def _fresh_process(path: Path, cache: Path, read: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "pipelines.bench.corpus", "--measure", str(path), "--cache", str(cache),
               "--read", str(read)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_corpus(scratch: Path, lines: int = LINES, read: int = READ) -> list[dict[str, Any]]:
    """Rows of the corpus table: the first open (index built) and the second (index reused)."""
    path = scratch / f"corpus-{lines}.txt"
    cache = scratch / "index"
    written = time.perf_counter()
    if not path.exists():  # a scratch folder kept between runs keeps its corpus
        write_corpus(path, lines)
    written = time.perf_counter() - written
    shutil.rmtree(cache, ignore_errors=True)  # the first open must build the index
    rows = []
    for label in ("index built", "index reused"):
        row = _fresh_process(path, cache, read)
        rows.append({"open": label, "file_mb": path.stat().st_size / 2**20, "write_s": written, **row})
    return rows


def format_table(rows: list[dict[str, Any]], read: int = READ) -> str:
    header = (f"{'open':<13} {'items':>9} {'file MB':>8} {'open s':>7} {f'{read} mid s':>11} "
              f"{f'{read} rand s':>12} {'peak MB':>8} {'python MB':>9} {'anon MB':>8} {'mapped MB':>9}")
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['open']:<13} {row['items']:>9} {row['file_mb']:>8.0f} {row['open_s']:>7.2f} "
            f"{row['read_contiguous_s']:>11.3f} {row['read_random_s']:>12.3f} {row['peak_mb']:>8.0f} "
            f"{row['peak_before_mb']:>9.0f} {row.get('anon_mb', float('nan')):>8.0f} "
            f"{row.get('mapped_mb', float('nan')):>9.0f}"
        )
    lines.append(
        "targets: open <= 10 s with the index built; peak <= 300 MB. python MB: peak before opening; "
        "anon/mapped MB: resident at the end, own memory / mapped file pages"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--read", type=int, default=READ)
    parser.add_argument("--scratch", type=Path, help="folder for the corpus and its index (default: a temp folder)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the fresh process's side
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:
        print(json.dumps(_measure(args.measure, args.cache, args.read)))
        return 0
    if args.scratch is not None:
        args.scratch.mkdir(parents=True, exist_ok=True)
        print(format_table(bench_corpus(args.scratch, args.lines, args.read), args.read))
        return 0
    with tempfile.TemporaryDirectory(prefix="gotforge-corpus-bench-") as scratch:
        print(format_table(bench_corpus(Path(scratch), args.lines, args.read), args.read))
    return 0


if __name__ == "__main__":
    sys.exit(main())
