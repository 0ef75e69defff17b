"""The **kern corpora: music21's ``.krn`` files (Palestrina masses, Bach chorales, Beethoven,
Chopin), parsed once and cached, and user folders of ``.krn`` files (one piece per file).

Files that do not parse are counted in the corpus's ``rejects`` by reason, not fatal.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

from corpora.base import BadItem, CorpusError, check_visible
from corpora.indexed import IndexedCorpus, in_memory, open_corpus
from corpora.music.kern import KernScore, parse_humdrum
from corpora.split import score_key

USER_SUFFIXES = (".krn",)


def music21_krn_paths() -> list[Path]:
    """The **kern files of music21's core corpus (Palestrina masses, Bach chorales, Beethoven,
    Chopin), found through ``music21.corpus``; no network."""
    from music21 import corpus  # music21 is imported only to find its corpus folder

    return sorted(Path(p) for p in corpus.getCorePaths(fileExtensions=("krn",)))


def _read_krn(path: Path) -> str:
    """A shipped .krn file: UTF-8, or Latin-1 (some older Humdrum files are)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parse_file(raw: tuple[str, str]) -> KernScore:
    name, text = raw
    return parse_humdrum(text, name)


PARSER_VERSION = 4  # bump when parse_humdrum's output changes: the cache is keyed on it


def cache_path() -> Path:
    """Where the parsed default corpus is kept (XDG base directory convention)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "gotforge" / f"music21-{metadata.version('music21')}-krn-v{PARSER_VERSION}.json"


def build_default() -> IndexedCorpus[KernScore]:
    """Parse every **kern file music21 ships (slow enough to be worth the cache)."""
    import music21

    paths = music21_krn_paths()
    if not paths:
        raise CorpusError("music21's corpus holds no .krn file; reinstall music21 or pass --corpus with .krn files")
    root = Path(music21.__file__).parent / "corpus"
    raw = ((str(p), (str(p.relative_to(root)), _read_krn(p))) for p in paths)
    version = f"music21-{music21.__version__}-krn-v{PARSER_VERSION}"
    return in_memory(version, raw, _parse_file, key=score_key, fingerprint=version)


def _write_cache(path: Path, corpus: IndexedCorpus[KernScore]) -> None:
    entries = corpus.entries(0, len(corpus))
    data = {
        "source": corpus.source, "fingerprint": corpus.fingerprint, "rejects": corpus.rejects,
        "examples": list(corpus.examples),
        "items": [[e.location.file, i.name, i.title, i.composer, i.spines, i.body, i.cuts, i.phrase_cuts]
                  for e in entries if isinstance(i := e.item, KernScore)],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
            json.dump(data, tmp, ensure_ascii=False, separators=(",", ":"))
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)  # atomic: concurrent workers never see half a file
    except OSError:
        pass  # a read-only home only costs the rebuild next time


def _read_cache(path: Path) -> IndexedCorpus[KernScore] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = [
            (location, KernScore(name, title, composer, spines, body, tuple(cuts), tuple(phrases)))
            for location, name, title, composer, spines, body, cuts, phrases in data["items"]
        ]
        corpus = in_memory(data["source"], raw, _cached, key=score_key, fingerprint=data["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError, CorpusError):
        return None
    corpus.log.counts.update(data["rejects"])  # the files that did not parse when the cache was built
    corpus.log.examples.extend(data["examples"])
    return corpus


def _cached(score: KernScore) -> KernScore:
    """A score read back from the cache: parsed when the cache was built."""
    return score


@functools.lru_cache(maxsize=1)
def default_scores() -> IndexedCorpus[KernScore]:
    """The built-in corpus: music21's **kern files, parsed once and cached (files that do not parse
    are counted in ``rejects``, not fatal)."""
    path = cache_path()
    corpus = _read_cache(path)
    if corpus is None:
        corpus = build_default()
        _write_cache(path, corpus)
    return corpus


def _parse_user(text: str) -> KernScore:
    check_visible(text.replace("\r", ""))  # reference records are drawn as the header
    score = parse_humdrum(text)
    notes = [t for line in score.body.split("\n") if line[:1] not in "*=!" for t in line.replace("\t", " ").split(" ")]
    if sum(t.count("[") for t in notes) != sum(t.count("]") for t in notes):
        # A tie that never ends has crashed Verovio's process after other pieces in the same toolkit.
        raise BadItem("open-tie", "a tie starts ([) that no note ends (])")
    return score


def user_scores(path: str | Path) -> IndexedCorpus[KernScore]:
    """A user folder of ``.krn`` files (one piece per file), or one ``.krn`` file."""
    return open_corpus(path, _parse_user, key=score_key, suffixes=USER_SUFFIXES, whole_file_suffixes=USER_SUFFIXES)


def scores(corpus_path: str | Path | None) -> IndexedCorpus[KernScore]:
    return user_scores(corpus_path) if corpus_path is not None else default_scores()
