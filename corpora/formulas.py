"""Display formulas in LaTeX: user files of one formula per line, the one normalisation rule every
formula target follows, and the plain-text reading of a formula (generated formulas:
:mod:`corpora.formula_generator`).

**Normalisation rule** (:func:`normalize_latex`, applied to generated and user formulas alike): the
formula is split into TeX tokens (a control word such as ``\\frac``, a control symbol such as
``\\,`` or ``\\{``, an environment delimiter such as ``\\begin{pmatrix}``, a number such as
``3.14``, or any other single character; whitespace is not a token) and the tokens are joined with exactly one space. The argument of a text-mode command
(``\\text``, ``\\textrm``, ``\\textit``, ``\\textbf``, ``\\mbox``, ``\\operatorname``) is kept as written
inside its braces, with each run of whitespace made one space. Math-mode TeX ignores spaces, so the
rule changes how a formula is written, never how it looks: the target does not depend on spacing
the image cannot show. Example: ``x^{2}+\\frac{a}{b}`` → ``x ^ { 2 } + \\frac { a } { b }``
(the im2latex / GOT-formula convention). The rule is idempotent.

User formulas: a text file (or folder of ``.txt``/``.tex`` files) of one formula per line. A line
may carry display delimiters (``\\[ … \\]``, ``$$ … $$``, ``$ … $``); they are removed. Lines that
cannot be a single display formula are rejected by reason: ``unbalanced-braces``, ``dollar-in-formula``,
``latex-comment`` (an unescaped ``%``), ``empty-formula``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from corpora.base import BadItem, check_visible
from corpora.indexed import IndexedCorpus, open_corpus
from corpora.split import formula_key

TEXT_COMMANDS = ("\\text", "\\textrm", "\\textit", "\\textbf", "\\mbox", "\\operatorname")
_TOKEN = re.compile(r"\\(?:begin|end)\s*\{[A-Za-z*]+\}|\\[A-Za-z]+|\\.|[0-9]+(?:\.[0-9]+)?|\S", re.DOTALL)
_ENVIRONMENT = re.compile(r"\\(begin|end)\s*\{")
_SPACES = re.compile(r"\s+")
_FUNCTION_WORD = re.compile(r"\b(arctan|sinh|cosh|tanh|coth|sin|cos|tan|cot|log|ln|exp|det|max|min|sup|inf|lim)(?=\w)")
_RELATION = re.compile(r"\s*([=<>≤≥≠≈≡∼∝≃⊂⊆∈→⇒⇔≪])\s*")


# --------------------------------------------------------------------------- normalisation


def _braced(text: str, start: int) -> int:
    """Index just after the brace group opening at ``text[start] == "{"``, or -1 if unclosed."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def normalize_latex(latex: str) -> str:
    """The canonical spelling of a formula (see the module docstring)."""
    return " ".join(tokenize_latex(latex))


def tokenize_latex(latex: str) -> list[str]:
    """The TeX tokens of the normalisation rule (a text command with its braced argument is one)."""
    tokens: list[str] = []
    pos = 0
    text = latex.strip()
    while pos < len(text):
        match = _TOKEN.search(text, pos)
        if match is None:
            break
        token = match.group()
        pos = match.end()
        if token == "\\" and match.end() - match.start() == 1:  # a lone backslash at the end
            tokens.append(token)
            continue
        if token in TEXT_COMMANDS:
            rest = text[pos:]
            skip = len(rest) - len(rest.lstrip())
            if rest[skip:skip + 1] == "{":
                end = _braced(text, pos + skip)
                if end > 0:
                    inner = _SPACES.sub(" ", text[pos + skip + 1:end - 1])
                    tokens.append(f"{token} {{{inner}}}")
                    pos = end
                    continue
        if _ENVIRONMENT.match(token):
            token = _SPACES.sub("", token)  # \begin{cases}: one token
        elif token.startswith("\\") and len(token) == 2 and token[1].isspace():
            token = "\\ "  # control space, kept as one token
        tokens.append(token)
    return tokens


def check_formula(latex: str) -> None:
    """Raise :class:`BadItem` for text that cannot be one display formula."""
    if not latex.strip():
        raise BadItem("empty-formula")
    depth = 0
    i = 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "%":
            raise BadItem("latex-comment", "an unescaped % starts a comment; write \\% for a percent sign")
        if ch == "$":
            raise BadItem("dollar-in-formula", "a $ inside a display formula; write \\$ for a dollar sign")
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
        i += 1
    if depth != 0:
        raise BadItem("unbalanced-braces", latex[:80])


# Longer than any display formula an image holds, and the reading's cost grows faster than the length.
MAX_FORMULA = 4000
_DELIMITERS = (("\\[", "\\]"), ("$$", "$$"), ("\\(", "\\)"), ("$", "$"))


def parse_formula(raw: Any) -> str:
    """One user formula line → its normalised LaTeX (display delimiters removed)."""
    if not isinstance(raw, str):
        raise BadItem("not-a-string", f"expected a string, found {type(raw).__name__}")
    text = raw.strip()
    if len(text) > MAX_FORMULA:
        raise BadItem("too-long", f"{len(text)} characters, at most {MAX_FORMULA} in one display formula")
    for left, right in _DELIMITERS:
        if len(text) > len(left) + len(right) and text.startswith(left) and text.endswith(right):
            text = text[len(left):-len(right)].strip()
            break
    check_formula(text)
    check_visible(text)
    latex = normalize_latex(text)
    latex_to_plain(latex)  # a formula without a plain reading fails here, as a bad item, not when drawn
    return latex


def user_formulas(path: str | Path) -> IndexedCorpus[str]:
    """User formulas: a file of one formula per line, or a folder of such ``.txt``/``.tex`` files."""
    return open_corpus(path, parse_formula, key=formula_key, suffixes=(".txt", ".tex"), lines_in_folders=True)


# --------------------------------------------------------------------------- plain-text reading


# Operator names TeX prints as words and pylatexenc would drop (\det m would read "m").
OPERATOR_NAMES = ("arg", "cot", "coth", "csc", "deg", "det", "dim", "gcd", "hom", "ker", "lg", "Pr", "sec", "tanh")


def _root(node: Any, l2tobj: Any) -> str:
    """``\\sqrt[n]{x}`` as ``√[n](x)``: the index is drawn, so the reading keeps it (pylatexenc
    passes its converter by this argument's name)."""
    index, radicand = (l2tobj.nodelist_to_text([arg]) if arg is not None else "" for arg in node.nodeargd.argnlist)
    return f"√[{index}]({radicand})" if index else f"√({radicand})"


@functools.cache
def _latex2text() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    context = get_default_latex_context_db()
    context.add_context_category("gotforge-math", prepend=True, macros=[
        *(MacroTextSpec(name, simplify_repl=name) for name in OPERATOR_NAMES), MacroTextSpec("sqrt", simplify_repl=_root),
    ])
    return LatexNodes2Text(latex_context=context, math_mode="text", strict_latex_spaces=True)


def compact_latex(latex: str) -> str:
    """The formula with the spaces TeX does not need removed (a space stays only after a control
    word followed by a letter, and between two numbers): how Mathpix writes formulas, and what
    pylatexenc reads best."""
    out = ""
    previous = ""
    for token in tokenize_latex(latex):
        if (previous[:1] == "\\" and previous[-1:].isalpha() and token[:1].isalpha()) or (
                previous[-1:].isdigit() and token[:1].isdigit()):
            out += " "
        out += token
        previous = token
    return out


def latex_to_plain(latex: str) -> str:
    """A formula as readable Unicode text (pylatexenc): ``\\alpha`` → α, ``\\frac{a}{b}`` → a/b.

    Raises :class:`BadItem` (``unreadable-latex``) for LaTeX pylatexenc cannot read: a macro short
    of its arguments (``\\href{x}``) fails inside it."""
    try:
        text = _latex2text().latex_to_text(compact_latex(latex))
    except (IndexError, KeyError, TypeError, ValueError, RecursionError) as err:
        raise BadItem("unreadable-latex", f"{type(err).__name__} reading {latex[:60]!r}") from None
    text = _FUNCTION_WORD.sub(r"\1 ", text)
    text = _RELATION.sub(r" \1 ", text)
    return _SPACES.sub(" ", text).strip()
