"""Formatted pages in Mathpix markdown (``.mmd``): generated from the text corpora, the formula generator
and a small table generator, or read from user ``.mmd``/``.md`` files; and the plain-text reading of
``.mmd`` (GOT's ``OCR: `` answer for the same page).

A document is a list of **blocks** (markdown blocks, separated by one blank line in the ``.mmd``
text): a heading (``#``, ``##``, ``###``), a paragraph with inline math (``$…$``), a display formula
(``\\[ … \\]``), a bullet or numbered list, or a table (``\\begin{tabular}``). The renderer lays the
blocks out in order and keeps those that fit the page; the target is the kept blocks joined by a
blank line, which is exactly the ``.mmd`` source that was rendered.

Corpus text enters the markdown as text, never as markup: characters with a meaning in Mathpix
markdown (``\\ $ * _ ` ~ ^ |``) are backslash-escaped, and a paragraph that would start a heading,
list or quote has its first character escaped, so a fortune line ``<img src=x onerror=…>`` or
``$5`` is drawn as its characters (raw HTML is also off in the renderer). Inline math is written
with no space just inside the dollars (``$x^{2}$``: ``$ x $`` is not math for mathpix-markdown-it);
formulas in documents use the compact spelling (:func:`corpora.formulas.compact_latex`), as
Mathpix writes them.

Tables come from :func:`corpora.tables.random_table` (the ``latex-table`` renderer's generator), written
in the ``tabular`` dialect mathpix-markdown-it draws: booktabs rules (``\\toprule``, ``\\midrule``,
``\\bottomrule``, ``\\cmidrule``), which it would print as text, become ``\\hline``/``\\cline``.

User documents: a ``.mmd``/``.md`` file or a folder of them, one document per file, split into blocks
at blank lines (a display formula, an environment or a code fence is kept whole). They are rendered
as written: ``$ x $`` stays text, raw HTML stays text.

Plain reading (:func:`mmd_to_plain`): headings without their ``#``, math through pylatexenc
(:func:`corpora.formulas.latex_to_plain`), tables as one line per row with cells separated by a tab
(:func:`corpora.tables.plain_cells`),
bullets as ``•``, escapes and emphasis markers removed; blocks joined by a newline.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np

from corpora.base import BadItem, check_visible
from corpora.formula_generator import FormulaGen, generate_formula
from corpora.formulas import compact_latex, latex_to_plain, normalize_latex
from corpora.indexed import IndexedCorpus, open_corpus
from corpora.split import document_key
from corpora.tables import plain_cells, plain_text, random_table
from corpora.text import default_passages, detect_lang, words

_ESCAPE = re.compile(r"([\\$*_`~^|])")
_LINE_START = re.compile(r"^(#|>|[-+]\s|\d+[.)]\s|=|\s)")
_SPACES = re.compile(r"\s+")
OVERFILL = 1.2  # blocks for this many pages' worth of estimated text: the page keeps what fits


@dataclasses.dataclass(frozen=True)
class Document:
    """Blocks of ``.mmd`` source (see the module docstring) and the record of how they were made."""

    blocks: tuple[str, ...]
    lang: str
    record: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def mmd(self) -> str:
        return "\n\n".join(self.blocks)


# --------------------------------------------------------------------------- text as markdown


def escape_text(text: str) -> str:
    """Corpus text as Mathpix-markdown text: special characters and block starts escaped."""
    text = _ESCAPE.sub(r"\\\1", _SPACES.sub(" ", text).strip())
    match = _LINE_START.match(text)
    if match:
        text = text.lstrip()
        text = "\\" + text if text[:1] in "#>-+=" else re.sub(r"^(\d+)([.)])", r"\1\\\2", text)
    return text


# --------------------------------------------------------------------------- tables

# mathpix-markdown-it's tabular knows \hline and \cline but not booktabs' rules (it prints them as
# text): a generated table's rules are written in the rules it draws.
_BOOKTABS = ((re.compile(r"\\(toprule|midrule|bottomrule)\b"), r"\\hline"),
             (re.compile(r"\\cmidrule(\([lr]*\))?\{"), r"\\cline{"))


def mathpix_tabular(latex: str) -> str:
    """A ``tabular`` in the dialect mathpix-markdown-it renders (booktabs rules as ``\\hline``/``\\cline``)."""
    for pattern, replacement in _BOOKTABS:
        latex = pattern.sub(replacement, latex)
    return latex


# --------------------------------------------------------------------------- generated documents


def _inline_math(gen: FormulaGen) -> str:
    roll = gen.rng.random()
    if roll < 0.5:
        latex = gen.variable(1)
    elif roll < 0.8:
        latex = gen.sum(0)
    else:
        latex = gen.equation(0)
    return f"${compact_latex(normalize_latex(latex))}$"


def _with_math(text: str, lang: str, gen: FormulaGen, count: int) -> str:
    """Escaped text with ``count`` inline formulas put between words (between characters in Chinese)."""
    escaped = escape_text(text)
    if lang == "en":
        pieces = escaped.split(" ")
        for _ in range(count):
            at = int(gen.rng.integers(0, len(pieces) + 1))
            pieces.insert(at, _inline_math(gen))
        return " ".join(pieces)
    pieces = re.findall(r"\\.|.", escaped)  # an escape stays with its character
    for _ in range(count):
        at = int(gen.rng.integers(0, len(pieces) + 1))
        pieces.insert(at, _inline_math(gen))
    return "".join(pieces)


def _heading(rng: np.random.Generator, lang: str, level: int, number: int | None) -> str:
    pool = words(lang)[150:6000]
    n = int(rng.integers(1, 5)) if lang == "en" else int(rng.integers(2, 4))
    picked = [pool[int(rng.integers(len(pool)))] for _ in range(n)]
    title = " ".join(w.capitalize() for w in picked) if lang == "en" else "".join(picked)
    prefix = f"{number} " if number is not None else ""
    return "#" * level + " " + prefix + escape_text(title)


def _paragraphs(rng: np.random.Generator, lang: str) -> list[str]:
    passage = default_passages((lang,)).sample(rng)
    return [p for p in passage if p.strip()]


def _short(text: str, lang: str, limit: int) -> str:
    if lang == "en":
        out = text.split(" ")[: max(3, limit // 6)]
        return " ".join(out)
    return text[:limit]


def random_document(rng: np.random.Generator, lang: str, capacity_chars: int, column_chars: int) -> Document:
    """Blocks for about ``capacity_chars`` characters of page (more than fits: the page keeps what
    fits). ``column_chars`` bounds the width of display formulas and tables."""
    gen = FormulaGen(rng)
    blocks: list[str] = []
    kinds: list[str] = []
    used = 0
    section = 0
    numbered = bool(rng.random() < 0.5)
    if rng.random() < 0.6:
        blocks.append(_heading(rng, lang, 1, None))
        kinds.append("title")
    queue: list[str] = []
    while used < capacity_chars * OVERFILL and len(blocks) < 80:
        roll = rng.random()
        if roll < 0.12:
            section += 1
            blocks.append(_heading(rng, lang, int(rng.choice([2, 2, 3])), section if numbered else None))
            kinds.append("heading")
            used += column_chars * 2
            continue
        if roll < 0.55:
            if not queue:
                queue = _paragraphs(rng, lang)
            text = queue.pop(0)
            count = int(rng.integers(1, 4)) if rng.random() < 0.4 else 0
            blocks.append(_with_math(text, lang, gen, count))
            kinds.append("paragraph")
            used += len(text) + column_chars
            continue
        if roll < 0.7:
            for _ in range(8):
                latex, _record = generate_formula(rng)
                compact = compact_latex(latex)
                if len(compact) <= column_chars * 1.2:
                    break
            blocks.append(f"\\[\n{compact}\n\\]")
            kinds.append("display-math")
            used += column_chars * 3
            continue
        if roll < 0.85 and (not kinds or kinds[-1] != "list"):  # two lists in a row would merge into one
            items = int(rng.integers(2, 6))
            ordered = bool(rng.random() < 0.4)
            lines = []
            for i in range(items):
                if not queue:
                    queue = _paragraphs(rng, lang)
                text = _short(queue.pop(0), lang, int(column_chars * rng.uniform(0.5, 1.6)))
                marker = f"{i + 1}." if ordered else "-"
                lines.append(f"{marker} {_with_math(text, lang, gen, int(rng.random() < 0.2))}")
            blocks.append("\n".join(lines))
            kinds.append("list")
            used += items * column_chars
            continue
        table = random_table(rng, lang)
        blocks.append(mathpix_tabular(table.latex))
        kinds.append("table")
        used += (table.latex.count("\\\\") + 1) * column_chars * 2
    return Document(tuple(blocks), lang, {"kinds": kinds})


# --------------------------------------------------------------------------- user documents

_OPENERS = (re.compile(r"\\begin\{([^}]+)\}"), re.compile(r"\\\["), re.compile(r"^```", re.MULTILINE))


def split_blocks(text: str) -> list[str]:
    """Split ``.mmd`` text into blocks at blank lines, keeping display math, environments and code
    fences whole."""
    chunks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip())
    blocks: list[str] = []
    current = ""
    for chunk in chunks:
        current = f"{current}\n\n{chunk}" if current else chunk
        begins = len(re.findall(r"\\begin\{", current)) - len(re.findall(r"\\end\{", current))
        displays = len(re.findall(r"\\\[", current)) - len(re.findall(r"\\\]", current))
        fences = len(re.findall(r"^```", current, re.MULTILINE)) % 2
        if begins <= 0 and displays <= 0 and not fences:
            blocks.append(current.strip("\n"))
            current = ""
    if current:
        blocks.append(current.strip("\n"))
    return [b for b in blocks if b.strip()]


def parse_document(raw: Any) -> Document:
    if not isinstance(raw, str):
        raise BadItem("not-a-string", f"expected a string, found {type(raw).__name__}")
    if "\x00" in raw or "\ufffd" in raw:
        raise BadItem("undecodable-text", "holds NUL or U+FFFD replacement characters")
    check_visible(raw.replace("\r", ""))
    blocks = split_blocks(raw)
    if not blocks:
        raise BadItem("empty-document")
    return Document(tuple(blocks), detect_lang(raw), {"source": "user"})


def user_documents(path: str | Path) -> IndexedCorpus[Document]:
    """User documents: a ``.mmd``/``.md`` file, or a folder of them (one document per file), or a
    ``.jsonl`` file of ``.mmd`` strings."""
    suffixes = (".mmd", ".md")
    return open_corpus(path, parse_document, key=document_key, suffixes=suffixes, whole_file_suffixes=suffixes)


# --------------------------------------------------------------------------- plain reading

_INLINE_MATH = re.compile(r"(?<!\\)\$(?! )((?:\\.|[^$\\])+?)(?<! )(?<!\\)\$|\\\((.+?)\\\)")
_RULES = re.compile(r"\\(hline|cline\{[^}]*\}|toprule|midrule|bottomrule)")
_UNESCAPE = re.compile(r"\\([\\$*_`~^|#>\-+=.)\[\]{}%&])")
_EMPHASIS = re.compile(r"(\*\*|__|(?<![\\*])\*(?!\s)|~~)")


def _split_top(text: str, separator: str) -> list[str]:
    parts, depth, current, i = [], 0, "", 0
    while i < len(text):
        if text.startswith(separator, i) and depth == 0 and not (separator == "&" and text[i - 1:i] == "\\"):
            parts.append(current)
            current = ""
            i += len(separator)
            continue
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and separator != "\\\\":
            current += text[i:i + 2]
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        current += ch
        i += 1
    return parts + [current]


def _inline_plain(text: str) -> str:
    out = []
    last = 0
    for match in _INLINE_MATH.finditer(text):
        out.append(_UNESCAPE.sub(r"\1", _EMPHASIS.sub("", text[last:match.start()])))
        out.append(latex_to_plain(match.group(1) or match.group(2)))
        last = match.end()
    out.append(_UNESCAPE.sub(r"\1", _EMPHASIS.sub("", text[last:])))
    return "".join(out)


def tabular_plain(block: str) -> str:
    """A ``tabular`` as rows of tab-separated cells (:mod:`corpora.tables`' reading; a table it cannot
    parse is read by splitting at top-level ``\\\\`` and ``&``)."""
    try:
        return plain_text(plain_cells(block.strip()))
    except (ValueError, BadItem):
        pass
    body = re.sub(r"^\\begin\{tabular\}\s*\{(?:[^{}]|\{[^}]*\})*\}", "", block.strip())
    body = re.sub(r"\\end\{tabular\}\s*$", "", body)
    rows = []
    for row in _split_top(_RULES.sub("", body), "\\\\"):
        if not row.strip():
            continue
        cells = [_inline_plain(re.sub(r"\\(multicolumn|multirow)\{[^}]*\}\{[^}]*\}", "", c)).strip("{} \n")
                 for c in _split_top(row, "&")]
        rows.append("\t".join(_SPACES.sub(" ", c) for c in cells))
    return "\n".join(rows)


def block_plain(block: str) -> str:
    stripped = block.strip()
    if stripped.startswith("\\[") and stripped.endswith("\\]"):
        return latex_to_plain(stripped[2:-2])
    if stripped.startswith("\\begin{tabular}"):
        return tabular_plain(stripped)
    lines = []
    for line in stripped.split("\n"):
        heading = re.match(r"^#{1,6}\s+", line)
        bullet = re.match(r"^\s*[-*+]\s+", line)
        if heading:
            line = line[heading.end():]
        elif bullet:
            line = "• " + line[bullet.end():]
        lines.append(_SPACES.sub(" ", _inline_plain(line)).strip())
    return "\n".join(lines)


def mmd_to_plain(mmd: str) -> str:
    """The plain-text reading of ``.mmd`` (see the module docstring)."""
    return "\n".join(text for text in (block_plain(b) for b in split_blocks(mmd)) if text)
