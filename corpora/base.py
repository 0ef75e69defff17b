"""Corpus loading shared by every content source.

A user corpus is one of:

* a file of one item per line (``.txt``, ``.smi``, ...; blank lines are skipped),
* a JSON-lines file (``.jsonl``) of one JSON value per line,
* a folder with one item per file (files filtered by suffix, read in sorted order), or with one
  item per line of each file where the format is line-based (``.smi``).

Each raw item is handed to a ``parse`` function that returns the item or raises
:class:`BadItem`. A bad item never stops loading: it is counted by reason in
``Corpus.rejects`` with a few ``path:line`` examples, and the run reports them. A path that does
not exist, cannot be read or yields no usable item raises :class:`CorpusError` before any work.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(f"corpus file {path} is not UTF-8 text ({err}); convert it with iconv") from err
    except OSError as err:
        raise CorpusError(f"cannot read corpus file {path}: {err.strerror}") from err


def _file_lines(path: Path) -> Iterable[tuple[str, Any]]:
    is_jsonl = path.suffix.lower() == ".jsonl"
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        location = f"{path}:{number}"
        if is_jsonl:
            try:
                yield location, json.loads(line)
            except json.JSONDecodeError as err:
                yield location, BadJson(str(err))
        else:
            yield location, line


def _raw_items(path: Path, suffixes: tuple[str, ...], lines_in_folders: bool) -> Iterable[tuple[str, Any]]:
    if not path.is_dir():
        yield from _file_lines(path)
        return
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise CorpusError(f"corpus folder {path} holds no {'/'.join(suffixes)} file")
    for file in files:
        if lines_in_folders:
            yield from _file_lines(file)
        else:
            yield str(file), _read_text(file)


@dataclasses.dataclass(frozen=True)
class BadJson:
    """Placeholder for a JSON-lines row that did not parse; ``parse`` functions receive it and the
    loader turns it into a ``bad-json`` reject."""

    error: str


def read_user_corpus(
    path: str | Path,
    parse: Callable[[Any], T],
    suffixes: tuple[str, ...],
    lines_in_folders: bool = False,
) -> Corpus[T]:
    """Load a user corpus from ``path`` (file of lines, ``.jsonl`` or folder of ``suffixes`` files).

    In a folder each file is one item, unless ``lines_in_folders`` (e.g. ``.smi`` files): then
    each line of each file is."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(
            f"corpus path {path} does not exist; pass a file of one item per line, a .jsonl file, "
            f"or a folder of {'/'.join(suffixes)} files"
        )

    def parse_checked(raw: Any) -> T:
        if isinstance(raw, BadJson):
            raise BadItem("bad-json", raw.error)
        return parse(raw)

    raw = list(_raw_items(path, suffixes, lines_in_folders))
    return build_corpus(str(path), raw, parse_checked, fingerprint=fingerprint_of(path))


def fingerprint_of(path: Path) -> str:
    """Content hash of a corpus file or folder: a run refuses to resume over a changed corpus."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]
