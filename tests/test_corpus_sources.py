"""Lazily read corpus sources (corpora/sources.py, corpora/index.py): every format gives the same items
with their provenance, bad bytes are one counted reject, unusable paths fail before any work, and the
offset index is memory-mapped and built once."""

from __future__ import annotations

import gzip
import json
import os
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpora import index
from corpora.base import CorpusError
from corpora.indexed import open_corpus
from corpora.sources import Location, RawReject, open_source

LINES = ["first line", "", "second  line", "   ", "中文第三行", "fourth"]  # blank ones are not items
ITEMS = ["first line", "second  line", "中文第三行", "fourth"]
NUMBERS = [1, 3, 5, 6]


def raws(source) -> list:
    return [item.raw for item in source.raw_range(0, len(source))]


def write_variants(tmp_path) -> dict[str, object]:
    text = "\n".join(LINES) + "\n"
    jsonl = "\n".join(json.dumps(line, ensure_ascii=False) if line.strip() else line for line in LINES) + "\n"
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(jsonl, encoding="utf-8")
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(jsonl.encode()))
    (tmp_path / "c.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(jsonl.encode()))
    return {name: NUMBERS for name in ("c.txt", "c.jsonl", "c.txt.gz", "c.jsonl.gz", "c.txt.zst", "c.jsonl.zst")}


@pytest.mark.parametrize("name", ["c.txt", "c.jsonl", "c.txt.gz", "c.jsonl.gz", "c.txt.zst", "c.jsonl.zst"])
def test_line_formats_give_the_same_items_with_their_line_numbers(tmp_path, name):
    write_variants(tmp_path)
    source = open_source(tmp_path / name, cache_dir=tmp_path / "cache")
    assert len(source) == len(ITEMS)
    assert raws(source) == ITEMS
    assert [source.raw(i).location for i in range(len(source))] == [
        Location(str(tmp_path / name), line=n) for n in NUMBERS
    ]
    assert str(source.raw(2).location) == f"{tmp_path / name}:5"
    # Every variant holds the same content, so the same fingerprint (JSON lines differ in bytes).
    plain = open_source(tmp_path / ("c.jsonl" if "jsonl" in name else "c.txt"), cache_dir=tmp_path / "cache")
    assert source.fingerprint() == plain.fingerprint()


def test_parquet_rows_are_read_from_the_named_column(tmp_path):
    table = pa.table({"id": list(range(6)), "body": ["a", "b\nwith a newline", None, "中文", "", "last"]})
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=4)  # two row groups
    source = open_source(tmp_path / "c.parquet", column="body", cache_dir=tmp_path / "cache")
    assert raws(source) == ["a", "b\nwith a newline", "", "中文", "", "last"]  # a null reads as ""
    assert source.raw(5).location == Location(str(tmp_path / "c.parquet"), row=5)
    assert raws(source)[1:5] == [item.raw for item in source.raw_range(1, 5)]
    with pytest.raises(CorpusError, match="no column 'text'.*id, body.*'column' option"):
        open_source(tmp_path / "c.parquet", cache_dir=tmp_path / "cache")
    with pytest.raises(CorpusError, match="holds int64, expected text"):
        open_source(tmp_path / "c.parquet", column="id", cache_dir=tmp_path / "cache")


def test_folders_of_line_files_and_of_whole_files(tmp_path):
    lines = tmp_path / "smiles"
    (lines / "b").mkdir(parents=True)
    (lines / "a.smi").write_text("CCO ethanol\n\nc1ccccc1\n")
    (lines / "b" / "c.smi.gz").write_bytes(gzip.compress(b"CC(=O)O\n"))
    (lines / "empty.smi").write_text("")
    (lines / "notes.md").write_text("not a corpus file\n")
    (lines / ".hidden.smi").write_text("C\n")
    source = open_source(lines, suffixes=(".smi",), lines_in_folders=True, cache_dir=tmp_path / "cache")
    assert raws(source) == ["CCO ethanol", "c1ccccc1", "CC(=O)O"]
    assert [str(item.location) for item in source.raw_range(1, 3)] == [
        f"{lines / 'a.smi'}:3", f"{lines / 'b' / 'c.smi.gz'}:1"
    ]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "2.mmd").write_text("# Two\n\nbody\n")
    (docs / "1.mmd").write_text("# One\n")
    source = open_source(docs, suffixes=(".mmd",), cache_dir=tmp_path / "cache")
    assert raws(source) == ["# One\n", "# Two\n\nbody\n"]
    assert source.raw(1).location == Location(str(docs / "2.mmd"))


def test_one_whole_file(tmp_path):
    (tmp_path / "paper.mmd").write_text("# Title\n\nText.\n")
    source = open_source(tmp_path / "paper.mmd", suffixes=(".mmd",), whole_file_suffixes=(".mmd",))
    assert raws(source) == ["# Title\n\nText.\n"] and source.name == str(tmp_path / "paper.mmd")


def test_bad_utf8_is_one_counted_reject_and_the_rest_load(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"good one\nbad \xff\xfe bytes\r\ngood two\r\n")
    corpus = open_corpus(path, str.upper, cache_dir=tmp_path / "cache")
    assert isinstance(corpus.reader.raw(1).raw, RawReject)
    got = corpus.items(0, 3)
    assert got[0] == "GOOD ONE" and got[2] == "GOOD TWO"
    assert corpus.rejects == {"not-utf8": 1}
    assert corpus.examples[0].startswith(f"{path}:2: not-utf8")


def test_malformed_json_is_a_counted_reject_with_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('"one"\n{"broken": \n"three"\n')
    corpus = open_corpus(path, str, cache_dir=tmp_path / "cache")
    assert [corpus.item(0), corpus.item(2)] == ["one", "three"]
    assert corpus.rejects == {}
    corpus.item(1)
    assert corpus.rejects == {"bad-json": 1} and corpus.examples[0].startswith(f"{path}:2: bad-json")


@pytest.mark.parametrize("content", [b"", b"\n  \n\r\n"])
def test_an_empty_file_is_a_corpus_error(tmp_path, content):
    (tmp_path / "c.txt").write_bytes(content)
    with pytest.raises(CorpusError, match=r"c\.txt holds no item.*one item per line"):
        open_source(tmp_path / "c.txt", cache_dir=tmp_path / "cache")


def test_unusable_paths_are_corpus_errors_naming_the_path_and_the_fix(tmp_path):
    with pytest.raises(CorpusError, match="nowhere.txt does not exist; pass a file"):
        open_source(tmp_path / "nowhere.txt", cache_dir=tmp_path / "cache")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.csv").write_text("a\n")
    with pytest.raises(CorpusError, match=r"folder holds no \.smi/\.txt file"):
        open_source(tmp_path / "folder", suffixes=(".smi", ".txt"), cache_dir=tmp_path / "cache")
    (tmp_path / "broken.txt.gz").write_bytes(gzip.compress(b"a\nb\n" * 100)[:-20])
    with pytest.raises(CorpusError, match="broken.txt.gz is not a complete gzip stream"):
        open_source(tmp_path / "broken.txt.gz", cache_dir=tmp_path / "cache")
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(CorpusError, match="fake.parquet is not a readable Parquet file"):
        open_source(tmp_path / "fake.parquet", cache_dir=tmp_path / "cache")


def test_the_offset_index_is_memory_mapped_and_reused_on_a_second_open(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("".join(f"line {i}\n" for i in range(1000)))
    cache = tmp_path / "cache"
    first = open_source(path, cache_dir=cache)
    assert isinstance(first.offsets, np.memmap) and first.offsets.dtype == np.int64
    assert first.offsets[:3].tolist() == [0, 7, 14]
    rows_file = next(cache.glob("*.rows"))
    built = rows_file.stat().st_mtime_ns
    os.utime(rows_file, ns=(built - 10**9, built - 10**9))  # so that a rebuild could not keep the mtime
    second = open_source(path, cache_dir=cache)
    assert rows_file.stat().st_mtime_ns == built - 10**9 and second.entry == first.entry
    assert second.raw(999).raw == "line 999"
    path.write_text("changed\n")  # a new size and mtime: a new entry
    assert raws(open_source(path, cache_dir=cache)) == ["changed"]


def test_a_source_pickles_without_its_open_file_and_reopens(tmp_path):
    (tmp_path / "c.txt").write_text("a\nb\n")
    source = open_source(tmp_path / "c.txt", cache_dir=tmp_path / "cache")
    assert source.raw(0).raw == "a"  # opens the file and the map
    copy = pickle.loads(pickle.dumps(source))
    assert copy.raw(1).raw == "b" and isinstance(copy.offsets, np.memmap)


def test_index_matches_a_plain_line_split_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(index, "CHUNK", 7)  # lines and blank runs straddle every chunk boundary
    rng = np.random.default_rng(0)
    pieces = ["", " ", "\t", "x", "ab cd", "\r", "长", "\ufeffq"]
    lines = ["".join(rng.choice(pieces, int(rng.integers(0, 4)))) for _ in range(300)]
    data = "\ufeff" + "\n".join(lines)  # a byte order mark, and no newline after the last line
    (tmp_path / "c.txt").write_text(data, encoding="utf-8")
    expected = [(n, line.removesuffix("\r")) for n, line in enumerate(data[1:].split("\n"), start=1)
                if line.strip(" \t\r")]
    source = open_source(tmp_path / "c.txt", cache_dir=tmp_path / "cache")
    assert [(item.location.line, item.raw) for item in source.raw_range(0, len(source))] == expected


def test_a_folder_fingerprint_follows_names_and_bytes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.mmd").write_text("# A\n")
    (docs / "b.mmd").write_bytes(b"# B \xff\n")
    source = open_source(docs, suffixes=(".mmd",), cache_dir=tmp_path / "cache")
    assert source.raw(1).raw.reason == "not-utf8"
    before = source.fingerprint()
    assert open_source(docs, suffixes=(".mmd",), cache_dir=tmp_path / "cache").fingerprint() == before
    (docs / "a.mmd").write_text("# A, edited\n")
    assert open_source(docs, suffixes=(".mmd",), cache_dir=tmp_path / "cache").fingerprint() != before


def test_a_parquet_column_of_only_empty_rows_reads_empty_items(tmp_path):
    pq.write_table(pa.table({"text": ["", None]}), tmp_path / "c.parquet")
    assert raws(open_source(tmp_path / "c.parquet", cache_dir=tmp_path / "cache")) == ["", ""]
