"""Item sources: a user corpus read lazily, item by item, whatever its size.

A **source** is a sequence of raw items, each with its provenance::

    source = open_source("mols.smi.zst", suffixes=(".smi", ".txt"), lines_in_folders=True)
    len(source)                        # number of items (blank lines are not items)
    source.raw(i)                      # RawItem(raw="CCO ethanol", location=Location("mols.smi.zst", line=7))
    source.raw_range(start, stop)      # the same for items start..stop-1, read in one go
    source.fingerprint()               # hash of the content, for a run's identity

What is read from a path:

* a file of one item per line (any suffix: ``.txt``, ``.smi``, ...): each non-blank line is an item
  (``\\n`` ends a line; a ``\\r`` before it is dropped);
* ``.jsonl``: each non-blank line is one JSON value (a line that does not parse is a ``bad-json`` reject);
* either of these compressed as ``.gz`` or ``.zst`` (``x.smi.gz``, ``x.jsonl.zst``);
* ``.parquet``: one item per row of the text column named by ``column``;
* a file whose suffix is in ``whole_file_suffixes`` (e.g. one ``.mmd`` document): one item;
* a folder: its files whose suffix (before ``.gz``/``.zst``) is in ``suffixes``, in sorted order of
  their relative paths, hidden files left out. ``.jsonl`` and ``.parquet`` files are read as above;
  other files hold one item per line if ``lines_in_folders``, else one item each.

Line files and Parquet files are indexed once (:mod:`corpora.index`); after that, opening costs a
``stat`` and reading an item one ``pread``. A raw item is a ``str`` (or a JSON value), or a
:class:`RawReject` where the bytes could not become one: ``not-utf8`` (the line is not UTF-8 text) or
``bad-json``. A reject is one item, counted by whoever parses it; it never stops the corpus. What does
stop it, before any work, is a :class:`~corpora.base.CorpusError` naming the path and the fix: a
missing path, an unreadable or empty file, a folder with no usable file.

``fingerprint()`` is a full SHA-256 of the item content, not a sample of it: for line and Parquet
files it is taken in the pass that builds the index and kept with it, so after the first open it costs
nothing; a folder of whole files is hashed file by file once, and the result kept under the listing's
names, sizes and mtimes. It does not depend on where the corpus lies, so a moved corpus keeps its
identity, and a ``.gz`` file has the fingerprint of its decompressed bytes.

Two sources are not read from a path (:mod:`corpora.memory_sources`): ``InMemory`` holds a built-in
corpus's items (parsed once, in memory), and ``Subset`` is a view of some items of another source (a
split's).

Sources hold no open file or mapping when pickled (they reopen on first read), so they can be sent to
worker processes.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from corpora import index
from corpora.base import CorpusError

OPEN_FILES = 16  # files a folder source keeps open at once: a folder may hold more than the fd limit


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a raw item comes from: its file, and its line number (1-based) or row index (0-based)."""

    file: str
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.row is not None:
            return f"{self.file}:row {self.row}"
        return self.file


@dataclasses.dataclass(frozen=True)
class RawReject:
    """Bytes that could not become a raw item; ``reason`` is the reject key (``not-utf8``, ``bad-json``)."""

    reason: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class RawItem:
    """One raw item (text, a JSON value, or a :class:`RawReject`) and its provenance."""

    raw: Any
    location: Location


class Source(Protocol):
    """What every source gives (see the module docstring)."""

    name: str

    def __len__(self) -> int: ...

    def raw(self, i: int) -> RawItem: ...

    def raw_range(self, start: int, stop: int) -> list[RawItem]: ...

    def fingerprint(self) -> str: ...


def _decode(data: bytes, as_json: bool) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return RawReject("not-utf8", f"{err.reason} at byte {err.start}: {data[max(0, err.start - 8):err.start + 8]!r}")
    if not as_json:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        return RawReject("bad-json", str(err))
    except RecursionError:  # nesting deeper than the interpreter's stack: one bad line, not a failed shard
        return RawReject("bad-json", "nested too deeply to read")


class IndexedFile:
    """A line file (plain, ``.jsonl``, compressed) or a Parquet column, read through its cache entry."""

    def __init__(self, path: Path, entry: index.Entry, as_json: bool, lines: bool) -> None:
        self.name = str(path)
        self.entry = entry
        self.as_json = as_json
        self.lines = lines  # a line item ends at its first newline; a Parquet row spans to the next row
        self.size = entry.data.stat().st_size
        self._file: BinaryIO | None = None  # a file object, not a bare descriptor: it closes when collected
        self._rows: np.ndarray | None = None

    def __len__(self) -> int:
        return self.entry.items

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_file": None, "_rows": None}

    @property
    def rows(self) -> np.ndarray:
        """(items, 2) int64 memmap: byte offset in the data file, line number or row index."""
        if self._rows is None:
            self._rows = index.load_rows(self.entry)
        return self._rows

    @property
    def offsets(self) -> np.ndarray:
        return self.rows[:, 0]

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_file", None) is not None:
            self._file.close()
        self._file, self._rows = None, None

    def _read(self, begin: int, end: int) -> bytes:
        if self._file is None:
            self._file = open(self.entry.data, "rb", buffering=0)  # noqa: SIM115 (kept open across reads)
        return os.pread(self._file.fileno(), end - begin, begin)  # no shared file position: safe across threads

    def _item(self, data: bytes, provenance: int) -> RawItem:
        if self.lines:
            cut = data.find(b"\n")
            data = data[:cut] if cut >= 0 else data
            data = data.removesuffix(b"\r")
            location = Location(self.name, line=provenance)
        else:
            location = Location(self.name, row=provenance)
        return RawItem(_decode(data, self.as_json), location)

    def raw(self, i: int) -> RawItem:
        return self.raw_range(i, i + 1)[0]

    def raw_range(self, start: int, stop: int) -> list[RawItem]:
        check_range(self, start, stop)
        if start == stop:
            return []
        rows = np.asarray(self.rows[start:stop])
        end = int(self.rows[stop, 0]) if stop < len(self) else self.size
        begin = int(rows[0, 0])
        data = self._read(begin, end)
        bounds = [*(rows[:, 0] - begin).tolist(), end - begin]
        return [self._item(data[bounds[k]:bounds[k + 1]], int(rows[k, 1])) for k in range(len(rows))]

    def fingerprint(self) -> str:
        return self.entry.sha256[:16]


class FileList:
    """A folder of files, one item each (e.g. ``.mmd`` documents), read when drawn."""

    def __init__(self, root: Path, files: Sequence[str], cache_dir: str | Path | None = None, name: str = "") -> None:
        self.name = name or str(root)
        self.root = root
        self.files = list(files)
        self.cache_dir = cache_dir

    def __len__(self) -> int:
        return len(self.files)

    def raw(self, i: int) -> RawItem:
        check_range(self, i, i + 1)
        path = self.root / self.files[i]
        return RawItem(_decode(index.read_all(path), as_json=False), Location(str(path)))

    def raw_range(self, start: int, stop: int) -> list[RawItem]:
        check_range(self, start, stop)
        return [self.raw(i) for i in range(start, stop)]

    def fingerprint(self) -> str:
        """Hash of every file's name and bytes; cached under the listing's names, sizes and mtimes."""
        stats = [(name, (self.root / name).stat()) for name in self.files]
        key = index.stable_hash(str(self.root.resolve()), *(f"{n}\0{s.st_size}\0{s.st_mtime_ns}" for n, s in stats))
        cached = index.cache_root(self.cache_dir) / f"{key}.json"
        found = index.read_json(cached)
        if found is not None:
            return str(found["fingerprint"])
        digest = hashlib.sha256()
        for name in self.files:
            digest.update(name.encode() + b"\0" + hashlib.sha256(index.read_all(self.root / name)).digest())
        value = digest.hexdigest()[:16]
        try:
            index.write_json(cached, {"fingerprint": value})
        except (CorpusError, OSError):
            pass  # an unwritable cache only costs hashing again next time
        return value


class Concat:
    """Several sources one after another (a folder of line or Parquet files), items numbered across them."""

    def __init__(self, name: str, parts: Sequence[tuple[str, IndexedFile]]) -> None:
        self.name = name
        self.labels = [label for label, _ in parts]
        self.parts = [part for _, part in parts]
        self.ends = np.cumsum([len(part) for part in self.parts], dtype=np.int64)
        self._open: collections.OrderedDict[int, None] = collections.OrderedDict()

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def _part(self, k: int) -> IndexedFile:
        self._open.pop(k, None)
        self._open[k] = None
        while len(self._open) > OPEN_FILES:
            self.parts[self._open.popitem(last=False)[0]].close()
        return self.parts[k]

    def raw(self, i: int) -> RawItem:
        return self.raw_range(i, i + 1)[0]

    def raw_range(self, start: int, stop: int) -> list[RawItem]:
        check_range(self, start, stop)
        out: list[RawItem] = []
        while start < stop:
            k = int(np.searchsorted(self.ends, start, side="right"))
            first = int(self.ends[k - 1]) if k else 0
            upto = min(stop, int(self.ends[k]))
            out.extend(self._part(k).raw_range(start - first, upto - first))
            start = upto
        return out

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for label, part in zip(self.labels, self.parts):
            digest.update(f"{label}\0{part.fingerprint()}\0".encode())
        return digest.hexdigest()[:16]


def check_range(source: Any, start: int, stop: int) -> None:
    """Raise ``IndexError`` unless items ``start..stop-1`` lie in ``source`` (every source's reads)."""
    if not 0 <= start <= stop <= len(source):
        raise IndexError(f"items {start}..{stop} out of range for {source.name} ({len(source)} items)")


def _base_suffix(path: Path) -> str:
    """The format suffix of ``path``, below any compression suffix (``x.smi.gz`` → ``.smi``)."""
    name = path.name.lower()
    for compression in index.COMPRESSIONS:
        name = name.removesuffix(compression)
    return Path(name).suffix


def _indexed(path: Path, column: str, cache_dir: str | Path | None) -> IndexedFile:
    suffix = _base_suffix(path)
    if suffix == ".parquet":
        if index.compression_of(path):
            raise CorpusError(f"corpus file {path}: Parquet compresses its own pages; pass the .parquet file as it is")
        return IndexedFile(path, index.parquet_entry(path, column, cache_dir), as_json=False, lines=False)
    return IndexedFile(path, index.line_entry(path, cache_dir), as_json=suffix == ".jsonl", lines=True)


def _folder_files(root: Path, suffixes: tuple[str, ...]) -> list[str]:
    names = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file in files:
            if not file.startswith(".") and _base_suffix(Path(file)) in suffixes:
                names.append(os.path.relpath(os.path.join(folder, file), root))
    return sorted(names)


def open_source(
    path: str | Path,
    *,
    suffixes: tuple[str, ...] = (".txt",),
    lines_in_folders: bool = False,
    whole_file_suffixes: tuple[str, ...] = (),
    column: str = "text",
    cache_dir: str | Path | None = None,
) -> Source:
    """The source of the corpus at ``path`` (see the module docstring for what each path gives).

    Indexes what needs it now, so any :class:`CorpusError` is raised here, before any work."""
    path = Path(path)
    suffixes = tuple(s.lower() for s in suffixes)
    formats = "/".join(suffixes)
    if not path.exists():
        raise CorpusError(
            f"corpus path {path} does not exist; pass a file of one item per line, a .jsonl or .parquet "
            f"file (optionally .gz/.zst compressed), or a folder of {formats} files"
        )
    if not os.access(path, os.R_OK):
        raise CorpusError(f"corpus path {path} is not readable; fix its permissions")
    if path.is_dir():
        names = _folder_files(path, suffixes)
        if not names:
            raise CorpusError(f"corpus folder {path} holds no {formats} file (compressed or not); add some or pass a file")
        per_line = [_base_suffix(Path(n)) in (".jsonl", ".parquet") or lines_in_folders for n in names]
        if not any(per_line):
            return FileList(path, names, cache_dir)
        if not all(per_line):
            raise CorpusError(
                f"corpus folder {path} mixes files of one item per line and files of one item each; "
                f"keep one kind of file in the folder"
            )
        parts = [(n, _indexed(path / n, column, cache_dir)) for n in names]
        parts = [(n, part) for n, part in parts if len(part)]  # an empty file in a folder adds no item
        if not parts:
            raise CorpusError(f"every {formats} file in corpus folder {path} is empty; add items to them")
        return Concat(str(path), parts)
    if _base_suffix(path) in whole_file_suffixes:
        if path.stat().st_size == 0:
            raise CorpusError(f"corpus file {path} is empty; pass a file that holds one item")
        return FileList(path.parent, [path.name], cache_dir, name=str(path))
    source = _indexed(path, column, cache_dir)
    if not len(source):
        raise CorpusError(f"corpus file {path} holds no item (it is empty or blank); pass a file with one item per line")
    return source
