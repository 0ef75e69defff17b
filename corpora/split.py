"""Leak-free splits and deduplication of an :class:`~corpora.indexed.IndexedCorpus`, by content.

::

    splits = split_corpus(corpus, "molecules", {"train": 0.98, "val": 0.01, "test": 0.01}, dedupe=True)
    splits.indices("val")        # ascending item indices of that split (an int64 memmap)
    splits.counts                # {"test": ..., "train": ..., "val": ...}
    splits.duplicates            # items dropped as copies of an earlier one (with dedupe)
    splits.rejects, splits.examples    # bad items, in no split
    select(corpus, {"train": 0.98, "heldout": 0.02}, "heldout")   # Selection: what a run renders

Each good item is reduced to a **key**, its normalised content, by the function of its corpus kind
in :data:`KEYS` (text: the text with whitespace collapsed; molecules: the canonical SMILES;
documents: the ``.mmd`` text with whitespace collapsed; charts: the canonical chart JSON; formulas:
the normalised LaTeX; tables and TikZ figures: their source with whitespace collapsed; scores: the
**kern records). A corpus carries its own key (``IndexedCorpus.key``), which :func:`select` uses.
Its **digest** is the first 8 bytes of the BLAKE2b hash of the key, as an unsigned 64-bit integer;
its top 53 bits, as a fraction, give a number ``u`` in [0, 1), and the item goes to the first split,
in sorted name order, whose cumulative fraction exceeds ``u``. A split is therefore a function of
content alone: the same molecule or line lands in the same split wherever it appears, in any corpus,
in any order, on any machine, so held-out content never appears in training and copies of one item
never straddle two splits. Fractions are met in expectation, not exactly.

With ``dedupe``, items with the same digest are kept once, the first (lowest index). Two different
keys share a 64-bit digest with a chance of about n²/2⁶⁵ for n items: negligible at corpus sizes.

Computing splits parses every item once, so the result is cached (:mod:`corpora.index`) under the
corpus fingerprint, the parse and key functions' names, the fractions, ``dedupe`` and ``version``
(pass something that changes when parsing does, e.g. a library version). :func:`digests` and
:func:`assign` are the two halves of :func:`split_corpus`, so the digests of item ranges can be
computed in several processes and assigned in one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from corpora import index
from corpora.base import BadItem, CorpusError
from corpora.indexed import IndexedCorpus

SPLIT_VERSION = 1  # bump when the assignment rule changes: it is part of every cache key
BATCH = 4096  # items read from the source at a time while digesting
REJECT, DUPLICATE = -1, -2  # labels of items in no split


def text_key(passage: tuple[str, ...] | str) -> str:
    """A text item (a passage of paragraphs, or a line) with all whitespace collapsed to one space."""
    text = passage if isinstance(passage, str) else " ".join(passage)
    return " ".join(text.split())


def molecule_key(item: Any) -> str:
    """A :class:`corpora.molecules.MoleculeItem`'s SMILES, canonical already (``check_smiles``)."""
    return item.smiles


def document_key(document: Any) -> str:
    """A :class:`corpora.documents.Document`'s ``.mmd`` text, whitespace collapsed."""
    return " ".join(document.mmd.split())


def chart_key(chart: Any) -> str:
    """A :class:`corpora.charts.Chart`'s canonical target JSON."""
    from corpora.charts import chart_to_target  # imported when charts are split, not with this module

    return chart_to_target(chart)


def formula_key(latex: str) -> str:
    """A formula, as ``parse_formula`` normalised it."""
    return latex


def latex_key(item: Any) -> str:
    """A :class:`corpora.tables.Table`'s or :class:`corpora.geometry.Figure`'s LaTeX source, whitespace
    collapsed."""
    return " ".join((getattr(item, "latex", None) or item.tikz).split())


def score_key(score: Any) -> str:
    """A :class:`corpora.music.kern.KernScore`'s **kern records (its body)."""
    return score.body


KEYS: dict[str, Callable[[Any], str]] = {
    "text": text_key,
    "molecules": molecule_key,
    "documents": document_key,
    "charts": chart_key,
    "formulas": formula_key,
    "latex": latex_key,
    "scores": score_key,
}


def digest(key: str) -> int:
    """The 64-bit digest of a key (see the module docstring)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def digests(
    corpus: IndexedCorpus[Any], key: Callable[[Any], str], start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Digests (uint64) of items ``start..stop-1`` and whether each item is good; bad items are
    counted in ``corpus.rejects``."""
    stop = len(corpus) if stop is None else stop
    values = np.zeros(stop - start, dtype=np.uint64)
    good = np.zeros(stop - start, dtype=bool)
    for first in range(start, stop, BATCH):
        for k, item in enumerate(corpus.items(first, min(stop, first + BATCH)), start=first - start):
            if not isinstance(item, BadItem):
                values[k] = digest(key(item))
                good[k] = True
    return values, good


def _cuts(fractions: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    names = sorted(fractions)
    shares = np.array([fractions[name] for name in names], dtype=np.float64)
    if not names or (shares <= 0).any() or abs(shares.sum() - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be positive and sum to 1, found {dict(fractions)}")
    cuts = np.cumsum(shares)
    cuts[-1] = 1.0  # so that every u < 1 falls in a split despite rounding
    return names, cuts


def _units(values: np.ndarray) -> np.ndarray:
    return (values >> np.uint64(11)).astype(np.float64) / float(1 << 53)  # exact: 53 bits fit a double


def assign(values: np.ndarray, good: np.ndarray, fractions: Mapping[str, float], dedupe: bool) -> np.ndarray:
    """The split of each item (an index into the sorted split names), or ``REJECT`` / ``DUPLICATE``."""
    _, cuts = _cuts(fractions)
    labels = np.searchsorted(cuts, _units(values), side="right").astype(np.int8)
    labels[~good] = REJECT
    if dedupe:
        positions = np.flatnonzero(good)
        _, first = np.unique(values[positions], return_index=True)  # first occurrence of each digest
        copies = np.ones(len(positions), dtype=bool)
        copies[first] = False
        labels[positions[copies]] = DUPLICATE
    return labels


@dataclasses.dataclass(frozen=True)
class Splits:
    """Item indices of each split, with the accounting of what is in none (see the module docstring)."""

    names: tuple[str, ...]
    bounds: dict[str, tuple[int, int]]  # each split's slice of ``order``
    order: np.ndarray  # item indices, split by split, ascending within each
    items: int
    duplicates: int
    rejects: dict[str, int]
    examples: tuple[str, ...]

    def indices(self, name: str) -> np.ndarray:
        if name not in self.bounds:
            raise KeyError(f"no split {name!r}; the splits are {', '.join(self.names)}")
        start, stop = self.bounds[name]
        return self.order[start:stop]

    @property
    def counts(self) -> dict[str, int]:
        return {name: stop - start for name, (start, stop) in self.bounds.items()}


def _name_of(function: Callable[..., Any]) -> str:
    return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', repr(function))}"


def split_corpus(
    corpus: IndexedCorpus[Any],
    key: str | Callable[[Any], str],
    fractions: Mapping[str, float] | None = None,
    *,
    dedupe: bool = False,
    version: str = "",
    cache_dir: str | Path | None = None,
) -> Splits:
    """The splits of ``corpus`` (one split ``all`` when ``fractions`` is None), computed once and cached.

    ``key`` is a corpus kind of :data:`KEYS` or a function from a parsed item to its normalised text.
    Indices are the corpus's own (0 to ``len(corpus) - 1``)."""
    key_fn = KEYS[key] if isinstance(key, str) else key
    fractions = dict(fractions) if fractions is not None else {"all": 1.0}
    names, _ = _cuts(fractions)
    cache_key = index.stable_hash(
        f"split-v{SPLIT_VERSION}", corpus.fingerprint, _name_of(corpus.parse), _name_of(key_fn),
        json.dumps(fractions, sort_keys=True), str(dedupe), version,
    )
    root = index.cache_root(cache_dir)
    meta = index.read_json(root / f"{cache_key}.json")
    if meta is None:
        corpus = IndexedCorpus(corpus.reader, corpus.parse, corpus.key)  # its own reject count: each met once
        values, good = digests(corpus, key_fn)
        if not good.any():
            raise CorpusError(
                f"corpus {corpus.source} has no usable item ({corpus.rejects}; e.g. {'; '.join(corpus.examples)})"
            )
        labels = assign(values, good, fractions, dedupe)
        parts = [np.flatnonzero(labels == k) for k in range(len(names))]
        stops = np.cumsum([len(part) for part in parts]).tolist()
        index.write_array(root / f"{cache_key}.split", np.concatenate(parts))
        meta = {
            "bounds": {name: [stop - len(part), stop] for name, part, stop in zip(names, parts, stops)},
            "items": len(corpus),
            "duplicates": int((labels == DUPLICATE).sum()),
            "rejects": corpus.rejects,
            "examples": list(corpus.examples),
        }
        index.write_json(root / f"{cache_key}.json", meta)  # last: it marks the cached split complete
    return Splits(
        names=tuple(names),
        bounds={name: (int(a), int(b)) for name, (a, b) in meta["bounds"].items()},
        order=index.read_array(root / f"{cache_key}.split"),
        items=int(meta["items"]),
        duplicates=int(meta["duplicates"]),
        rejects=dict(meta["rejects"]),
        examples=tuple(meta["examples"]),
    )


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a run renders of a corpus: the items of split ``name`` (deduplicated with ``dedupe``), and
    the rule that says whether any other content falls in that split (:meth:`holds`)."""

    name: str
    fractions: dict[str, float]
    indices: np.ndarray

    def holds(self, key: str) -> bool:
        """Whether content whose normalised text is ``key`` falls in this split (e.g. a line cut
        from an item: a held-out line then never reads as a training line)."""
        names, cuts = _cuts(self.fractions)
        unit = _units(np.array([digest(key)], dtype=np.uint64))
        return names[int(np.searchsorted(cuts, unit, side="right")[0])] == self.name


def select(
    corpus: IndexedCorpus[Any],
    fractions: Mapping[str, float] | None,
    use: str | None,
    *,
    dedupe: bool = False,
    cache_dir: str | Path | None = None,
) -> Selection:
    """The :class:`Selection` of split ``use`` of ``corpus`` by its own ``key`` (``fractions`` None:
    every item, deduplicated with ``dedupe``)."""
    if corpus.key is None:
        raise CorpusError(f"corpus {corpus.source} has no content key: it cannot be split or deduplicated")
    splits = split_corpus(corpus, corpus.key, fractions, dedupe=dedupe, cache_dir=cache_dir)
    name = use if fractions is not None else "all"
    if name not in splits.names:
        raise CorpusError(f"no split {name!r} in corpus {corpus.source}; the splits are {', '.join(splits.names)}")
    return Selection(name, dict(fractions or {"all": 1.0}), splits.indices(name))
