"""Geometry figures as TikZ code, generated procedurally from an ``rng`` (GOT's geometry data: points and
segments forming triangles, rectangles, circles and their combinations, and curves on coordinate
axes), or read from a user folder of ``.tikz`` files (one ``tikzpicture`` each). No rendering here.

A figure is built as a list of TikZ statements from sampled geometry: named points (``\\coordinate``)
drawn as dots with ``$A$``-style labels placed away from the figure's centre, polygons and circles
through them, and constructions: altitudes (dashed, with a right-angle mark at the foot), medians,
diagonals, radii and chords, inscribed and circumscribed circles, angle marks (``angles`` library),
and function plots (lines, parabolas, ellipses, hyperbolas) on ``x``/``y`` axes with a label.
Coordinates are written with at most two decimals, so the code stays short and the picture is
exactly what the code says.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from corpora.base import BadItem, check_visible
from corpora.indexed import IndexedCorpus, open_corpus
from corpora.latex_source import balanced, unsafe_command
from corpora.split import latex_key

KINDS = ("triangle", "rectangle", "circle", "inscribed", "function")
CURVES = ("line", "parabola", "ellipse", "hyperbola")
TIKZ_LIBRARIES = ("angles", "quotes", "calc", "arrows.meta")
_PICTURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.DOTALL)
_ANCHORS = ("right", "above right", "above", "above left", "left", "below left", "below", "below right")


@dataclasses.dataclass(frozen=True)
class Figure:
    """``tikz``: the whole ``tikzpicture`` environment; ``record``: every random choice."""

    tikz: str
    record: dict[str, Any] = dataclasses.field(default_factory=dict)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pt(p: np.ndarray) -> str:
    return f"({_num(p[0])},{_num(p[1])})"


def _anchor(point: np.ndarray, centre: np.ndarray) -> str:
    """The label position pointing away from ``centre`` (one of eight)."""
    d = point - centre
    if np.hypot(*d) < 1e-6:
        return "below left"
    sector = round(math.atan2(d[1], d[0]) / (math.pi / 4)) % 8
    return _ANCHORS[sector]


class _Builder:
    """Collects statements; points are named A, B, C, … in order of creation."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.points: dict[str, np.ndarray] = {}
        self.letters = iter("ABCDEFGHIJKLMNPQRSTUVW")
        self.dots = bool(rng.random() < 0.6)

    def point(self, xy: np.ndarray, name: str | None = None) -> str:
        name = name or next(self.letters)
        xy = np.round(np.asarray(xy, dtype=float), 2)
        self.points[name] = xy
        self.lines.append(f"\\coordinate ({name}) at {_pt(xy)};")
        return name

    def draw(self, path: str, style: str = "") -> None:
        self.lines.append(f"\\draw{f'[{style}]' if style else ''} {path};")

    def labels(self, centre: np.ndarray, names: list[str] | None = None) -> None:
        for name in names or list(self.points):
            if self.dots:
                self.lines.append(f"\\fill ({name}) circle (1.2pt);")
            self.lines.append(f"\\node[{_anchor(self.points[name], centre)}] at ({name}) {{${name}$}};")


def _triangle_points(rng: np.random.Generator) -> np.ndarray:
    """Three vertices with every angle at least 25° and sides of a readable size."""
    while True:
        p = rng.uniform(-2.5, 2.5, size=(3, 2))
        a, b, c = (np.linalg.norm(p[i] - p[j]) for i, j in ((1, 2), (0, 2), (0, 1)))
        if min(a, b, c) < 1.5:
            continue
        angles = [math.acos(np.clip((y * y + z * z - x * x) / (2 * y * z), -1, 1)) for x, y, z in
                  ((a, b, c), (b, a, c), (c, a, b))]
        if min(angles) > math.radians(25):
            return np.round(p, 2)


def _foot(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    t = float(np.dot(p - a, b - a) / np.dot(b - a, b - a))
    return a + t * (b - a)


def _angle_mark(builder: _Builder, a: str, vertex: str, b: str) -> dict[str, Any]:
    """``pic`` angle mark at ``vertex`` from ray ``a`` to ``b`` (counter-clockwise), labelled."""
    rng = builder.rng
    pa, pv, pb = (builder.points[n] for n in (a, vertex, b))
    cross = (pa - pv)[0] * (pb - pv)[1] - (pa - pv)[1] * (pb - pv)[0]
    if cross < 0:
        a, b = b, a
    label = str(rng.choice(["\\alpha", "\\beta", "\\theta", "\\gamma", "60^\\circ", "45^\\circ", "x"]))
    radius = _num(float(rng.uniform(0.35, 0.6)))
    builder.lines.append(f"\\pic[draw, \"${label}$\", angle radius={radius}cm, angle eccentricity=1.6] "
                         f"{{angle={a}--{vertex}--{b}}};")
    return {"angle_at": vertex, "angle_label": label}


def _right_mark(builder: _Builder, foot: str, a: str, apex: str) -> None:
    builder.lines.append(f"\\pic[draw, angle radius=0.22cm] {{right angle={a}--{foot}--{apex}}};")


def _triangle(builder: _Builder, record: dict[str, Any]) -> None:
    rng = builder.rng
    p = _triangle_points(rng)
    a, b, c = (builder.point(q) for q in p)
    builder.draw(f"({a}) -- ({b}) -- ({c}) -- cycle")
    centre = p.mean(axis=0)
    extra = str(rng.choice(["none", "altitude", "median", "incircle", "angle"], p=[0.15, 0.3, 0.2, 0.15, 0.2]))
    record["construction"] = extra
    if extra == "altitude":
        foot = _foot(p[2], p[0], p[1])
        inside = 0.05 < float(np.dot(foot - p[0], p[1] - p[0]) / np.dot(p[1] - p[0], p[1] - p[0])) < 0.95
        if inside:
            d = builder.point(foot)
            builder.draw(f"({c}) -- ({d})", "dashed")
            _right_mark(builder, d, b, c)
        else:
            record["construction"] = "none"
    elif extra == "median":
        d = builder.point((p[0] + p[1]) / 2)
        builder.draw(f"({c}) -- ({d})", "dashed")
    elif extra == "incircle":
        sides = np.array([np.linalg.norm(p[1] - p[2]), np.linalg.norm(p[0] - p[2]), np.linalg.norm(p[0] - p[1])])
        centre_in = (sides[:, None] * p).sum(axis=0) / sides.sum()
        s = sides.sum() / 2
        radius = math.sqrt(max(s * (s - sides[0]) * (s - sides[1]) * (s - sides[2]), 0)) / s
        i = builder.point(centre_in, "I")
        builder.draw(f"({i}) circle ({_num(radius)})", "dashed" if rng.random() < 0.5 else "")
    if rng.random() < 0.5 or extra == "angle":
        record.update(_angle_mark(builder, b, a, c))
    builder.labels(centre)


def _rectangle(builder: _Builder, record: dict[str, Any]) -> None:
    rng = builder.rng
    w, h = float(rng.uniform(2, 5)), float(rng.uniform(1.5, 3.5))
    if rng.random() < 0.3:
        h = w = min(w, 3.5)
    shear = float(rng.uniform(0.5, 1.5)) if rng.random() < 0.3 else 0.0  # a parallelogram
    x0, y0 = -w / 2, -h / 2
    corners = np.array([[x0, y0], [x0 + w, y0], [x0 + w + shear, y0 + h], [x0 + shear, y0 + h]])
    names = [builder.point(q) for q in corners]
    builder.draw(" -- ".join(f"({n})" for n in names) + " -- cycle")
    record["shape"] = "parallelogram" if shear else "square" if w == h else "rectangle"
    if rng.random() < 0.6:
        builder.draw(f"({names[0]}) -- ({names[2]})", "dashed")
        builder.draw(f"({names[1]}) -- ({names[3]})", "dashed")
        builder.point(corners.mean(axis=0), "O")
        record["diagonals"] = True
    elif not shear and rng.random() < 0.5:
        _right_mark(builder, names[0], names[1], names[3])
    builder.labels(np.round(corners.mean(axis=0), 2))


def _circle(builder: _Builder, record: dict[str, Any]) -> None:
    rng = builder.rng
    r = float(np.round(rng.uniform(1.2, 2.5), 2))
    o = builder.point(np.zeros(2), "O")
    builder.draw(f"({o}) circle ({_num(r)})")
    angles = np.sort(rng.uniform(0, 2 * math.pi, size=2))
    if angles[1] - angles[0] < 0.8:
        angles[1] = angles[0] + 0.8 + float(rng.uniform(0, 2))
    a, b = (builder.point(r * np.array([math.cos(t), math.sin(t)])) for t in angles)
    builder.draw(f"({o}) -- ({a})", "dashed" if rng.random() < 0.5 else "")
    choice = str(rng.choice(["chord", "tangent", "diameter"]))
    record["construction"] = choice
    if choice == "chord":
        builder.draw(f"({a}) -- ({b})")
        builder.draw(f"({o}) -- ({b})", "dashed")
        if rng.random() < 0.5:
            record.update(_angle_mark(builder, a, o, b))
    elif choice == "tangent":
        pa = builder.points[a]
        direction = np.array([-pa[1], pa[0]]) / r
        length = float(rng.uniform(1.2, 2.0))
        p = builder.point(pa + length * direction)
        builder.draw(f"($({a})!-0.6!({p})$) -- ({p})")
        _right_mark(builder, a, o, p)
    else:
        pb = -builder.points[a]
        c = builder.point(pb)
        builder.draw(f"({a}) -- ({c})")
        builder.draw(f"({a}) -- ({b}) -- ({c})", "dashed")
    builder.labels(np.zeros(2))


def _inscribed(builder: _Builder, record: dict[str, Any]) -> None:
    rng = builder.rng
    r = float(np.round(rng.uniform(1.5, 2.5), 2))
    while True:
        t = np.sort(rng.uniform(0, 2 * math.pi, size=3))
        gaps = np.diff(np.append(t, t[0] + 2 * math.pi))
        if gaps.min() > 0.9:
            break
    o = builder.point(np.zeros(2), "O")
    a, b, c = (builder.point(r * np.array([math.cos(x), math.sin(x)])) for x in t)
    builder.draw(f"({o}) circle ({_num(r)})")
    builder.draw(f"({a}) -- ({b}) -- ({c}) -- cycle")
    if rng.random() < 0.5:
        builder.draw(f"({o}) -- ({a})", "dashed")
        builder.draw(f"({o}) -- ({b})", "dashed")
    if rng.random() < 0.4:
        record.update(_angle_mark(builder, b, c, a))
    builder.labels(np.zeros(2))


def _axes(builder: _Builder, x: tuple[float, float], y: tuple[float, float]) -> None:
    builder.lines.append(f"\\draw[->] ({_num(x[0])},0) -- ({_num(x[1])},0) node[right] {{$x$}};")
    builder.lines.append(f"\\draw[->] (0,{_num(y[0])}) -- (0,{_num(y[1])}) node[above] {{$y$}};")
    builder.lines.append("\\node[below left] at (0,0) {$O$};")


def _function(builder: _Builder, record: dict[str, Any]) -> None:
    rng = builder.rng
    curve = str(rng.choice(CURVES))
    record["curve"] = curve
    style = str(rng.choice(["thick", "semithick", "thick, dashed"], p=[0.5, 0.35, 0.15]))
    if curve == "line":
        m, c = int(rng.integers(-3, 4)) or 1, int(rng.integers(-2, 3))
        lo, hi = (-3, 3) if abs(m) <= 1 else (round((-3 - c) / abs(m), 2), round((3 - c) / abs(m), 2))
        lo, hi = sorted((max(lo, -3), min(hi, 3)))
        _axes(builder, (-3.5, 3.5), (-3.5, 3.5))
        label = f"y={'' if m == 1 else '-' if m == -1 else m}x" + (f"{c:+d}" if c else "")
        builder.draw(f"plot[domain={_num(lo)}:{_num(hi)}] (\\x, {{{m}*\\x{c:+d}}}) node[right] {{${label}$}}", style)
    elif curve == "parabola":
        a = float(rng.choice([0.25, 0.5, 1.0, -0.5, -1.0]))
        h, k = int(rng.integers(-1, 2)), int(rng.integers(-1, 2))
        span = math.sqrt(3.0 / abs(a))
        lo, hi = h - span, h + span
        _axes(builder, (min(-3.0, lo - 0.5), max(3.0, hi + 0.5)), (-3.5, 3.5))
        shift = f"(\\x{-h:+d})" if h else "\\x"
        coef = "" if a == 1 else "-" if a == -1 else f"{_num(a)}*"
        tex_coef = "" if a == 1 else "-" if a == -1 else {0.25: "\\frac{1}{4}", 0.5: "\\frac{1}{2}", -0.5: "-\\frac{1}{2}"}[a]
        tex_shift = f"(x{-h:+d})" if h else "x"
        label = f"y={tex_coef}{tex_shift}^2" + (f"{k:+d}" if k else "")
        builder.draw(f"plot[domain={_num(lo)}:{_num(hi)}, samples=60] (\\x, {{{coef}{shift}^2{k:+d}}}) "
                     f"node[right] {{${label}$}}", style)
    elif curve == "ellipse":
        a, b = int(rng.integers(2, 4)), int(rng.integers(1, 3))
        if rng.random() < 0.5:
            a, b = b, a
        _axes(builder, (-a - 1, a + 1), (-b - 1, b + 1))
        builder.draw(f"(0,0) ellipse ({a} and {b})", style)
        builder.lines.append(f"\\node[above right] at ({_num(a * 0.72)},{_num(b * 0.72)}) "
                             f"{{$\\frac{{x^2}}{{{a * a}}}+\\frac{{y^2}}{{{b * b}}}=1$}};")
        if rng.random() < 0.5:
            focus = math.sqrt(abs(a * a - b * b))
            on_x = a >= b
            for sign, name in ((-1, "F_1"), (1, "F_2")):
                xy = (sign * focus, 0.0) if on_x else (0.0, sign * focus)
                builder.lines.append(f"\\fill {_pt(np.array(xy))} circle (1.2pt) node[below right] {{${name}$}};")
    else:
        a, b = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        _axes(builder, (-4, 4), (-3.5, 3.5))
        top = math.asinh(3.0 / b)
        for sign in (1, -1):
            builder.draw(f"plot[domain=-{_num(top)}:{_num(top)}, samples=40] "
                         f"({{{sign * a}*cosh(\\x)}}, {{{b}*sinh(\\x)}})", style)
        builder.lines.append(f"\\node[right] at ({_num(a * math.cosh(top) * 0.8)},{_num(b * math.sinh(top) * 0.8)}) "
                             f"{{$\\frac{{x^2}}{{{a * a}}}-\\frac{{y^2}}{{{b * b}}}=1$}};")
        if rng.random() < 0.5:
            builder.draw(f"(-3.5,{_num(-3.5 * b / a)}) -- (3.5,{_num(3.5 * b / a)})", "dashed, gray")
            builder.draw(f"(-3.5,{_num(3.5 * b / a)}) -- (3.5,{_num(-3.5 * b / a)})", "dashed, gray")
    if curve in ("line", "parabola") and rng.random() < 0.3:
        builder.lines.append("\\draw[help lines, very thin] (-3,-3) grid (3,3);")


BUILDERS = {"triangle": _triangle, "rectangle": _rectangle, "circle": _circle, "inscribed": _inscribed,
            "function": _function}


def random_figure(rng: np.random.Generator, kinds: tuple[str, ...] = KINDS) -> Figure:
    """A random figure of one of ``kinds``: its ``tikzpicture`` code and its record."""
    kind = str(kinds[int(rng.integers(len(kinds)))])
    builder = _Builder(rng)
    record: dict[str, Any] = {"kind": kind, "dots": builder.dots}
    BUILDERS[kind](builder, record)
    options = []
    scale = float(rng.choice([0.8, 1.0, 1.0, 1.2]))
    if scale != 1.0:
        options.append(f"scale={_num(scale)}")
    width = str(rng.choice(["", "thick", "semithick", "line width=0.8pt"]))
    if width:
        options.append(width)
    if rng.random() < 0.3:
        options.append("font=\\small")
    record.update(scale=scale, line_width=width or "default")
    head = "\\begin{tikzpicture}" + (f"[{', '.join(options)}]" if options else "")
    return Figure("\n".join([head, *builder.lines, "\\end{tikzpicture}"]), record)


# -- user folders ------------------------------------------------------------------------------------

def parse_figure(raw: Any) -> Figure:
    """One user ``.tikz`` item: exactly one ``tikzpicture`` (text around it ignored), safe to compile."""
    if not isinstance(raw, str):
        raise BadItem("not-a-string", f"expected TikZ source, found {type(raw).__name__}")
    found = _PICTURE.findall(raw)
    if len(found) != 1:
        raise BadItem("not-one-tikzpicture", f"expected one tikzpicture environment, found {len(found)}")
    tikz = found[0].strip()
    check_visible(tikz)
    command = unsafe_command(tikz)
    if command:
        raise BadItem("unsafe-command", f"{command} is not allowed in a corpus item")
    if not balanced(tikz):
        raise BadItem("unbalanced-braces", tikz[:80])
    return Figure(tikz, {"kind": "user"})


def user_figures(path: str | Path) -> IndexedCorpus[Figure]:
    """A ``.tikz`` file or a folder of them (one tikzpicture each), or a ``.jsonl`` file of TikZ strings."""
    return open_corpus(path, parse_figure, key=latex_key, suffixes=(".tikz",), whole_file_suffixes=(".tikz",))
