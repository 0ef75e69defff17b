"""Generated display formulas in LaTeX, in the normalised spelling of :mod:`corpora.formulas`.

The generator samples a structure (kind), then fills it: fractions, roots, sums/products/integrals/
limits with limits, matrices, ``cases``, accents, Greek letters, relations and operators,
sub/superscripts nested up to depth three, and long equations of several terms. Every random choice
comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from corpora.formulas import normalize_latex

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


class FormulaGen:
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
    gen = FormulaGen(rng)
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
