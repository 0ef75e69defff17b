"""Sources held in memory rather than read from a path (the source contract: :mod:`corpora.sources`):
a built-in corpus's items, parsed once (:class:`InMemory`), and a view of some items of another
source, a split's, by their indices (:class:`Subset`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from corpora.sources import RawItem, Source, check_range


class InMemory:
    """Items already in memory (a built-in corpus, parsed when it was built), each with its provenance."""

    def __init__(self, name: str, items: Sequence[RawItem], fingerprint: str = "") -> None:
        self.name = name
        self.entries = list(items)
        self._fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.entries)

    def raw(self, i: int) -> RawItem:
        check_range(self, i, i + 1)
        return self.entries[i]

    def raw_range(self, start: int, stop: int) -> list[RawItem]:
        check_range(self, start, stop)
        return self.entries[start:stop]

    def fingerprint(self) -> str:
        """The fingerprint given when built, else a hash of every item's ``repr``."""
        if not self._fingerprint:
            digest = hashlib.sha256()
            for entry in self.entries:
                digest.update(repr(entry.raw).encode() + b"\0")
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint


class Subset:
    """Some items of another source, by ascending index (a split's items): a view, nothing copied."""

    def __init__(self, base: Source, indices: np.ndarray) -> None:
        self.name = base.name
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def raw(self, i: int) -> RawItem:
        check_range(self, i, i + 1)
        return self.base.raw(int(self.indices[i]))

    def raw_range(self, start: int, stop: int) -> list[RawItem]:
        """Read as few ranges of the base source as the indices allow (a split's items are mostly runs)."""
        check_range(self, start, stop)
        wanted = np.asarray(self.indices[start:stop])
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        out: list[RawItem] = []
        for run in np.split(wanted, breaks) if len(wanted) else []:
            out.extend(self.base.raw_range(int(run[0]), int(run[-1]) + 1))
        return out

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.base.fingerprint().encode() + b"\0")
        digest.update(np.ascontiguousarray(self.indices, dtype="<i8").tobytes())
        return digest.hexdigest()[:16]
