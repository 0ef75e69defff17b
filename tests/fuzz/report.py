"""``make fuzz``: every renderer with a user corpus fed its hand-picked hostile items and ``--examples``
Hypothesis-generated ones through the real engine (:mod:`tests.fuzz.harness`); prints one table
row per renderer and exits 1 if any run crashed, hung or wrote an unfaithful pair.

    python -m tests.fuzz.report [--examples N] [--seed S] [--renderer NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.fuzz.cases import NO_USER_CORPUS, SPECS
from tests.fuzz.harness import Tally, fuzz, generated

BATCH = 200  # generated items per engine run, so a crash names a small corpus


def fuzz_renderer(name: str, examples: int, seed: int, scratch: Path) -> Tally:
    spec, tally = SPECS[name], Tally(name)
    fuzz(name, spec, list(spec.picked), scratch / "picked", tally)
    items = generated(spec.strategy, examples, seed)
    for k in range(0, len(items), BATCH):
        fuzz(name, spec, items[k:k + BATCH], scratch / f"generated-{k}", tally)
    return tally


def row(tally: Tally) -> str:
    reasons = ", ".join(f"{reason} {count}" for reason, count in tally.outcomes.most_common() if reason != "drawn")
    return (f"| {tally.renderer} | {tally.inputs} | {tally.outcomes['drawn']} | {reasons or '-'} | {len(tally.crashes)} "
            f"| {len(tally.hangs)} | {len(tally.unfaithful)} | {tally.seconds:.0f} |")


HEADER = ("| renderer | inputs | drawn | rejects by reason | crashes | hangs | unfaithful | seconds |\n"
          "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="generated items per renderer (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed of the generated items")
    parser.add_argument("--renderer", action="append", choices=sorted(SPECS), help="renderers to fuzz (default all)")
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="gotforge-fuzz-") as scratch:
        for name in args.renderer or list(SPECS):
            tally = fuzz_renderer(name, args.examples, args.seed, Path(scratch) / name)
            print(row(tally), flush=True)
            for finding in [*tally.crashes, *tally.hangs, *tally.unfaithful][:5]:
                print(f"    {name}: {finding[-600:]}", file=sys.stderr)
            failed |= bool(tally.crashes or tally.hangs or tally.unfaithful)
    print(f"(no user corpus, not fuzzed: {', '.join(NO_USER_CORPUS)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
