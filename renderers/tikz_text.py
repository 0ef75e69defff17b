"""The texts a TikZ picture draws, read from its source, so ``geometry``'s ``validate`` can find each
of them on the page (:mod:`renderers.readback`).

A TikZ picture draws text in node contents (``\\node[…] (name) at (…) {text}``, ``… node[…] {text}``),
in the quoted labels of the ``quotes`` library (``\\pic["$\\alpha$", …]``) and in ``label=``/``pin=``
options. Each is turned into its plain reading with ``pylatexenc``, as a table cell is. Text made by a
``\\foreach`` variable cannot be read from the source: such texts are left out, and the picture is
marked so that text on the page that no label accounts for is not held against it.
"""

from __future__ import annotations

import dataclasses
import re

from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import LatexWalker, get_default_latex_context_db

_COMMENT = re.compile(r"(?<!\\)%.*")
_NODE = re.compile(r"\\?\bnode\b")
_LOOP_VARIABLES = re.compile(r"\\foreach\s*((?:\\[A-Za-z]+\s*/?\s*)+)in")
_OPTION_TEXT_KEYS = ("label", "pin")
_CONTEXT = get_default_latex_context_db()
_TO_TEXT = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


@dataclasses.dataclass(frozen=True)
class PictureText:
    """``texts``: the plain reading of every text the source draws (those it can read); ``complete``:
    whether those are all the texts on the page (no ``\\foreach`` variable makes any)."""

    texts: list[str]
    complete: bool


def picture_text(tikz: str) -> PictureText:
    """The texts ``tikz`` draws (see the module docstring)."""
    source = _COMMENT.sub("", tikz)
    sources = [*_node_texts(source), *_option_texts(source)]
    variables = {name for match in _LOOP_VARIABLES.finditer(source) for name in re.findall(r"\\[A-Za-z]+", match.group(1))}
    readable = [text for text in sources if not any(re.search(re.escape(v) + r"(?![A-Za-z])", text) for v in variables)]
    return PictureText([plain(text) for text in readable], complete=not variables)


def plain(latex: str) -> str:
    """The plain reading of one text (``$A$`` → ``A``, ``$60^\\circ$`` → ``60^∘``)."""
    nodes = LatexWalker(latex, latex_context=_CONTEXT, tolerant_parsing=True).get_latex_nodes()[0]
    return " ".join(_TO_TEXT.nodelist_to_text(nodes).split())


def _node_texts(source: str) -> list[str]:
    """The contents of every node: after ``node``, options ``[…]``, a name ``(…)`` and ``at (…)`` in
    any order, then the braced text."""
    texts = []
    for match in _NODE.finditer(source):
        at = match.end()
        while True:
            at = _skip_space(source, at)
            if source.startswith("at", at) and not source[at + 2:at + 3].isalpha():
                at += 2
                continue
            closing = {"[": "]", "(": ")"}.get(source[at:at + 1])
            if closing is None:
                break
            end = _balanced(source, at, source[at], closing)
            if end < 0:
                break
            at = end
        if source[at:at + 1] == "{":
            end = _balanced(source, at, "{", "}")
            if end > 0:
                texts.append(source[at + 1:end - 1])
    return texts


def _option_texts(source: str) -> list[str]:
    """Texts given in options: ``"…"`` (the ``quotes`` library) and ``label=``/``pin=`` values."""
    texts = []
    at = source.find("[")
    while at >= 0:
        end = _balanced(source, at, "[", "]")
        if end < 0:
            break
        for entry in _split_top(source[at + 1:end - 1]):
            entry = entry.strip()
            if entry.startswith('"'):
                close = entry.find('"', 1)
                if close > 0:
                    texts.append(entry[1:close])
                continue
            key, equals, value = entry.partition("=")
            if equals and key.strip() in _OPTION_TEXT_KEYS:
                texts.append(_label_value(value.strip()))
        at = source.find("[", at + 1)
    return texts


def _label_value(value: str) -> str:
    """The text of a ``label=`` value: ``{[opts]above:$A$}`` → ``$A$``."""
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1].strip()
    if value.startswith("["):
        end = _balanced(value, 0, "[", "]")
        value = value[end:].strip() if end > 0 else value
    head, colon, rest = value.partition(":")
    if colon and "$" not in head and "{" not in head:
        value = rest
    return value.strip()


def _split_top(text: str) -> list[str]:
    """``text`` split at commas outside braces, brackets and math."""
    parts, depth, math, current = [], 0, False, []
    for i, ch in enumerate(text):
        escaped = i > 0 and text[i - 1] == "\\"
        if ch in "{[(" and not escaped:
            depth += 1
        elif ch in "}])" and not escaped:
            depth -= 1
        elif ch == "$" and not escaped:
            math = not math
        if ch == "," and depth == 0 and not math:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _skip_space(source: str, at: int) -> int:
    while at < len(source) and source[at].isspace():
        at += 1
    return at


def _balanced(source: str, start: int, opening: str, closing: str) -> int:
    """The index after the group opening at ``source[start]``, or -1 when it never closes."""
    depth = 0
    for i in range(start, len(source)):
        ch = source[i]
        if i > 0 and source[i - 1] == "\\":
            continue
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i + 1
    return -1
