"""Display formulas in LaTeX: a generator of realistic formulas, user files of one formula per line,
the one normalisation rule every formula target follows, and the plain-text reading of a formula.

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

The generator samples a structure (kind), then fills it: fractions, roots, sums/products/integrals/
limits with limits, matrices, ``cases``, accents, Greek letters, relations and operators,
sub/superscripts nested up to depth three, and long equations of several terms. Every random choice
comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np

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


# --------------------------------------------------------------------------- generator

LATIN = "abcdefghijklmnpqrstuvwxyzABCDEFGHIJKLMNPQRSTUVWXYZ"
GREEK = (
    "\\alpha", "\\beta", "\\gamma", "\\delta", "\\epsilon", "\\varepsilon", "\\zeta", "\\eta", "\\theta",
    "\\vartheta", "\\kappa", "\\lambda", "\\mu", "\\nu", "\\xi", "\\pi", "\\rho", "\\sigma", "\\tau",
    "\\phi", "\\varphi", "\\chi", "\\psi", "\\omega", "\\Gamma", "\\Delta", "\\Theta", "\\Lambda", "\\Xi",
    "\\Pi", "\\Sigma", "\\Phi", "\\Psi", "\\Omega",
)
ACCENTS = ("\\hat", "\\bar", "\\vec", "\\tilde", "\\dot", "\\ddot", "\\widehat", "\\overline", "\\mathbf",
           "\\mathcal", "\\mathbb", "\\mathrm")
UPPER_ONLY = ("\\mathcal", "\\mathbb")
BINARY = ("+", "-", "+", "-", "\\cdot", "\\times", "\\pm", "\\mp", "\\circ", "\\otimes", "\\oplus", "\\wedge")
RELATIONS = ("=", "=", "=", "\\leq", "\\geq", "<", ">", "\\neq", "\\approx", "\\equiv", "\\sim", "\\propto",
             "\\simeq", "\\subset", "\\subseteq", "\\in", "\\to", "\\Rightarrow", "\\Leftrightarrow", "\\ll")
FUNCTIONS = ("\\sin", "\\cos", "\\tan", "\\log", "\\ln", "\\exp", "\\sinh", "\\cosh", "\\arctan", "\\det",
             "\\max", "\\min", "\\sup", "\\inf")
BIG = ("\\sum", "\\sum", "\\prod", "\\int", "\\int", "\\oint", "\\iint", "\\bigcup", "\\bigcap")
MATRICES = ("pmatrix", "bmatrix", "vmatrix", "Bmatrix", "matrix")
KINDS = ("equation", "fraction", "big-operator", "integral", "limit", "matrix", "cases", "long", "root",
         "inequality")
KIND_WEIGHTS = (0.18, 0.12, 0.12, 0.12, 0.07, 0.09, 0.07, 0.09, 0.07, 0.07)
CASE_CONDITIONS = ("\\text{if } {v} > 0", "\\text{if } {v} < 0", "\\text{otherwise}", "{v} \\in {S}",
                   "\\text{for } {v} \\geq {n}", "{v} = 0", "\\text{else}")


class _Gen:
    """Recursive formula pieces; ``depth`` bounds nesting of scripts, fractions and groups."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, seq: Any) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def number(self) -> str:
        roll = self.rng.random()
        if roll < 0.6:
            return str(int(self.rng.integers(0, 10)))
        if roll < 0.85:
            return str(int(self.rng.integers(10, 1000)))
        return f"{self.rng.uniform(0, 100):.{int(self.rng.integers(1, 4))}f}"

    def letter(self) -> str:
        return self.pick(GREEK) if self.chance(0.3) else self.pick(LATIN)

    def variable(self, depth: int) -> str:
        base = self.letter()
        if self.chance(0.12):
            accent = self.pick(ACCENTS)
            letter = self.pick(LATIN[25:]) if accent in UPPER_ONLY else self.pick(LATIN)
            base = f"{accent}{{{letter}}}"
        if depth > 0 and self.chance(0.35):
            base = f"{base}_{{{self.index(depth - 1)}}}"
        if depth > 0 and self.chance(0.25):
            base = f"{base}^{{{self.script(depth - 1)}}}"
        return base

    def index(self, depth: int) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            return self.pick("ijknmt")
        if roll < 0.6:
            return self.number()
        if roll < 0.8:
            return f"{self.pick('ijkn')}{self.pick(['+', '-'])}{int(self.rng.integers(1, 4))}"
        return self.variable(depth) if depth > 0 else self.pick("ijk") + self.pick("ijk")

    def script(self, depth: int) -> str:
        roll = self.rng.random()
        if roll < 0.45:
            return self.number() if self.chance(0.7) else self.pick("nmk")
        if roll < 0.6:
            return "-1" if self.chance(0.5) else "\\prime"
        if roll < 0.8:
            return self.term(depth)
        return self.sum(depth, terms=2)

    def atom(self, depth: int) -> str:
        roll = self.rng.random()
        if roll < 0.35:
            return self.variable(depth)
        if roll < 0.5:
            return self.number()
        if roll < 0.6 and depth > 0:
            return f"\\frac{{{self.sum(depth - 1)}}}{{{self.sum(depth - 1)}}}"
        if roll < 0.7:
            name = self.pick(FUNCTIONS)
            argument = self.sum(depth - 1) if depth > 0 else self.variable(0)
            return f"{name} \\left( {argument} \\right)" if self.chance(0.5) else f"{name} {self.variable(0)}"
        if roll < 0.78 and depth > 0:
            return f"\\left( {self.sum(depth - 1)} \\right)^{{{self.script(depth - 1)}}}"
        if roll < 0.85 and depth > 0:
            return f"\\sqrt{{{self.sum(depth - 1)}}}"
        if roll < 0.92:
            f = self.pick("fghFGHuv")
            return f"{f} \\left( {self.variable(0)} \\right)" if self.chance(0.5) else f"{f}({self.variable(0)})"
        return self.variable(depth)

    def term(self, depth: int) -> str:
        n = 1 + int(self.rng.random() < 0.3) + int(self.rng.random() < 0.05)
        parts = [self.atom(depth) for _ in range(n)]
        digits_meet = any(a[-1:].isdigit() and b[:1].isdigit() for a, b in itertools.pairwise(parts))
        if n > 1 and (digits_meet or self.chance(0.3)):  # 2 3 would read as 23
            return " \\cdot ".join(parts)
        return " ".join(parts)

    def sum(self, depth: int, terms: int | None = None) -> str:
        n = terms if terms is not None else 1 + int(self.rng.random() < 0.55) + int(self.rng.random() < 0.2)
        out = self.term(depth)
        for _ in range(n - 1):
            out += f" {self.pick(BINARY)} {self.term(depth)}"
        return out

    def big_operator(self, depth: int) -> str:
        op = self.pick(BIG[:3] + BIG[-2:])
        i = self.pick("ijkn")
        low, high = (f"{i}={self.pick(['0', '1'])}", self.pick(["n", "N", "\\infty", "m"]))
        if self.chance(0.2):
            return f"{op}_{{{i} \\in {self.pick(LATIN[25:])}}} {self.sum(depth)}"
        return f"{op}_{{{low}}}^{{{high}}} {self.term(depth)}"

    def integral(self, depth: int) -> str:
        op = self.pick(("\\int", "\\int", "\\oint", "\\iint", "\\int"))
        var = self.pick("xtsuyz")
        limits = self.pick([("0", "1"), ("a", "b"), ("0", "\\infty"), ("-\\infty", "\\infty"), ("0", "2 \\pi"),
                            ("", "")])
        bounds = f"_{{{limits[0]}}}^{{{limits[1]}}}" if limits[0] else ("_{\\Omega}" if self.chance(0.3) else "")
        return f"{op}{bounds} {self.sum(depth)} \\, d {var}"

    def limit(self, depth: int) -> str:
        var = self.pick("xnht")
        to = self.pick(["0", "\\infty", "a", "0^{+}", "1"])
        return f"\\lim_{{{var} \\to {to}}} {self.atom(max(depth, 1))}"

    def matrix(self, depth: int) -> str:
        env = self.pick(MATRICES)
        rows, cols = int(self.rng.integers(2, 5)), int(self.rng.integers(2, 5))
        cells = []
        for _ in range(rows):
            cells.append(" & ".join(self.atom(0) if self.chance(0.6) else self.number() for _ in range(cols)))
        body = " \\\\ ".join(cells)
        lhs = self.pick(LATIN[25:])
        return f"{lhs} = \\begin{{{env}}} {body} \\end{{{env}}}"

    def cases(self, depth: int) -> str:
        n = int(self.rng.integers(2, 4))
        var = self.pick("xtn")
        rows = []
        for k in range(n):
            condition = self.pick(CASE_CONDITIONS).replace("{v}", var).replace("{S}", self.pick(LATIN[25:]))
            condition = condition.replace("{n}", self.number())
            if k == n - 1 and self.chance(0.5):
                condition = "\\text{otherwise}"
            rows.append(f"{self.sum(depth)} & {condition}")
        f = self.pick("fgh")
        body = " \\\\ ".join(rows)
        return f"{f}({var}) = \\begin{{cases}} {body} \\end{{cases}}"

    def equation(self, depth: int) -> str:
        return f"{self.sum(depth)} {self.pick(RELATIONS)} {self.sum(depth)}"


def generate_formula(rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """A random display formula (normalised LaTeX) and the record of its choices."""
    gen = _Gen(rng)
    kind = str(rng.choice(KINDS, p=np.array(KIND_WEIGHTS) / sum(KIND_WEIGHTS)))
    depth = int(rng.choice([1, 1, 2, 2, 2, 3]))
    if kind == "equation":
        latex = gen.equation(depth)
    elif kind == "fraction":
        latex = f"{gen.variable(1)} = \\frac{{{gen.sum(depth)}}}{{{gen.sum(depth)}}}"
    elif kind == "big-operator":
        latex = f"{gen.big_operator(depth - 1)} {gen.pick(RELATIONS[:5])} {gen.sum(depth - 1)}"
    elif kind == "integral":
        latex = f"{gen.integral(depth - 1)} = {gen.sum(depth - 1)}"
    elif kind == "limit":
        latex = f"{gen.limit(depth)} = {gen.sum(depth - 1)}"
    elif kind == "matrix":
        latex = gen.matrix(depth)
    elif kind == "cases":
        latex = gen.cases(max(depth - 1, 0))
    elif kind == "long":
        terms = [gen.term(depth - 1) for _ in range(int(rng.integers(4, 8)))]
        latex = terms[0] + "".join(f" {gen.pick(BINARY[:6])} {t}" for t in terms[1:])
        latex = f"{gen.variable(1)} = {latex}"
    elif kind == "root":
        degree = f"[{gen.pick(['3', 'n', '4'])}]" if rng.random() < 0.4 else ""
        latex = f"{gen.variable(1)} = \\sqrt{degree}{{{gen.sum(depth)}}}"
    else:  # inequality chain
        rel = gen.pick(("<", "\\leq", "\\ll"))
        latex = f"{gen.sum(1)} {rel} {gen.sum(depth - 1)} {rel} {gen.sum(1)}"
    return normalize_latex(latex), {"kind": kind, "depth": depth}
