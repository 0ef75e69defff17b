"""The on-disk cache behind lazily read corpora: item offset indexes, decompressed copies, Parquet text
columns, and small cached results (content hashes, splits).

An **entry** describes one corpus file as a *data file* of bytes and a *rows* table:

* ``<key>.rows``: little-endian int64 pairs, one per item: the byte offset where the item starts in
  the data file, and its provenance (the 1-based line number in a line file, the 0-based row index in
  a Parquet file). Item ``i`` ends where item ``i + 1`` starts (the last one at the end of the data),
  so a line item is cut at its first newline. It is read with ``numpy.memmap``: a worker touches only
  the pages of the items it reads, and its memory does not grow with the corpus.
* ``<key>.data``: the bytes items are read from, where they are not the file itself: the
  decompressed copy of a ``.gz``/``.zst`` file (gzip and zstd streams cannot be entered at an offset,
  so they are decompressed once), or the text column of a Parquet file, exported row group by row
  group with no separator between rows.
* ``<key>.json``: ``{"items", "sha256", "data"}``, written last, so its presence marks the entry
  complete; ``sha256`` is the hash of the item content (the file's bytes, decompressed; for Parquet,
  each row's length and bytes), taken in the same pass that builds the index.

Blank lines (ASCII whitespace only) are not items; a UTF-8 byte order mark before line 1 is skipped.

The **key** is a hash of the file's resolved path, size and modification time (ns) and of the entry's
variant (the Parquet column). A content hash would be the stricter key, but computing it reads every
byte of the file at every open, which is exactly the cost the index exists to avoid; size and mtime are
what ``make`` and ``rsync`` trust too, and a rewrite keeps both only if made on purpose. Entries are
built under a lock file, so workers that open a corpus together build it once; files are written
under temporary names and renamed, so a reader never sees half an entry. The cache folder is
``$XDG_CACHE_HOME/gotforge/corpus-index`` (``~/.cache`` when unset) unless a ``cache_dir`` is given.
Entries of files that changed are not removed: delete the folder to reclaim the space.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gzip
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from corpora.base import CorpusError

CACHE_VERSION = 1  # bump when the layout of an entry changes: it is part of every key
CHUNK = 8 << 20  # bytes per read while indexing: large enough for numpy, small next to a worker's memory
ROW_DTYPE = np.dtype("<i8")
COMPRESSIONS = (".gz", ".zst")

_BLANK = np.zeros(256, dtype=bool)
_BLANK[[9, 10, 11, 12, 13, 32]] = True  # ASCII whitespace: a line of only these is blank
_NON_BLANK = ~_BLANK
_BOM = b"\xef\xbb\xbf"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir`` if given, else the XDG cache location."""
    if cache_dir is not None:
        return Path(cache_dir)
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "gotforge" / "corpus-index"


def file_key(path: Path, variant: str = "") -> str:
    """The cache key of ``path`` as it is now (resolved path, size, mtime; see the module docstring)."""
    stat = path.stat()
    return stable_hash(f"v{CACHE_VERSION}", str(path.resolve()), str(stat.st_size), str(stat.st_mtime_ns), variant)


def stable_hash(*parts: str) -> str:
    """A short hex digest of ``parts`` that is the same on every machine and Python version."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Entry:
    """A complete cache entry: the rows table, the data file items are read from, their count and hash."""

    rows: Path
    data: Path
    items: int
    sha256: str


def compression_of(path: Path) -> str:
    """``.gz``, ``.zst`` or ``""``: how the file's bytes are compressed, by its suffix."""
    suffix = path.suffix.lower()
    return suffix if suffix in COMPRESSIONS else ""


def line_entry(path: Path, cache_dir: str | Path | None = None) -> Entry:
    """The entry of a file of one item per line (plain, ``.gz`` or ``.zst``), built on first use."""
    compressed = bool(compression_of(path))
    build = lambda rows, data: _index_lines(path, rows, data if compressed else None)
    return _entry(path, "lines", cache_dir, build, copies=compressed)


def parquet_entry(path: Path, column: str, cache_dir: str | Path | None = None) -> Entry:
    """The entry of the ``column`` of a Parquet file (one item per row), built on first use."""
    build = lambda rows, data: _export_parquet(path, column, rows, data)
    return _entry(path, f"parquet:{column}", cache_dir, build, copies=True)


def _entry(
    path: Path,
    variant: str,
    cache_dir: str | Path | None,
    build: Callable[[BinaryIO, BinaryIO], tuple[int, str]],
    copies: bool,
) -> Entry:
    """The entry of ``path``, built by ``build(rows, data)`` (which writes ``data`` if ``copies``)."""
    root = cache_root(cache_dir)
    key = file_key(path, variant)
    found = _read_entry(root, key)
    if found is not None:
        return found
    _make_dir(root)
    with _locked(root / f"{key}.lock"):
        found = _read_entry(root, key)  # another worker may have built it while this one waited
        if found is not None:
            return found
        with _temp(root / f"{key}.rows") as rows, _temp(root / f"{key}.data") as data:
            items, sha = build(rows, data)
        if not copies:
            (root / f"{key}.data").unlink(missing_ok=True)
        data_path = root / f"{key}.data" if copies else path.resolve()
        write_json(root / f"{key}.json", {"items": items, "sha256": sha, "data": str(data_path)})
    return Entry(root / f"{key}.rows", data_path, items, sha)


def _read_entry(root: Path, key: str) -> Entry | None:
    try:
        meta = json.loads((root / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    return Entry(root / f"{key}.rows", Path(meta["data"]), int(meta["items"]), str(meta["sha256"]))


def load_rows(entry: Entry) -> np.ndarray:
    """The rows table of ``entry`` as a read-only ``numpy.memmap`` of shape (items, 2)."""
    if entry.items == 0:
        return np.zeros((0, 2), dtype=ROW_DTYPE)  # an empty file cannot be memory-mapped
    return np.memmap(entry.rows, dtype=ROW_DTYPE, mode="r").reshape(-1, 2)


# --------------------------------------------------------------------------- building


def open_bytes(path: Path) -> BinaryIO:
    """``path`` opened for reading its (decompressed) bytes."""
    compression = compression_of(path)
    if compression == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == ".zst":
        import zstandard  # only a .zst corpus needs it

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True, closefd=True)
    return open(path, "rb")


def read_all(path: Path) -> bytes:
    """Every (decompressed) byte of a small file: one item of a folder corpus."""
    with _decompression_errors(path), open_bytes(path) as stream:
        return stream.read()


@contextlib.contextmanager
def _decompression_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise CorpusError(f"corpus file {path} is not a complete gzip stream ({err}); re-create or decompress it") from err
    except OSError as err:
        raise CorpusError(f"cannot read corpus file {path}: {err}") from err
    except Exception as err:
        if type(err).__name__ == "ZstdError":  # zstandard's error class, without importing it for every file
            raise CorpusError(f"corpus file {path} is not a complete zstd stream ({err}); re-create it") from err
        raise


def _index_lines(path: Path, rows: BinaryIO, copy: BinaryIO | None) -> tuple[int, str]:
    """Write the rows of the non-blank lines of ``path`` (and its decompressed bytes to ``copy``)."""
    sha = hashlib.sha256()
    items = 0
    base = 0  # offset of the current chunk in the (decompressed) data
    start = 0  # offset where the current, not yet ended, line starts
    non_blank = False  # whether that line has a non-blank byte so far
    line = 1  # its line number
    with _decompression_errors(path), open_bytes(path) as stream:
        while chunk := stream.read(CHUNK):
            sha.update(chunk)
            if copy is not None:
                copy.write(chunk)
            data = np.frombuffer(chunk, dtype=np.uint8)
            marks = _NON_BLANK[data]
            if base == 0 and chunk.startswith(_BOM):
                marks[: len(_BOM)] = False
                start = len(_BOM)
            newlines = np.flatnonzero(data == 10)
            if len(newlines) == 0:
                non_blank = non_blank or bool(marks.any())
                base += len(data)
                continue
            # Segment k runs to and including newline k; a last segment may follow the last newline.
            seg_starts = np.concatenate(([0], newlines[:-1] + 1))
            seg_marks = np.logical_or.reduceat(marks[: newlines[-1] + 1], seg_starts)
            seg_marks[0] |= non_blank
            starts = np.concatenate(([start], base + newlines[:-1] + 1))
            numbers = line + np.arange(len(newlines), dtype=np.int64)
            items += _write_rows(rows, starts[seg_marks], numbers[seg_marks])
            line += len(newlines)
            start = base + int(newlines[-1]) + 1
            non_blank = bool(marks[newlines[-1] + 1:].any())
            base += len(data)
    if non_blank:  # a last line with no newline after it
        items += _write_rows(rows, np.array([start]), np.array([line]))
    return items, sha.hexdigest()


def _write_rows(rows: BinaryIO, starts: np.ndarray, provenance: np.ndarray) -> int:
    table = np.empty((len(starts), 2), dtype=ROW_DTYPE)
    table[:, 0] = starts
    table[:, 1] = provenance
    rows.write(table.tobytes())
    return len(starts)


def _export_parquet(path: Path, column: str, rows: BinaryIO, data: BinaryIO) -> tuple[int, str]:
    """Write ``column``'s rows of ``path``, one row group at a time, as data bytes and their rows."""
    import pyarrow as pa  # only a Parquet corpus needs it
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise CorpusError(f"corpus file {path} is not a readable Parquet file ({err})") from err
    schema = parquet.schema_arrow
    if column not in schema.names:
        raise CorpusError(
            f"Parquet corpus {path} has no column {column!r}; its columns are {', '.join(schema.names)}: "
            f"name the text column with the corpus 'column' option"
        )
    kind = schema.field(column).type
    if str(kind) not in ("string", "large_string", "string_view", "binary", "large_binary", "binary_view"):
        raise CorpusError(f"column {column!r} of Parquet corpus {path} holds {kind}, expected text (string or binary)")
    sha = hashlib.sha256()
    items = 0
    offset = 0
    for group in range(parquet.num_row_groups):
        for chunk in parquet.read_row_group(group, columns=[column]).column(0).chunks:
            # A null row reads as an empty string: the parse function then rejects it as empty.
            chunk = pc.fill_null(chunk.cast(pa.large_binary()), b"")
            bounds = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
            lengths = np.diff(bounds)
            body = chunk.buffers()[2]
            blob = memoryview(body)[bounds[0]:bounds[-1]] if body is not None else b""
            sha.update(lengths.astype("<i8").tobytes())
            sha.update(blob)
            data.write(blob)
            starts = offset + np.concatenate(([0], np.cumsum(lengths)[:-1]))
            _write_rows(rows, starts, items + np.arange(len(chunk), dtype=np.int64))
            items += len(chunk)
            offset += int(bounds[-1] - bounds[0])
    return items, sha.hexdigest()


# --------------------------------------------------------------------------- small files


def _make_dir(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CorpusError(
            f"cannot create the corpus index cache {root} ({err.strerror}); point XDG_CACHE_HOME or the "
            f"cache_dir argument at a writable folder"
        ) from err


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _temp(final: Path) -> Iterator[BinaryIO]:
    """A file written under a temporary name and renamed to ``final`` when the block ends cleanly."""
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(name, final)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically."""
    _make_dir(path.parent)
    with _temp(path) as handle:
        handle.write(json.dumps(value, ensure_ascii=False, sort_keys=True).encode())


def read_json(path: Path) -> Any | None:
    """The JSON value at ``path``, or None if there is none (or a damaged one)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_array(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as raw little-endian int64 values to ``path`` atomically."""
    _make_dir(path.parent)
    with _temp(path) as handle:
        handle.write(np.ascontiguousarray(array, dtype=ROW_DTYPE).tobytes())


def read_array(path: Path) -> np.ndarray:
    """An int64 array written by :func:`write_array`, memory-mapped."""
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=ROW_DTYPE)
    return np.memmap(path, dtype=ROW_DTYPE, mode="r")
