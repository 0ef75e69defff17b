"""Corpora parsed when drawn (corpora/indexed.py) and their leak-free splits and deduplication
(corpora/split.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from corpora import split
from corpora.base import BadItem, CorpusError
from corpora.indexed import open_corpus
from corpora.molecules import _parse_line as parse_molecule
from corpora.text import _parse_passage as parse_text

PARSED: list[str] = []


def counting_parse(raw: str) -> str:
    """A parse that records its calls, to tell a cached split from a computed one."""
    PARSED.append(raw)
    if raw.startswith("#"):
        raise BadItem("comment", raw)
    return raw


def keys_of(corpus, indices) -> set[str]:
    return {split.text_key(corpus.item(int(i))) for i in indices}


def test_items_are_parsed_when_drawn_and_bad_draws_are_counted(tmp_path):
    (tmp_path / "c.txt").write_text("one\n# skip\ntwo\n")
    corpus = open_corpus(tmp_path / "c.txt", counting_parse, cache_dir=tmp_path / "cache")
    PARSED.clear()
    assert len(corpus) == 3 and PARSED == []  # nothing parsed by opening
    assert corpus.item(2) == "two" and PARSED == ["two"]
    assert isinstance(corpus.item(1), BadItem) and corpus.rejects == {"comment": 1}
    assert corpus.examples == (f"{tmp_path / 'c.txt'}:2: comment: # skip",)
    draws = [corpus.sample(np.random.default_rng(seed)) for seed in range(20)]
    assert set(draws) == {"one", "two"}
    assert draws == [corpus.sample(np.random.default_rng(seed)) for seed in range(20)]  # a pure function of the rng
    copy = pickle.loads(pickle.dumps(corpus))
    assert copy.rejects == {} and copy.item(0) == "one"  # a worker counts its own rejects


def test_sampling_a_corpus_of_only_rejects_fails_saying_why(tmp_path):
    (tmp_path / "c.txt").write_text("# a\n# b\n")
    corpus = open_corpus(tmp_path / "c.txt", counting_parse, cache_dir=tmp_path / "cache")
    with pytest.raises(CorpusError, match=r"draws in a row were rejected \({'comment': 1000}"):
        corpus.sample(np.random.default_rng(0))


def test_the_fingerprint_follows_content_not_the_path(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("x\ny\n")
    a, b = (open_corpus(tmp_path / n, str, cache_dir=tmp_path / "cache") for n in ("a.txt", "b.txt"))
    assert a.fingerprint == b.fingerprint
    (tmp_path / "b.txt").write_text("x\nz\n")
    assert open_corpus(tmp_path / "b.txt", str, cache_dir=tmp_path / "cache").fingerprint != a.fingerprint


def test_splits_are_disjoint_in_content_and_cover_the_corpus(tmp_path):
    lines = [f"line {i % 700}" + ("  " if i % 3 else "") for i in range(2000)]  # copies, some spaced apart
    lines[5] = "# a reject"
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    corpus = open_corpus(tmp_path / "c.txt", counting_parse, cache_dir=tmp_path / "cache")
    fractions = {"train": 0.8, "val": 0.1, "test": 0.1}
    splits = split.split_corpus(corpus, split.text_key, fractions, cache_dir=tmp_path / "cache")
    parts = {name: splits.indices(name) for name in fractions}
    everything = np.concatenate(list(parts.values()))
    assert sorted(everything.tolist()) == [i for i in range(2000) if i != 5]  # all but the reject, once
    assert splits.rejects == {"comment": 1} and splits.duplicates == 0
    contents = {name: keys_of(corpus, indices) for name, indices in parts.items()}
    assert not contents["train"] & contents["val"] and not contents["train"] & contents["test"]
    assert not contents["val"] & contents["test"]
    assert all(np.all(np.diff(indices) > 0) for indices in parts.values())
    assert 0.7 < len(contents["train"]) / 700 < 0.9 and contents["val"] and contents["test"]
    # A split is a function of content: another corpus holding a line puts it in the same split.
    (tmp_path / "other.txt").write_text("line 3\nsomething else\n")
    other = open_corpus(tmp_path / "other.txt", counting_parse, cache_dir=tmp_path / "cache")
    other_splits = split.split_corpus(other, split.text_key, fractions, cache_dir=tmp_path / "cache")
    home = next(name for name, keys in contents.items() if "line 3" in keys)
    assert 0 in other_splits.indices(home).tolist()


def test_dedupe_keeps_the_first_copy_and_counts_the_rest(tmp_path):
    (tmp_path / "c.txt").write_text("a\nb\na\nc  d\nb\nc d\n# x\na\n")
    corpus = open_corpus(tmp_path / "c.txt", parse_text, cache_dir=tmp_path / "cache")
    splits = split.split_corpus(corpus, "text", dedupe=True, cache_dir=tmp_path / "cache")
    assert splits.indices("all").tolist() == [0, 1, 3, 6]  # "# x" is text, not a reject, here
    assert splits.duplicates == 4 and splits.counts == {"all": 4}


def test_molecules_split_by_canonical_smiles(tmp_path):
    (tmp_path / "m.smi").write_text("CCO ethanol\nOCC again\nC(O)C\nc1ccccc1 benzene\nnot-smiles\nC1=CC=CC=C1\n")
    corpus = open_corpus(tmp_path / "m.smi", parse_molecule, suffixes=(".smi",), cache_dir=tmp_path / "cache")
    fractions = {"a": 0.5, "b": 0.5}
    splits = split.split_corpus(corpus, "molecules", fractions, cache_dir=tmp_path / "cache")
    home = {name: set(splits.indices(name).tolist()) for name in fractions}
    ethanol = next(name for name, items in home.items() if 0 in items)
    benzene = next(name for name, items in home.items() if 3 in items)
    assert {1, 2} <= home[ethanol] and 5 in home[benzene]
    assert splits.rejects == {"bad-smiles": 1}
    deduped = split.split_corpus(corpus, "molecules", fractions, dedupe=True, cache_dir=tmp_path / "cache")
    assert sorted(np.concatenate([deduped.indices(n) for n in fractions]).tolist()) == [0, 3]
    assert deduped.duplicates == 3


def test_a_split_is_computed_once_then_read_from_the_cache(tmp_path):
    (tmp_path / "c.txt").write_text("".join(f"item {i}\n" for i in range(50)))
    cache = tmp_path / "cache"
    corpus = open_corpus(tmp_path / "c.txt", counting_parse, cache_dir=cache)
    PARSED.clear()
    first = split.split_corpus(corpus, split.text_key, {"x": 0.5, "y": 0.5}, cache_dir=cache)
    assert len(PARSED) == 50
    stored = next(cache.glob("*.split")).stat().st_mtime_ns
    again = split.split_corpus(
        open_corpus(tmp_path / "c.txt", counting_parse, cache_dir=cache), split.text_key, {"y": 0.5, "x": 0.5},
        cache_dir=cache,
    )
    assert len(PARSED) == 50 and next(cache.glob("*.split")).stat().st_mtime_ns == stored
    assert isinstance(again.indices("x"), np.memmap)
    assert again.indices("x").tolist() == first.indices("x").tolist() and again.counts == first.counts


@pytest.mark.parametrize("fractions", [{}, {"a": 0.5}, {"a": 1.2, "b": -0.2}])
def test_fractions_must_be_positive_and_sum_to_one(tmp_path, fractions):
    (tmp_path / "c.txt").write_text("a\n")
    corpus = open_corpus(tmp_path / "c.txt", str, cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="positive and sum to 1"):
        split.split_corpus(corpus, split.text_key, fractions, cache_dir=tmp_path / "cache")


def test_assignment_cuts_the_unit_interval_in_sorted_name_order():
    values = np.array([0, 1 << 62, (1 << 63) - (1 << 20), 1 << 63, (1 << 64) - 1], dtype=np.uint64)
    good = np.ones(len(values), dtype=bool)  # u = 0, 0.25, just under 0.5, 0.5, just under 1
    labels = split.assign(values, good, {"b": 0.3, "a": 0.2, "c": 0.5}, dedupe=False)
    assert labels.tolist() == [0, 1, 1, 2, 2]  # a: [0, 0.2), b: [0.2, 0.5), c: [0.5, 1)
