"""Human-written text, offline, in English, Chinese and every language Debian packages fortunes for.

Defaults come from packages the registries ship:

* English: Debian's ``fortunes`` (quotations, literature, science, ...; the ``.u8`` UTF-8 files),
  with ASCII-art collections left out;
* Chinese: Debian's ``fortunes-zh`` (``chinese``, ``tang300`` Tang poems, ``song100`` Song lyrics),
  with their ANSI colour codes stripped;
* Russian, German, Spanish, Italian, Polish, Czech, Slovak, Bulgarian, Esperanto, Irish and
  Portuguese: ``fortunes-ru``, ``-de``, ``-es``, ``-it``, ``-pl``, ``-cs`` (Czech and Slovak),
  ``-bg``, ``-eo``, ``-ga``, ``-br`` (:data:`FORTUNE_LANGS`), entries that are mostly not letters
  (ASCII art) left out;
* languages without fortunes but with a ``wordfreq`` list (Arabic, Persian, Urdu, Hebrew, Hindi,
  Bengali, Tamil, Greek, Ukrainian, Japanese, Korean: :data:`WORDLIST_LANGS`): passages of
  sentences of frequent words (:mod:`corpora.wordlist_text`), word salad in the right script;
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
# language: (folder under FORTUNE_DIR, or "" for its top level; files of it, or () for all; files left out)
FORTUNE_LANGS = {
    "ru": ("ru", (), ()), "de": ("de", (), ("asciiart",)), "es": ("es", (), ()), "it": ("it", (), ("banner",)),
    "pl": ("pl", (), ()), "cs": ("cs", (), ("klasik-sk",)), "sk": ("sk", (), ()), "bg": ("bg", (), ()),
    "eo": ("eo", (), ()), "ga": ("ga", (), ()), "pt": ("", ("brasil",), ()),
}
WORDLIST_LANGS = ("ar", "fa", "ur", "he", "hi", "bn", "ta", "el", "uk", "ja", "ko")
LANGS = ("en", "zh", *FORTUNE_LANGS, *WORDLIST_LANGS)

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
    if not path.exists() or not path.stat().st_size:  # fortunes-pl ships empty .u8 files beside UTF-8 ones
        path = FORTUNE_DIR / name
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    entries = text.split("\n%\n")
    return [(f"{path}#{i}", entry) for i, entry in enumerate(entries) if entry.strip()]


def _mostly_letters(entry: str) -> bool:
    """Whether most of an entry's visible characters are letters (ASCII art is not)."""
    visible = [ch for ch in entry if not ch.isspace()]
    return bool(visible) and 2 * sum(ch.isalpha() for ch in visible) >= len(visible)


def _lang_entries(lang: str) -> list[tuple[str, str]]:
    """The fortunes of ``lang`` (English and Chinese by their fixed lists, the others by folder)."""
    if lang in ("en", "zh"):
        return [entry for name in (ENGLISH_FORTUNES if lang == "en" else CHINESE_FORTUNES)
                for entry in _fortune_entries(name)]
    if lang in WORDLIST_LANGS:
        from corpora.wordlist_text import wordlist_passages

        return wordlist_passages(lang)
    folder, files, left_out = FORTUNE_LANGS[lang]
    if not files:
        found = sorted(p.name for p in (FORTUNE_DIR / folder).glob("*") if p.is_file()) if folder else []
        files = tuple(dict.fromkeys(n.removesuffix(".u8") for n in found if not n.endswith(".dat")))
    names = [f"{folder}/{name}" if folder else name for name in files if name not in left_out]
    return [(location, entry) for name in names for location, entry in _fortune_entries(name)
            if _mostly_letters(entry)]


@functools.cache
def default_passages(langs: tuple[str, ...]) -> IndexedCorpus[Passage]:
    """The built-in passages of ``langs`` (:data:`LANGS`, in the order given), loaded once per process."""
    unknown = [lang for lang in langs if lang not in LANGS]
    if unknown or not langs:
        raise ValueError(f"no built-in text for {unknown or langs!r}; built-in languages are {LANGS}, "
                         f"other languages come as a text corpus (--corpus)")
    raw = [entry for lang in langs for entry in _lang_entries(lang)]
    if not raw:
        packages = ", ".join(_package(lang) for lang in langs)
        raise CorpusError(
            f"no {'/'.join(langs)} text found under {FORTUNE_DIR}; run `make setup` (it installs Debian's "
            f"{packages}) or pass --corpus with your own text"
        )
    return in_memory(f"fortunes-{'-'.join(langs)}", raw, _parse_passage, key=text_key)


def _package(lang: str) -> str:
    return {"en": "fortunes", "cs": "fortunes-cs", "sk": "fortunes-cs", "pt": "fortunes-br"}.get(
        lang, "wordfreq" if lang in WORDLIST_LANGS else f"fortunes-{lang}")


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
