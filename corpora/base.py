"""The corpus errors every corpus shares, and :class:`Corpus`, a small list of items loaded whole.

Text corpora, user or built-in, are read through :mod:`corpora.indexed`; :class:`Corpus` is a small
list of items loaded whole (a folder of photos, :mod:`corpora.photos`). Each raw item is handed to
its corpus's ``parse`` function, which returns the item or raises :class:`BadItem`. A bad item never
stops a run: it is counted by reason with a few ``file:line`` examples, and the run reports it. A path
that does not exist, cannot be read or holds no item raises :class:`CorpusError` before any work.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")

MAX_EXAMPLES = 5


class CorpusError(ValueError):
    """The corpus cannot be used at all (missing, unreadable, empty). Raised before any work."""


class BadItem(ValueError):
    """One corpus item is malformed. ``reason`` is a short kebab-case key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Corpus(Generic[T]):
    """Loaded, parsed items plus the accounting of what was rejected while loading."""

    source: str
    items: Sequence[T]
    rejects: dict[str, int] = dataclasses.field(default_factory=dict)
    examples: tuple[str, ...] = ()
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.items:
            detail = f" ({sum(self.rejects.values())} rejected: {', '.join(self.examples)})" if self.rejects else ""
            raise CorpusError(f"corpus {self.source} has no usable item{detail}")

    def __len__(self) -> int:
        return len(self.items)

    def sample(self, rng: np.random.Generator) -> T:
        return self.items[int(rng.integers(len(self.items)))]


def build_corpus(
    source: str,
    raw_items: Iterable[tuple[str, Any]],
    parse: Callable[[Any], T],
    fingerprint: str = "",
) -> Corpus[T]:
    """Parse ``(location, raw)`` pairs into a :class:`Corpus`, counting bad items by reason."""
    items: list[T] = []
    rejects: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    for location, raw in raw_items:
        try:
            items.append(parse(raw))
        except BadItem as bad:
            rejects[bad.reason] += 1
            if len(examples) < MAX_EXAMPLES:
                examples.append(f"{location}: {bad}")
    return Corpus(source, items, dict(sorted(rejects.items())), tuple(examples), fingerprint)


def fingerprint_of(path: Path) -> str:
    """Content hash of a corpus file or folder: a run refuses to resume over a changed corpus."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]
