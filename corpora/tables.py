"""Tables as LaTeX ``tabular`` source plus their plain-text reading: generated from an ``rng``, or read
from a user folder of ``.tex`` files (one ``tabular`` each). No rendering here: the ``latex-table``
renderer compiles them, and document renderers can embed :func:`random_table` output as it is.

Generated tables vary what real tables vary (GOT's table data are LaTeX-rendered ``tabular``s): the
number of rows and columns, column alignment (``l``/``c``/``r``), vertical rules (none, all, outer,
after the first column), horizontal rules (every row, frame with a header rule, ``booktabs``-like
top/header/bottom, none), a bold header row, a spanning group header (``\\multicolumn``), grouped
first-column cells (``\\multirow``, with ``\\cline`` under the rows it spans), and cells of words,
integers, decimals, percentages and inline math, in English or Chinese.

The plain reading (:func:`plain_cells`) is parsed back from the LaTeX source (top-level ``&`` and
``\\\\``; rules dropped; ``\\multicolumn``/``\\multirow`` reduced to their text; the rest turned to text
by ``pylatexenc``): one line per row, cells separated by a tab.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import LatexWalker, get_default_latex_context_db

from corpora.base import BadItem, check_visible
from corpora.indexed import IndexedCorpus, open_corpus
from corpora.latex_source import balanced, unsafe_command
from corpora.split import latex_key
from corpora.text import words

LANGS = ("en", "zh")
_TABULAR = re.compile(r"\\begin\{tabular\}.*?\\end\{tabular\}", re.DOTALL)
_RULE = re.compile(r"\\(hline|cline\{[^}]*\}|cmidrule(\([lr]*\))?\{[^}]*\}|toprule|midrule|bottomrule)")
_SPECIAL = re.compile(r"[\\$&%{}~^_#]")
_CONTEXT = get_default_latex_context_db()  # built once: building it per cell dominated the cost
_TO_TEXT = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


@dataclasses.dataclass(frozen=True)
class Table:
    """``latex``: the ``tabular`` environment; ``plain``: its reading (rows by line, cells by tab)."""

    latex: str
    plain: str
    lang: str
    record: dict[str, Any] = dataclasses.field(default_factory=dict)  # every random choice


# -- reading a tabular back ------------------------------------------------------------------------

def _group(source: str, start: int) -> tuple[str, int]:
    """The ``{…}`` group opening at ``source[start]`` (without braces) and the index after it."""
    if start >= len(source) or source[start] != "{":
        raise ValueError(f"expected '{{' at {start} in {source!r}")
    depth = 0
    for i in range(start, len(source)):
        ch = source[i]
        if ch == "\\":
            continue
        if ch == "{" and source[i - 1] != "\\":
            depth += 1
        elif ch == "}" and source[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return source[start + 1:i], i + 1
    raise ValueError(f"unbalanced braces in {source!r}")


def _split_top(source: str, separator: str) -> list[str]:
    """Split at ``separator`` outside braces (``\\&`` and ``\\\\`` are not separators for ``&``)."""
    parts, depth, current, i = [], 0, [], 0
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source):
            pair = source[i:i + 2]
            if separator == "\\\\" and pair == "\\\\" and depth == 0:
                parts.append("".join(current))
                current, i = [], i + 2
                continue
            current.append(pair)
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _cell_text(cell: str) -> str:
    cell = cell.strip()
    for name, skip_groups in (("\\multicolumn", 2), ("\\multirow", 2)):
        if cell.startswith(name):
            rest = cell[len(name):].lstrip()
            for _ in range(skip_groups):
                while rest.startswith("["):  # optional arguments of \multirow
                    rest = rest[rest.index("]") + 1:].lstrip()
                _, end = _group(rest, 0)
                rest = rest[end:].lstrip()
            while rest.startswith("["):
                rest = rest[rest.index("]") + 1:].lstrip()
            cell, _ = _group(rest, 0)
            break
    if not _SPECIAL.search(cell):  # plain words and numbers: nothing for pylatexenc to do
        return " ".join(cell.split())
    return " ".join(_to_text(cell).split())


@functools.lru_cache(maxsize=65536)
def _to_text(cell: str) -> str:
    return _TO_TEXT.nodelist_to_text(LatexWalker(cell, latex_context=_CONTEXT).get_latex_nodes()[0])


def tabular_body(latex: str) -> str:
    """The rows of a ``tabular`` (after its column specification)."""
    head = "\\begin{tabular}"
    if not latex.startswith(head) or not latex.endswith("\\end{tabular}"):
        raise ValueError("expected a \\begin{tabular}…\\end{tabular} environment")
    rest = latex[len(head):].lstrip()
    if rest.startswith("["):
        rest = rest[rest.index("]") + 1:].lstrip()
    _, end = _group(rest, 0)
    return rest[end:-len("\\end{tabular}")]


def row_cells(row: str) -> list[str]:
    """The source of each cell of one row of a ``tabular`` (its rules and final ``\\\\`` left out)."""
    row = _RULE.sub("", row).strip()
    row = row.removesuffix("\\\\").rstrip()
    return [cell.strip() for cell in _split_top(row, "&")]


def plain_cells(latex: str) -> list[list[str]]:
    """The cells of a ``tabular`` as text, row by row (empty rows, e.g. a final ``\\\\``, dropped)."""
    rows = []
    for row in _split_top(tabular_body(latex), "\\\\"):
        row = _RULE.sub("", row)
        if not row.strip():
            continue
        rows.append([_cell_text(cell) for cell in _split_top(row, "&")])
    return rows


def plain_text(cells: list[list[str]]) -> str:
    return "\n".join("\t".join(row) for row in cells)


# -- generating one ----------------------------------------------------------------------------------

_MATH = (
    lambda r: f"$x^{{{r.integers(2, 5)}}}$",
    lambda r: f"$\\alpha_{{{r.integers(1, 9)}}}$",
    lambda r: f"$\\frac{{{r.integers(1, 9)}}}{{{r.integers(2, 10)}}}$",
    lambda r: f"${r.integers(1, 99)}\\pm{r.integers(1, 9)}$",
    lambda r: f"$10^{{-{r.integers(1, 9)}}}$",
    lambda r: f"$\\sqrt{{{r.integers(2, 50)}}}$",
    lambda r: f"${r.integers(2, 9)}\\times{r.integers(2, 9)}$",
    lambda r: f"$\\beta={r.integers(0, 10)}.{r.integers(0, 10)}$",
    lambda r: f"$\\sigma^{{2}}_{{{'xyz'[r.integers(3)]}}}$",
    lambda r: f"$\\leq {r.integers(1, 100)}$",
)
CELL_KINDS = ("word", "integer", "decimal", "percent", "math")


def _word(rng: np.random.Generator, lang: str, most: int = 2) -> str:
    pool = words(lang, 5000)
    count = int(rng.integers(1, most + 1))
    picked = [pool[int(rng.integers(len(pool)))] for _ in range(count)]
    text = ("" if lang == "zh" else " ").join(picked)
    return text.capitalize() if lang == "en" and rng.random() < 0.5 else text


def _cell(rng: np.random.Generator, kind: str, lang: str, digits: int) -> str:
    """One cell of a column of ``kind``; ``digits`` (per column) sizes integers and decimals."""
    if kind == "word":
        return _word(rng, lang)
    if kind == "integer":
        return str(int(rng.integers(0, 10 ** digits)))
    if kind == "decimal":
        return f"{rng.uniform(-10 ** (digits - 1), 10 ** digits):.{digits}f}"
    if kind == "percent":
        return f"{rng.uniform(0, 100):.1f}\\%"
    return _MATH[int(rng.integers(len(_MATH)))](rng)


def random_table(rng: np.random.Generator, lang: str = "en", body_rows: tuple[int, int] = (2, 8)) -> Table:
    """A random ``tabular`` in ``lang`` (``en`` or ``zh``) with its plain reading; all from ``rng``.
    ``body_rows``: the range of its rows below the header (a long table, broken over pages, has many);
    each row is one line of the source."""
    if lang not in LANGS:
        raise ValueError(f"unknown table language {lang!r}; expected one of {LANGS}")
    n_cols = int(rng.integers(2, 7))
    n_body = int(rng.integers(body_rows[0], body_rows[1] + 1))
    align = [str(rng.choice(["l", "c", "r"])) for _ in range(n_cols)]
    hrules = str(rng.choice(["all", "frame", "booktabs", "none"], p=[0.35, 0.3, 0.25, 0.1]))
    vrules = "none" if hrules == "booktabs" else str(rng.choice(["none", "all", "outer", "first"],
                                                                  p=[0.3, 0.4, 0.15, 0.15]))
    header = bool(rng.random() < 0.8)
    bold_header = header and bool(rng.random() < 0.4)
    kinds = ["word"] + [str(rng.choice(CELL_KINDS, p=[0.3, 0.2, 0.2, 0.1, 0.2])) for _ in range(n_cols - 1)]
    digits = [int(rng.integers(1, 5)) for _ in range(n_cols)]
    group = header and n_cols >= 3 and bool(rng.random() < 0.3)
    multirow = n_body >= 4 and hrules != "none" and bool(rng.random() < 0.3)

    rule_after = {  # column index -> '|' after it; -1 is the left border
        "none": set(), "all": set(range(-1, n_cols)), "outer": {-1, n_cols - 1}, "first": {0},
    }[vrules]
    spec = ("|" if -1 in rule_after else "") + "".join(a + ("|" if i in rule_after else "") for i, a in enumerate(align))

    def span(first: int, last: int, text: str, how: str = "c") -> str:
        left = "|" if first == 0 and -1 in rule_after else ""
        right = "|" if last in rule_after else ""
        return f"\\multicolumn{{{last - first + 1}}}{{{left}{how}{right}}}{{{text}}}"

    rows: list[list[str]] = []
    if group:
        title = _word(rng, lang, 2)
        rows.append([""] + [span(1, n_cols - 1, title)] + [None] * (n_cols - 2))  # type: ignore[list-item]
    if header:
        names = [_word(rng, lang, 2 if lang == "en" else 1) for _ in range(n_cols)]
        rows.append([f"\\textbf{{{n}}}" if bold_header else n for n in names])
    n_head = len(rows)
    groups: list[int] = []  # multirow group lengths over the body rows
    if multirow:
        left = n_body
        while left > 0:
            size = min(left, int(rng.integers(1, 4)))
            groups.append(size)
            left -= size
    else:
        groups = [1] * n_body
    for size in groups:
        label = _word(rng, lang)
        for k in range(size):
            first = label if size == 1 else (f"\\multirow{{{size}}}{{*}}{{{label}}}" if k == 0 else "")
            rows.append([first] + [_cell(rng, kinds[c], lang, digits[c]) for c in range(1, n_cols)])

    # Horizontal rules: before row i (i == len(rows): the bottom one).
    inside_group = set()  # body rows that continue a multirow group: the rule above spares column 1
    row = n_head
    for size in groups:
        inside_group.update(range(row + 1, row + size))
        row += size

    def rule_before(i: int) -> str:
        top, bottom, after_head = i == 0, i == len(rows), header and i == n_head
        if hrules == "none":
            return ""
        if group and i == 1:
            return f"\\cmidrule{{2-{n_cols}}}" if hrules == "booktabs" else f"\\cline{{2-{n_cols}}}"
        if hrules == "booktabs":
            return "\\toprule" if top else "\\bottomrule" if bottom else "\\midrule" if after_head else ""
        if hrules == "all":
            return f"\\cline{{2-{n_cols}}}" if i in inside_group else "\\hline"
        return "\\hline" if top or bottom or after_head else ""  # frame

    lines = []
    for i, cells in enumerate(rows):
        rule = rule_before(i)
        lines.append((rule + " " if rule else "") + " & ".join(c for c in cells if c is not None) + " \\\\")
    lines.append(rule_before(len(rows)))
    latex = "\\begin{tabular}{" + spec + "}\n" + "\n".join(line for line in lines if line) + "\n\\end{tabular}"
    record = {
        "rows": len(rows), "columns": n_cols, "align": "".join(align), "vrules": vrules, "hrules": hrules,
        "header": header, "bold_header": bold_header, "group_header": group, "multirow": multirow,
        "kinds": kinds, "digits": digits,
    }
    return Table(latex, plain_text(plain_cells(latex)), lang, record)


# -- user folders ------------------------------------------------------------------------------------

def parse_table(raw: Any) -> Table:
    """One user ``.tex`` item: exactly one ``tabular`` (text around it is ignored), safe to compile."""
    if not isinstance(raw, str):
        raise BadItem("not-a-string", f"expected LaTeX source, found {type(raw).__name__}")
    found = _TABULAR.findall(raw)
    if len(found) != 1:
        raise BadItem("not-one-tabular", f"expected one tabular environment, found {len(found)}")
    latex = found[0].strip()
    check_visible(latex)
    if latex.count("\\begin{tabular}") != 1:
        raise BadItem("nested-tabular", "tabular inside tabular is not supported")
    command = unsafe_command(latex)
    if command:
        raise BadItem("unsafe-command", f"{command} is not allowed in a corpus item")
    if not balanced(latex):
        raise BadItem("unbalanced-braces", latex[:80])
    try:
        cells = plain_cells(latex)
    except (ValueError, IndexError, KeyError, TypeError) as err:  # pylatexenc fails inside on some macros
        raise BadItem("unreadable-tabular", f"{type(err).__name__}: {err}") from None
    if not any(cell for row in cells for cell in row):
        raise BadItem("empty-table")
    text = plain_text(cells)
    lang = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
    return Table(latex, text, lang, {"source": "user"})


def user_tables(path: str | Path) -> IndexedCorpus[Table]:
    """A ``.tex`` file or a folder of them (one tabular each), or a ``.jsonl`` file of LaTeX strings."""
    return open_corpus(path, parse_table, key=latex_key, suffixes=(".tex",), whole_file_suffixes=(".tex",))
