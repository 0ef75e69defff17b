"""Human-written text in English and Chinese, offline.

Defaults come from packages the registries ship:

* English: Debian's ``fortunes`` (quotations, literature, science, ...; the ``.u8`` UTF-8 files),
  with ASCII-art collections left out;
* Chinese: Debian's ``fortunes-zh`` (``chinese``, ``tang300`` Tang poems, ``song100`` Song lyrics),
  with their ANSI colour codes stripped;
* words for names and titles: ``wordfreq``'s frequency lists (English and Chinese).

A passage is a list of paragraphs; a paragraph is one line of text (source line breaks inside a
paragraph are joined: with a space in English, with nothing between CJK characters). User corpora
are a ``.txt`` file (one paragraph per line), a ``.jsonl`` file of strings, or a folder of
``.txt`` files (one passage per file, paragraphs separated by blank lines).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from corpora.base import BadItem, CorpusError
from corpora.indexed import IndexedCorpus, in_memory, open_corpus
from corpora.split import text_key

FORTUNE_DIR = Path("/usr/share/games/fortunes")
ENGLISH_FORTUNES = (
    "computers", "cookie", "definitions", "education", "food", "fortunes", "goedel", "humorists",
    "kids", "law", "linux", "literature", "love", "magic", "medicine", "miscellaneous", "news",
    "paradoxum", "people", "pets", "platitudes", "politics", "pratchett", "riddles", "science",
    "songs-poems", "sports", "startrek", "wisdom", "work",
)
CHINESE_FORTUNES = ("chinese", "tang300", "song100")
LANGS = ("en", "zh")

Passage = tuple[str, ...]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OVERSTRIKE = re.compile(r".\x08")
_SPACES = re.compile(r"[ \t\u3000]+")
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


def clean_line(line: str) -> str:
    """Strip terminal escapes and overstrikes, collapse whitespace."""
    line = _OVERSTRIKE.sub("", _ANSI.sub("", line))
    return _SPACES.sub(" ", line).strip()


def join_lines(lines: list[str]) -> str:
    """Join source lines of one paragraph: a space between words, nothing between CJK characters."""
    return _CJK_GAP.sub("", " ".join(line for line in lines if line))


def paragraphs_of(text: str) -> Passage:
    """Split text into paragraphs at blank lines, joining the lines inside each."""
    paragraphs: list[str] = []
    block: list[str] = []
    for raw in text.splitlines() + [""]:
        line = clean_line(raw)
        if line:
            block.append(line)
        elif block:
            paragraphs.append(join_lines(block))
            block = []
    return tuple(p for p in paragraphs if p)


def _parse_passage(raw: object) -> Passage:
    if not isinstance(raw, str):
        raise BadItem("not-a-string", f"expected a string, found {type(raw).__name__}")
    passage = paragraphs_of(raw)
    if not passage:
        raise BadItem("empty-text")
    if any(ch in raw for ch in "\x00\ufffd"):
        raise BadItem("undecodable-text", "holds NUL or U+FFFD replacement characters")
    return passage


def _fortune_entries(name: str) -> list[tuple[str, str]]:
    path = FORTUNE_DIR / f"{name}.u8"
    if not path.exists():
        path = FORTUNE_DIR / name
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    entries = text.split("\n%\n")
    return [(f"{path}#{i}", entry) for i, entry in enumerate(entries) if entry.strip()]


@functools.cache
def default_passages(langs: tuple[str, ...]) -> IndexedCorpus[Passage]:
    """The built-in passages of ``langs`` (``en``, ``zh`` or both, in that order), loaded once per process."""
    unknown = [lang for lang in langs if lang not in LANGS]
    if unknown or not langs:
        raise ValueError(f"unknown languages {langs!r}; expected some of {LANGS}")
    names = [name for lang in langs for name in (ENGLISH_FORTUNES if lang == "en" else CHINESE_FORTUNES)]
    raw = [entry for name in names for entry in _fortune_entries(name)]
    if not raw:
        raise CorpusError(
            f"no {'/'.join(langs)} text found under {FORTUNE_DIR}; run `make setup` (it installs Debian's "
            f"fortunes and fortunes-zh) or pass --corpus with your own text"
        )
    return in_memory(f"fortunes-{'-'.join(langs)}", raw, _parse_passage, key=text_key)


def user_passages(path: str | Path) -> IndexedCorpus[Passage]:
    """A user text corpus: ``.txt`` lines, ``.jsonl`` strings, ``.parquet`` rows, or a folder of ``.txt``
    passages."""
    return open_corpus(path, _parse_passage, key=text_key, suffixes=(".txt", ".md"))


def passages(corpus_path: str | Path | None, langs: tuple[str, ...]) -> IndexedCorpus[Passage]:
    """User passages if a path is given, else the built-in ones of ``langs``."""
    return user_passages(corpus_path) if corpus_path is not None else default_passages(langs)


def detect_lang(text: str) -> str:
    """``zh`` when at least a fifth of the letters are CJK ideographs, else ``en``."""
    letters = [ch for ch in text if ch.isalpha()]
    cjk = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
    return "zh" if letters and cjk * 5 >= len(letters) else "en"


@functools.cache
def words(lang: str, n: int = 20000) -> tuple[str, ...]:
    """The ``n`` most frequent alphabetic words of ``lang`` from ``wordfreq`` (names, titles)."""
    import wordfreq

    code = {"en": "en", "zh": "zh"}[lang]
    picked: list[str] = []
    for word in wordfreq.iter_wordlist(code, wordlist="large" if lang == "en" else "best"):
        if lang == "en" and not (word.isascii() and word.isalpha() and len(word) > 2):
            continue
        if lang == "zh" and not all("\u4e00" <= ch <= "\u9fff" for ch in word):
            continue
        picked.append(word)
        if len(picked) >= n:
            break
    return tuple(picked)
