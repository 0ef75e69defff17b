"""A corpus whose items are parsed when drawn: a :mod:`corpora.sources` source plus a ``parse`` function.

:class:`corpora.base.Corpus` parses the whole corpus when it is opened; :class:`IndexedCorpus` parses
item ``i`` when it is asked for, so a worker opens a corpus of millions of items in the time it takes
to map its index::

    corpus = open_corpus("mols.smi", parse_smiles_line, suffixes=(".smi", ".txt"), lines_in_folders=True)
    len(corpus)              # items in the source, rejects included (they are known only when parsed)
    corpus.item(i)           # the parsed item, or the BadItem saying why item i is not one
    corpus.items(a, b)       # the same for a contiguous range, read in one go (in-order rendering)
    corpus.sample(rng)       # an item drawn with replacement; bad draws are counted and drawn again
    corpus.rejects, corpus.examples    # bad items met so far, by reason, with a few file:line examples
    corpus.fingerprint       # content hash of the source, for a run's identity

A :class:`~corpora.sources.RawReject` (``not-utf8``, ``bad-json``) becomes a :class:`BadItem` of the
same reason without reaching ``parse``. Rejects are counted each time a bad item is met, in this
process: the engine adds up the counts of its workers as it does for render rejects. ``source``,
``rejects``, ``examples``, ``fingerprint``, ``len`` and ``sample`` are those of ``Corpus``, so a
renderer that only samples its corpus takes either.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from corpora.base import MAX_EXAMPLES, BadItem, CorpusError
from corpora.sources import RawItem, RawReject, Source, open_source

T = TypeVar("T")

MAX_DRAWS = 1000  # bad draws in a row before sample() gives up: the corpus is then (nearly) all rejects


class RejectLog:
    """Bad items counted by reason, with the first few ``location: reason: detail`` examples."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.examples: list[str] = []

    def add(self, location: object, bad: BadItem) -> None:
        self.counts[bad.reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{location}: {bad}")

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


class IndexedCorpus(Generic[T]):
    """Items of ``reader`` parsed by ``parse`` when drawn (see the module docstring)."""

    def __init__(self, reader: Source, parse: Callable[[Any], T]) -> None:
        self.reader = reader
        self.parse = parse
        self.source = reader.name
        self.log = RejectLog()

    def __len__(self) -> int:
        return len(self.reader)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "log": RejectLog()}  # a worker counts its own rejects

    @property
    def rejects(self) -> dict[str, int]:
        return self.log.as_dict()

    @property
    def examples(self) -> tuple[str, ...]:
        return tuple(self.log.examples)

    @functools.cached_property
    def fingerprint(self) -> str:
        return self.reader.fingerprint()

    def _parse(self, raw: RawItem) -> T | BadItem:
        try:
            if isinstance(raw.raw, RawReject):
                raise BadItem(raw.raw.reason, raw.raw.detail)
            return self.parse(raw.raw)
        except BadItem as bad:
            self.log.add(raw.location, bad)
            return bad

    def item(self, i: int) -> T | BadItem:
        """Item ``i`` parsed, or the :class:`BadItem` it raised (counted in ``rejects``)."""
        return self._parse(self.reader.raw(i))

    def items(self, start: int, stop: int) -> list[T | BadItem]:
        """Items ``start`` to ``stop - 1`` parsed, read from the source in one go."""
        return [self._parse(raw) for raw in self.reader.raw_range(start, stop)]

    def sample(self, rng: np.random.Generator) -> T:
        """A good item drawn uniformly with replacement; a bad draw is counted and drawn again."""
        for _ in range(MAX_DRAWS):
            got = self.item(int(rng.integers(len(self))))
            if not isinstance(got, BadItem):
                return got
        raise CorpusError(
            f"corpus {self.source}: {MAX_DRAWS} draws in a row were rejected ({self.rejects}; "
            f"e.g. {'; '.join(self.examples)}); fix the corpus or its format options"
        )


def open_corpus(
    path: str | Path,
    parse: Callable[[Any], T],
    *,
    suffixes: tuple[str, ...] = (".txt",),
    lines_in_folders: bool = False,
    whole_file_suffixes: tuple[str, ...] = (),
    column: str = "text",
    cache_dir: str | Path | None = None,
) -> IndexedCorpus[T]:
    """:func:`corpora.sources.open_source` of ``path`` with items parsed by ``parse`` when drawn."""
    reader = open_source(
        path,
        suffixes=suffixes,
        lines_in_folders=lines_in_folders,
        whole_file_suffixes=whole_file_suffixes,
        column=column,
        cache_dir=cache_dir,
    )
    return IndexedCorpus(reader, parse)
