"""Every corpus a renderer draws from: a :mod:`corpora.sources` source plus a ``parse`` function, items
parsed when drawn.

A worker opens a corpus of millions of items in the time it takes to map its index::

    corpus = open_corpus("mols.smi", parse_smiles_line, key=molecule_key, suffixes=(".smi", ".txt"),
                         lines_in_folders=True)
    len(corpus)              # items in the source, rejects included (they are known only when parsed)
    corpus.item(i)           # the parsed item, or the BadItem saying why item i is not one
    corpus.items(a, b)       # the same for a contiguous range, read in one go
    corpus.entries(a, b)     # Entry(index, location, item) for a range: what in-order rendering reads
    corpus.draw(rng)         # (index, item): a good item drawn with replacement; bad draws counted, drawn again
    corpus.sample(rng)       # the item of draw(rng)
    corpus.subset(indices)   # a view of some items (a split's), numbered 0.. but keeping their own index
    corpus.rejects, corpus.examples    # bad items met so far, by reason, with a few file:line examples
    corpus.fingerprint       # content hash of the source, for a run's identity
    corpus.key               # the item's normalised content (corpora.split.KEYS), or None: no split

A built-in corpus (Debian's fortunes, RDKit's molecules, music21's scores) is parsed once into memory
by :func:`in_memory`, its bad items counted then; it is the same class, so renderers and the engine
treat both alike.

A :class:`~corpora.sources.RawReject` (``not-utf8``, ``bad-json``) becomes a :class:`BadItem` of the
same reason without reaching ``parse``. Rejects are counted each time a bad item is met, in this
process: the engine adds up the counts of its workers as it does for render rejects.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from corpora.base import MAX_EXAMPLES, BadItem, CorpusError
from corpora.memory_sources import InMemory, Subset
from corpora.sources import Location, RawItem, RawReject, Source, open_source

T = TypeVar("T")

MAX_DRAWS = 1000  # bad draws in a row before draw() gives up: the corpus is then (nearly) all rejects


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


@dataclasses.dataclass(frozen=True)
class Entry(Generic[T]):
    """One item of a corpus as in-order rendering reads it: its index in the source, where it comes
    from, and the parsed item or the :class:`BadItem` it raised."""

    index: int
    location: Location
    item: T | BadItem


def as_is(raw: Any) -> Any:
    """The ``parse`` of a corpus whose items were parsed when it was built (:func:`in_memory`)."""
    return raw


class IndexedCorpus(Generic[T]):
    """Items of ``reader`` parsed by ``parse`` when drawn (see the module docstring)."""

    def __init__(self, reader: Source, parse: Callable[[Any], T], key: Callable[[T], str] | None = None,
                 positions: np.ndarray | None = None) -> None:
        self.reader = reader
        self.parse = parse
        self.key = key
        self.positions = positions  # index in the whole source of each item of a subset; None: the same
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

    def index_in_source(self, i: int) -> int:
        """Item ``i``'s index in the whole source (they differ in a subset)."""
        return i if self.positions is None else int(self.positions[i])

    def _parse(self, raw: RawItem) -> T | BadItem:
        try:
            if isinstance(raw.raw, RawReject):
                raise BadItem(raw.raw.reason, raw.raw.detail)
            try:
                return self.parse(raw.raw)
            except RecursionError:  # the parsers (pylatexenc, JSON, kern) recurse by nesting depth
                raise BadItem("nested-too-deeply", "nesting deeper than the parser's stack") from None
        except BadItem as bad:
            self.log.add(raw.location, bad)
            return bad

    def item(self, i: int) -> T | BadItem:
        """Item ``i`` parsed, or the :class:`BadItem` it raised (counted in ``rejects``)."""
        return self._parse(self.reader.raw(i))

    def items(self, start: int, stop: int) -> list[T | BadItem]:
        """Items ``start`` to ``stop - 1`` parsed, read from the source in one go."""
        return [self._parse(raw) for raw in self.reader.raw_range(start, stop)]

    def entries(self, start: int, stop: int) -> list[Entry[T]]:
        """Items ``start`` to ``stop - 1`` with their index in the source and their location."""
        raws = self.reader.raw_range(start, stop)
        return [Entry(self.index_in_source(i), raw.location, self._parse(raw)) for i, raw in enumerate(raws, start)]

    def location(self, i: int) -> Location:
        """Where item ``i`` comes from (``file:line``, ``file:row N``, a file)."""
        return self.reader.raw(i).location

    def draw(self, rng: np.random.Generator) -> tuple[int, T]:
        """``(i, item)``: a good item drawn uniformly with replacement; a bad draw is counted and drawn again."""
        for _ in range(MAX_DRAWS):
            i = int(rng.integers(len(self)))
            got = self.item(i)
            if not isinstance(got, BadItem):
                return i, got
        raise CorpusError(
            f"corpus {self.source}: {MAX_DRAWS} draws in a row were rejected ({self.rejects}; "
            f"e.g. {'; '.join(self.examples)}); fix the corpus or its format options"
        )

    def sample(self, rng: np.random.Generator) -> T:
        """The item of :meth:`draw`."""
        return self.draw(rng)[1]

    def subset(self, indices: np.ndarray) -> IndexedCorpus[T]:
        """A view of items ``indices`` (ascending), numbered from 0, each keeping its index in the source."""
        indices = np.asarray(indices, dtype=np.int64)
        positions = indices if self.positions is None else self.positions[indices]
        return IndexedCorpus(Subset(self.reader, indices), self.parse, self.key, positions)


def open_corpus(
    path: str | Path,
    parse: Callable[[Any], T],
    *,
    key: Callable[[T], str] | None = None,
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
    return IndexedCorpus(reader, parse, key)


def in_memory(
    name: str,
    raw_items: Iterable[tuple[str, Any]],
    parse: Callable[[Any], T],
    *,
    key: Callable[[T], str] | None = None,
    fingerprint: str = "",
) -> IndexedCorpus[T]:
    """A built-in corpus: ``(location, raw)`` pairs parsed now, kept in memory; bad items are counted
    in its ``rejects`` and left out. ``fingerprint``: a name for its content (default: a hash of it)."""
    log = RejectLog()
    good: list[RawItem] = []
    for location, raw in raw_items:
        try:
            good.append(RawItem(parse(raw), Location(location)))
        except BadItem as bad:
            log.add(location, bad)
    if not good:
        detail = f" ({log.as_dict()}: {', '.join(log.examples)})" if log.counts else ""
        raise CorpusError(f"corpus {name} has no usable item{detail}")
    corpus: IndexedCorpus[T] = IndexedCorpus(InMemory(name, good, fingerprint), as_is, key)
    corpus.log = log
    return corpus
