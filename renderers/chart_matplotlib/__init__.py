"""Chart images drawn with matplotlib (Agg), with the chart dict as the target (GOT paper,
section 3.3: charts rendered with Matplotlib and Pyecharts, targets in OneChart's chart-dict
format; the data and the target text live in :mod:`corpora.charts`).

Kinds: bar, grouped bar, stacked bar, horizontal bar, line, scatter (categories on x) and pie.
GOT asks for structured outputs (markdown, TikZ, SMILES, kern, chart dicts) with the formatted
prompt, so ``task`` is ``format`` (``OCR with format: ``).

Each sample first draws every random choice into a record (kind, language, style sheet, font,
sizes, colours, legend position, value labels, grid, spines, rotation; SynthTIGER's sample/apply
split), then draws it. The record is the sample's ``meta``.

Determinism: the object-oriented API only (``Figure`` + ``FigureCanvasAgg``, no pyplot), and no
global ``matplotlib.rcParams`` mutation: each chart is drawn inside ``rc_context`` with a
complete set of parameters (matplotlib's defaults + the chosen style sheet + the chosen font), so
neither earlier samples nor a user's ``matplotlibrc`` change the picture. Agg rasterises the same
bytes for the same figure. Fonts come from :mod:`renderers.backends.fonts` (English: the families in
``EN_FAMILIES``; Chinese: ``fonts.pick_font`` over simplified-Chinese CJK faces); a face is used
only when it covers every character the chart draws, else the sample is rejected with
``missing-glyph``, and matplotlib is pointed at exactly that face through an alias family
registered at construction. Mathtext is off (``text.parse_math``), so a ``$`` in a name is drawn
as itself.

Speed: no layout engine. The texts around the axes are measured once with the canvas renderer
and the axes placed from those extents (:func:`_lay_out`), then the figure is drawn once; an
inside legend goes to the sampled corner or the next free one instead of ``loc="best"``.

Value labels are drawn with :func:`corpora.charts.format_number`, the same text as the number in
the target. Tick labels cannot show exact values; the target still lists them (as GOT's does).
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import matplotlib
import numpy as np
import pydantic
from matplotlib import font_manager, style, ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import offset_copy
from PIL import Image

from corpora.base import Corpus
from corpora.charts import (
    KINDS,
    Chart,
    chart_from_target,
    chart_to_target,
    format_number,
    generate_chart,
    user_charts,
)
from corpora.text import detect_lang
from renderers.backends import fonts
from renderers.base import Reject, RendererOptions, Sample, SubsetOf

STYLES = (
    "default",
    "classic",
    "ggplot",
    "bmh",
    "fivethirtyeight",
    "grayscale",
    "Solarize_Light2",
    "dark_background",
    "fast",
    "tableau-colorblind10",
    "petroff10",
    "seaborn-v0_8-whitegrid",
    "seaborn-v0_8-darkgrid",
    "seaborn-v0_8-white",
    "seaborn-v0_8-ticks",
    "seaborn-v0_8-muted",
    "seaborn-v0_8-pastel",
    "seaborn-v0_8-deep",
)
# Families of English charts (their faces come from renderers/fonts.py). Chinese charts take any
# simplified-Chinese (or region-less) CJK sans or serif face through fonts.pick_font.
EN_FAMILIES = (
    "DejaVu Sans",
    "DejaVu Serif",
    "Liberation Sans",
    "Liberation Serif",
    "Liberation Sans Narrow",
    "FreeSerif",
    "Carlito",
    "Caladea",
    "Linux Libertine O",
    "Linux Biolinum O",
    "Nimbus Sans",
    "URW Gothic",
    "C059",
    "P052",
)
ZH_STYLES = {"sans": 0.6, "serif": 0.4}
ZH_REGIONS = ("sc", "")
PALETTES = (
    "style",
    "tab10",
    "Set1",
    "Set2",
    "Dark2",
    "Paired",
    "Accent",
    "viridis",
    "plasma",
    "cividis",
    "coolwarm",
    "Blues",
    "Greens",
    "tab20b",
)
QUALITATIVE = {"tab10", "Set1", "Set2", "Dark2", "Paired", "Accent", "tab20b"}
LEGEND_LOCS = (
    "upper right",
    "upper left",
    "lower right",
    "lower left",
    "upper center",
    "outside right upper",
    "outside lower center",
    "outside upper center",
)
# matplotlib loc of a legend drawn outside the axes, anchored at the point _lay_out chooses.
OUTSIDE_ANCHOR = {
    "outside right upper": "upper left",
    "outside lower center": "lower center",
    "outside upper center": "upper center",
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
# Characters of numbers on ticks and value labels, which every font must also cover.
NUMBER_CHARS = "0123456789.,-−+e%×"
FONT_LOOKUP_KEYS = (
    "font.serif",
    "font.sans-serif",
    "font.monospace",
    "font.cursive",
    "font.fantasy",
    "mathtext.",
)
# rcParams that do not affect drawing (or must not be set per figure).
NOT_DRAWING = (
    "backend",
    "backend_fallback",
    "interactive",
    "toolbar",
    "timezone",
    "webagg.",
    "tk.",
    "figure.max_open_warning",
    "figure.raise_window",
    "savefig.directory",
    "docstring.",
)

class Options(RendererOptions):
    kinds: SubsetOf(KINDS) = KINDS
    zh_probability: float = pydantic.Field(0.35, ge=0.0, le=1.0)
    width_px: tuple[int, int] = (480, 800)
    height_px: tuple[int, int] = (360, 600)
    dpi: tuple[int, ...] = (80, 100, 120)
    font_sizes: tuple[int, ...] = (9, 10, 11, 12)
    value_label_probability: float = pydantic.Field(0.4, ge=0.0, le=1.0)
    styles: tuple[str, ...] = STYLES

    @pydantic.field_validator("styles")
    @classmethod
    def _known_styles(cls, styles: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in styles if s != "default" and s not in style.library]
        if unknown or not styles:
            raise ValueError(f"unknown matplotlib styles {unknown}; known: {sorted(style.library)}")
        return styles

    @pydantic.field_validator("width_px", "height_px")
    @classmethod
    def _ordered(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        if not 200 <= bounds[0] <= bounds[1] <= 2000:
            raise ValueError(f"expected (low, high) pixels with 200 <= low <= high <= 2000, found {bounds}")
        return bounds

    @pydantic.field_validator("dpi")
    @classmethod
    def _dpis(cls, dpis: tuple[int, ...]) -> tuple[int, ...]:
        if not dpis or not all(50 <= d <= 300 for d in dpis):
            raise ValueError(f"dpi choices must be between 50 and 300, found {list(dpis)}")
        return dpis

class MatplotlibChartRenderer:
    name: ClassVar[str] = "chart-matplotlib"
    markup: ClassVar[str] = "chart-json"
    task: ClassVar[str] = "format"
    version: ClassVar[str] = "6"
    Options: ClassVar[type[RendererOptions]] = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: Corpus[Chart] | None = user_charts(corpus_path) if corpus_path is not None else None
        # (regular, bold) faces of every font a chart may use, each registered with matplotlib once
        # under an alias that resolves to exactly that face (see _register_alias).
        self.en_fonts = [pair for family in EN_FAMILIES if (pair := _family_pair(family)) is not None]
        if not self.en_fonts:
            raise RuntimeError(f"none of the fonts {EN_FAMILIES} is installed; install fonts-dejavu")
        zh = fonts.faces("cjk", styles=ZH_STYLES, regions=ZH_REGIONS, regular=True)
        self.bold = {regular: bold for regular, bold in self.en_fonts}
        self.bold.update({face: _bold_of(face, "cjk") for face in zh})
        for regular, bold in self.bold.items():
            _register_alias(regular, bold)
        defaults = {k: v for k, v in matplotlib.rcParamsDefault.items() if not k.startswith(NOT_DRAWING)}
        # Font lists and the math font set stay at their defaults in every style: they are part of
        # matplotlib's font lookup cache key, and the family is named explicitly anyway.
        font_keys = {k: v for k, v in defaults.items() if k.startswith(FONT_LOOKUP_KEYS)}
        self._style_rc = {
            s: {**defaults, **(style.library[s] if s != "default" else {}), **font_keys}
            for s in options.styles
        }

    # ------------------------------------------------------------------ sampling

    def render(self, rng: np.random.Generator) -> Sample:
        chart, kind, lang, data = self.sample_chart(rng)
        look = self.sample_look(rng, chart, kind, lang)
        fig, placed = self.figure(chart, kind, look)
        width, height = fig.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        meta = {"lang": lang, "kind": kind, **look, **placed, "data": data}
        return Sample(images=[image.convert("RGB")], target=chart_to_target(chart), meta=meta)

    def sample_chart(self, rng: np.random.Generator) -> tuple[Chart, str, str, dict[str, Any]]:
        """The chart to draw (generated, or a user chart), its kind, its language and a record of
        how its data was made."""
        if self.corpus is not None:
            index = int(rng.integers(len(self.corpus)))
            chart = self.corpus.items[index]
            kinds = [k for k in self.options.kinds if _fits(chart, k)]
            if not kinds:
                raise Reject("no-fitting-kind", f"chart {index} fits none of {self.options.kinds}")
            kind = kinds[int(rng.integers(len(kinds)))]
            return chart, kind, detect_lang(" ".join(chart.texts())), {"origin": "user", "index": index}
        lang = "zh" if rng.random() < self.options.zh_probability else "en"
        kind = self.options.kinds[int(rng.integers(len(self.options.kinds)))]
        chart, record = generate_chart(rng, lang, kind)
        return chart, kind, lang, {"origin": "generated", **record}

    def sample_look(self, rng: np.random.Generator, chart: Chart, kind: str, lang: str) -> dict[str, Any]:
        """Every drawing choice for one chart (style, font, sizes, colours, legend, ...): the meta."""
        o = self.options
        pick = lambda seq: seq[int(rng.integers(len(seq)))]
        font, bold = self._pick_font(rng, chart, lang)
        dpi = int(pick(o.dpi))
        width = int(rng.integers(o.width_px[0], o.width_px[1] + 1))
        height = int(rng.integers(o.height_px[0], o.height_px[1] + 1))
        # A few whole-point sizes (the pixel size follows the dpi): matplotlib's font lookup cache is
        # keyed by family, weight and size, so few distinct sizes keep it warm.
        font_size = int(pick(o.font_sizes))
        n_points = len(chart.series) * len(chart.categories)
        look: dict[str, Any] = {
            "style": pick(o.styles),
            "font": font.to_meta(),
            "font_size": font_size,
            "title_scale": float(pick((1.2, 1.4, 1.6))),
            "title_font": (font, bold)[int(rng.integers(2))].to_meta(),
            "title_loc": pick(("center", "center", "left")),
            "width_px": width,
            "height_px": height,
            "dpi": dpi,
            "palette": pick(PALETTES),
            "legend_loc": pick(LEGEND_LOCS),
            "legend_frame": bool(rng.random() < 0.7),
            "value_labels": bool(rng.random() < o.value_label_probability and n_points <= 24),
            "grid": pick(("none", "value", "both")),
            "spines": pick(("all", "open")),
            "source_loc": pick(("left", "right")),
            "unicode_minus": bool(rng.random() < 0.5),
            # Unhinted glyphs (as browsers draw them) are cheaper to draw than matplotlib's
            # default auto-hinted ones; both occur in real charts.
            "hinting": pick(("no_hinting", "no_hinting", "no_hinting", "force_autohint")),
        }
        if kind == "pie":
            look.update(
                start_angle=int(pick((90, 0, 140))),
                counterclock=bool(rng.random() < 0.5),
                donut=bool(rng.random() < 0.25),
                pie_labels=pick(("wedges", "legend")),
            )
        else:
            look["bar_width"] = round(float(rng.uniform(0.55, 0.85)), 2)
            look["markers"] = bool(rng.random() < 0.7)
            look["line_width"] = round(float(rng.uniform(1.0, 2.8)), 1)
            look["rotation"] = self._rotation(rng, chart, kind, look, lang)
        return look

    def _pick_font(
        self, rng: np.random.Generator, chart: Chart, lang: str
    ) -> tuple[fonts.FontFace, fonts.FontFace]:
        """A regular face of ``lang`` (else of the other language) that covers every character the
        chart draws, and its bold face (the regular one again where the bold lacks a title glyph)."""
        text = "".join(chart.texts()) + NUMBER_CHARS
        for pick_lang in (lang, "zh" if lang == "en" else "en"):
            if pick_lang == "en":
                order = rng.permutation(len(self.en_fonts))
                regular = next(
                    (self.en_fonts[i][0] for i in order if fonts.covers(self.en_fonts[i][0], text)), None
                )
            else:
                try:
                    regular = fonts.pick_font(rng, text, script="cjk", styles=ZH_STYLES, regions=ZH_REGIONS)
                except fonts.MissingGlyphs:
                    regular = None
            if regular is not None:
                bold = self.bold[regular]
                return regular, bold if fonts.covers(bold, chart.title) else regular
        missing = set.intersection(*(fonts.missing_glyphs(face, text) for face in self.bold))
        raise Reject("missing-glyph", "no installed font covers " + "".join(sorted(missing))[:40])

    def _rotation(self, rng: np.random.Generator, chart: Chart, kind: str, look: dict, lang: str) -> int:
        """Rotate category labels when they would not fit side by side (an estimate from lengths)."""
        if kind == "hbar":
            return 0
        char_px = look["font_size"] * look["dpi"] / 72 * (1.0 if lang == "zh" else 0.6)
        slot = 0.75 * look["width_px"] / len(chart.categories)
        widest = max(len(c) for c in chart.categories) * char_px
        if widest <= 0.85 * slot:
            return 0
        return int(rng.choice([30, 45, 90]))

    # ------------------------------------------------------------------ drawing

    def _rc(self, look: dict[str, Any]) -> dict[str, Any]:
        rc = dict(self._style_rc[look["style"]])
        size = look["font_size"]
        rc.update(
            {
                "font.family": [_alias(look["font"])],
                "font.size": size,
                "axes.titlesize": _pt(size, look["title_scale"]),
                "font.weight": "normal",  # the alias's two faces, see _register_alias
                "axes.titleweight": "normal" if look["title_font"] == look["font"] else "bold",
                "axes.labelweight": "normal",
                "figure.labelweight": "normal",
                "figure.titleweight": "bold",
                "axes.labelsize": size,
                "xtick.labelsize": _pt(size, 0.9),
                "ytick.labelsize": _pt(size, 0.9),
                "legend.fontsize": _pt(size, 0.9),
                "legend.title_fontsize": size,
                "legend.frameon": look["legend_frame"],
                "axes.unicode_minus": look["unicode_minus"],
                "axes.formatter.use_mathtext": False,
                "text.parse_math": False,
                "text.usetex": False,
                "svg.hashsalt": "gotforge",
                "text.hinting": look["hinting"],
                "figure.dpi": look["dpi"],
                "savefig.dpi": look["dpi"],
            }
        )
        return rc

    def _colors(self, rc: dict[str, Any], palette: str, n: int) -> list[Any]:
        if palette == "style":
            cycle = rc["axes.prop_cycle"].by_key().get("color") or ["C0"]
            return [cycle[i % len(cycle)] for i in range(n)]
        cmap = matplotlib.colormaps[palette]
        if palette in QUALITATIVE:
            return [cmap(i % cmap.N) for i in range(n)]
        return [cmap(x) for x in np.linspace(0.15, 0.85, n)] if n > 1 else [cmap(0.6)]

    def figure(self, chart: Chart, kind: str, look: dict[str, Any]) -> tuple[Figure, dict[str, Any]]:
        """The drawn figure (Agg canvas attached) of ``chart`` with the choices ``look``, and the
        choices made while laying it out (for the meta: the legend corner, dropped value labels).

        No layout engine: the texts around the axes are measured with the canvas renderer and the
        axes placed so they fit (:func:`_lay_out`), then the figure is drawn once."""
        rc = self._rc(look)
        with matplotlib.rc_context(rc):
            fig = Figure(
                figsize=(look["width_px"] / look["dpi"], look["height_px"] / look["dpi"]), dpi=look["dpi"]
            )
            canvas = FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            drawn = self._plot(fig, ax, chart, kind, look, rc)
            boxes = TextBoxes(canvas.get_renderer())
            placed = _lay_out(fig, ax, boxes, drawn, rc)
            canvas.draw()
            _check_layout(canvas, boxes, drawn, look.get("rotation", 0))
        return fig, placed

    def _plot(self, fig: Figure, ax: Any, chart: Chart, kind: str, look: dict, rc: dict) -> dict[str, list]:
        """Draw ``chart`` on ``ax``; return the text artists that must stay inside the figure."""
        matrix = chart.matrix()  # (series, categories)
        series, categories = chart.series, chart.categories
        drawn: dict[str, Any] = {"texts": [], "values": [], "ticks": [], "title": None, "source": None, "legend": None}
        size = look["font_size"]
        if kind == "pie":
            self._plot_pie(ax, chart, look, rc, drawn)
        else:
            colors = self._colors(rc, look["palette"], len(series))
            positions = np.arange(len(categories))
            if kind in ("bar", "grouped_bar", "hbar"):
                n = len(series)
                step = look["bar_width"] / n
                for i, (name, row) in enumerate(zip(series, matrix)):
                    offset = (i - (n - 1) / 2) * step
                    plot = ax.barh if kind == "hbar" else ax.bar
                    plot(positions + offset, row, step * 0.95, label=name, color=colors[i])
                    if look["value_labels"]:
                        ends = zip(row, positions + offset) if kind == "hbar" else zip(positions + offset, row)
                        drawn["values"] += _value_labels(
                            ax, list(ends), _labels(chart, name), "bar-end-x" if kind == "hbar" else "bar-end-y",
                            _pt(size, 0.8),
                        )
            elif kind == "stacked_bar":
                bottom = np.zeros(len(categories))
                for i, (name, row) in enumerate(zip(series, matrix)):
                    ax.bar(positions, row, look["bar_width"], bottom=bottom, label=name, color=colors[i])
                    if look["value_labels"]:
                        middles = list(zip(positions, bottom + row / 2))
                        drawn["values"] += _value_labels(ax, middles, _labels(chart, name), "center", _pt(size, 0.8))
                    bottom = bottom + row
            else:
                for i, (name, row) in enumerate(zip(series, matrix)):
                    marker = MARKERS[i % len(MARKERS)]
                    if kind == "line":
                        ax.plot(
                            positions,
                            row,
                            marker=marker if look["markers"] else None,
                            label=name,
                            color=colors[i],
                            linewidth=look["line_width"],
                            markersize=size * 0.5,
                        )
                    else:
                        ax.scatter(
                            positions,
                            row,
                            marker=marker,
                            label=name,
                            color=colors[i],
                            s=(size * 0.9) ** 2,
                            zorder=3,
                        )
                    if look["value_labels"]:
                        points = list(zip(positions, row))
                        drawn["values"] += _value_labels(ax, points, _labels(chart, name), "above", _pt(size, 0.8))
            self._decorate_axes(ax, chart, kind, look, positions, drawn)
            self._legend(fig, ax, look, title=None, drawn=drawn)
        if chart.title:
            # An explicit y keeps matplotlib from re-placing the title at every draw.
            drawn["title"] = ax.set_title(
                _wrap(chart.title, look, look["title_scale"]), loc=look["title_loc"], y=1.0
            )
            drawn["texts"].append(drawn["title"])
        if chart.source:
            drawn["source"] = fig.text(
                0.01 if look["source_loc"] == "left" else 0.99,
                0.01,
                chart.source,
                ha=look["source_loc"],
                va="bottom",
                fontsize=_pt(size, 0.8),
            )
            drawn["texts"].append(drawn["source"])
        return drawn

    def _decorate_axes(
        self, ax: Any, chart: Chart, kind: str, look: dict, positions: np.ndarray, drawn: dict[str, list]
    ) -> None:
        categories = chart.categories
        value_axis = "x" if kind == "hbar" else "y"
        # Grid first: a grid setting is applied to every tick made so far, and ticks made after it
        # take it from the axis (same picture, fewer tick updates).
        ax.grid(False)
        if look["grid"] != "none":
            ax.grid(True, axis=value_axis if look["grid"] == "value" else "both", alpha=0.6)
            ax.set_axisbelow(True)
        if kind == "hbar":
            ax.set_yticks(positions, categories)
            ax.invert_yaxis()  # first category at the top
            drawn["ticks"] = ax.get_yticklabels()
        else:
            rotation = look["rotation"]
            ax.set_xticks(
                positions,
                categories,
                rotation=rotation,
                ha="right" if rotation in (30, 45) else "center",
                rotation_mode="anchor" if rotation in (30, 45) else "default",
            )
            drawn["ticks"] = ax.get_xticklabels()
        getattr(ax, f"{value_axis}axis").set_major_locator(InViewLocator())
        if chart.x_title:
            drawn["texts"].append(ax.set_xlabel(chart.x_title))
        if chart.y_title:
            drawn["texts"].append(ax.set_ylabel(chart.y_title))
        if look["value_labels"]:
            ax.margins(**{value_axis: 0.15})
        if look["spines"] == "open":
            ax.spines[["top", "right"]].set_visible(False)

    def _legend(
        self,
        fig: Figure,
        ax: Any,
        look: dict,
        title: str | None,
        drawn: dict[str, list],
        handles: list | None = None,
        labels: list[str] | None = None,
    ) -> None:
        if handles is None:
            handles, labels = ax.get_legend_handles_labels()
        loc = look["legend_loc"]
        kwargs: dict[str, Any] = {"title": title, "frameon": look["legend_frame"]}
        if loc.startswith("outside"):
            # Placed beside the axes by _lay_out (the layout engine that places "outside" legends
            # itself is not used).
            ncol = len(handles) if "center" in loc and len(handles) <= 5 else 1
            legend = fig.legend(
                handles, labels, loc=OUTSIDE_ANCHOR[loc], ncols=ncol, borderaxespad=0, **kwargs
            )
            drawn["legend"] = (loc, legend)
        else:
            legend = ax.legend(handles, labels, loc=loc, **kwargs)
            drawn["inside_legend"] = loc
        drawn["texts"] += legend.get_texts()

    def _plot_pie(self, ax: Any, chart: Chart, look: dict, rc: dict, drawn: dict[str, list]) -> None:
        ((name, row),) = chart.values.items()
        categories = list(row)
        values = [float(v) for v in row.values()]
        colors = self._colors(rc, look["palette"], len(categories))
        on_wedges = look["pie_labels"] == "wedges"
        wedgeprops = {"width": 0.45, "edgecolor": "white"} if look["donut"] else {"edgecolor": "white"}
        wedges, label_texts = ax.pie(
            values,
            labels=categories if on_wedges else None,
            colors=colors,
            startangle=look["start_angle"],
            counterclock=look["counterclock"],
            wedgeprops=wedgeprops,
        )[:2]
        drawn["texts"] += list(label_texts)
        if look["value_labels"]:
            percent = "%" if math.isclose(sum(values), 100.0, abs_tol=1e-6) else ""
            radius = 0.78 if look["donut"] else 0.65
            for wedge, value in zip(wedges, row.values()):
                angle = math.radians((wedge.theta1 + wedge.theta2) / 2)
                drawn["values"].append(
                    ax.text(
                        radius * math.cos(angle),
                        radius * math.sin(angle),
                        format_number(value) + percent,
                        ha="center",
                        va="center",
                        fontsize=_pt(look["font_size"], 0.8),
                    )
                )
        if on_wedges:
            drawn["texts"].append(ax.set_xlabel(name))  # the series name, under the pie
        else:
            self._legend(
                ax.figure, ax, look, title=name, drawn=drawn, handles=list(wedges), labels=categories
            )

    # ------------------------------------------------------------------ checks

    def validate(self, sample: Sample) -> None:
        """The target is canonical chart JSON with named series and categories, and the image has the
        size in the meta (the engine itself rejects a blank image)."""
        try:
            chart = chart_from_target(sample.target)
        except ValueError as err:
            raise Reject("bad-target", str(err)) from err
        if chart_to_target(chart) != sample.target:
            raise Reject("bad-target", "target is not in the canonical serialisation")
        if sample.meta.get("kind") == "pie" and len(chart.series) != 1:
            raise Reject("bad-target", f"a pie chart has one series, found {len(chart.series)}")
        image = sample.images[0]
        if image.size != (sample.meta["width_px"], sample.meta["height_px"]):
            raise Reject(
                "bad-image",
                f"image is {image.size}, meta says {sample.meta['width_px']}x{sample.meta['height_px']}",
            )

def _family_pair(family: str) -> tuple[fonts.FontFace, fonts.FontFace] | None:
    """The regular face of an installed Latin ``family`` (upright, weight nearest 400, not condensed)
    and its bold face, or None when the family is not installed."""
    regular = [f for f in fonts.faces("latin", regular=True) if f.family == family]
    if not regular:
        return None
    face = min(regular, key=lambda f: (abs(f.weight - 400), "condensed" in f.subfamily.lower(), f))
    return face, _bold_of(face, "latin")

def _bold_of(regular: fonts.FontFace, script: str) -> fonts.FontFace:
    """The boldest upright face (600 or more) of ``regular``'s family and width, else ``regular``."""
    condensed = "condensed" in regular.subfamily.lower()
    bolds = [
        f
        for f in fonts.faces(script)
        if f.family == regular.family
        and not f.italic
        and f.weight >= 600
        and ("condensed" in f.subfamily.lower()) == condensed
    ]
    return max(bolds, key=lambda f: (f.weight, f), default=regular)

def _alias(face: Mapping[str, Any] | fonts.FontFace) -> str:
    """The family name under which matplotlib finds exactly this face (and its bold)."""
    if isinstance(face, fonts.FontFace):
        face = face.to_meta()
    return f"gotforge {face['family']} {face['subfamily']} {face['index']}"

def _register_alias(regular: fonts.FontFace, bold: fonts.FontFace) -> None:
    """Register ``regular`` and ``bold`` with matplotlib under one alias family, as its "normal"
    and "bold" weights (the same face twice where the family has no bold).

    matplotlib picks a font by family name and weight among every installed face, and a family
    name does not single out a face (DejaVu Sans has a condensed face of the same weight, and the
    Noto CJK collections hold five regions' faces), while ``FontProperties(fname=...)`` loses a
    collection's face index and tick labels take no font properties. An alias family of exactly
    the two faces the glyph coverage was checked on makes ``font.family`` exact. Registering is
    idempotent and adds names no one else uses; it runs at construction, never per sample. Each
    alias entry goes first in the font list, so a lookup that misses matplotlib's cache stops at it
    instead of scoring every installed face (~10 ms).
    """
    name = _alias(regular)
    manager = font_manager.fontManager
    have = {(e.name, e.weight) for e in manager.ttflist if e.name.startswith("gotforge ")}
    added = False
    for weight, face in (("normal", regular), ("bold", bold)):
        if (name, weight) not in have:
            entry = font_manager.FontEntry(
                fname=face.path, index=face.index, name=name, weight=weight, size="scalable"
            )
            # At the front: a lookup stops at the first exact match (named weights score 0, numbers
            # never do), and no other family matches the alias.
            manager.ttflist.insert(0, entry)
            added = True
    if added:
        manager._findfont_cached.cache_clear()

def _labels(chart: Chart, series: str) -> list[str]:
    """The value labels of one series: the target's own number texts."""
    return [format_number(v) for v in chart.values[series].values()]


# Where a value label goes, as (offset in points from its anchor, horizontal, vertical alignment);
# the offset points away from the bar for negative values. The offsets are those matplotlib's
# ``bar_label`` (padding 2) and the usual ``annotate(xytext=(0, 5))`` use.
LABEL_PLACES = {
    "bar-end-y": lambda v: ((0, 2), "center", "bottom") if v >= 0 else ((0, -2), "center", "top"),
    "bar-end-x": lambda v: ((2, 0), "left", "center") if v >= 0 else ((-2, 0), "right", "center"),
    "center": lambda v: ((0, 0), "center", "center"),
    "above": lambda v: ((0, 5), "center", "bottom"),
}


def _value_labels(ax: Any, anchors: list[tuple[float, float]], labels: list[str], place: str, size: int) -> list:
    """Value labels as plain texts at data points, shifted a few points off them. Plain ``Text``
    costs about half of the ``Annotation`` that ``bar_label`` and ``annotate`` make (~0.75 ms a
    label less, drawn and measured) for the same picture."""
    texts, shifted = [], {}
    for (x, y), label in zip(anchors, labels, strict=True):
        (dx, dy), ha, va = LABEL_PLACES[place](x if place == "bar-end-x" else y)
        if (dx, dy) not in shifted:
            shifted[dx, dy] = offset_copy(ax.transData, fig=ax.figure, x=dx, y=dy, units="points")
        texts.append(ax.text(x, y, label, transform=shifted[dx, dy], ha=ha, va=va, fontsize=size))
    return texts


def _pt(size: int, factor: float) -> int:
    """A derived font size in whole points (see ``sample_look``)."""
    return max(6, round(size * factor))

def _fits(chart: Chart, kind: str) -> bool:
    """Whether a user chart can be drawn as ``kind``."""
    matrix = chart.matrix()
    n_series = len(chart.series)
    if kind in ("pie", "bar"):
        return n_series == 1 and (kind == "bar" or bool((matrix > 0).all()))
    if kind in ("grouped_bar", "stacked_bar"):
        return n_series >= 2 and (kind == "grouped_bar" or bool((matrix >= 0).all()))
    return True

def _wrap(text: str, look: dict, scale: float) -> str:
    """Break a long title into lines that fit the figure width (an estimate from lengths)."""
    lang_factor = 1.0 if any("\u2e80" <= ch <= "\u9fff" for ch in text) else 0.55
    char_px = look["font_size"] * scale * look["dpi"] / 72 * lang_factor
    per_line = max(8, int(0.9 * look["width_px"] / char_px))
    if len(text) <= per_line:
        return text
    if lang_factor == 1.0:
        return "\n".join(text[i : i + per_line] for i in range(0, len(text), per_line))
    return "\n".join(textwrap.wrap(text, per_line)) or text

class InViewLocator(ticker.AutoLocator):
    """matplotlib's default value-axis ticks, less those outside the view limits.

    AutoLocator also returns the ticks one step beyond each end of the axis; matplotlib makes a
    ``Tick`` (two lines, a grid line, two texts: ~0.35 ms) for each of them and then does not draw
    it. The ticks kept are a superset of the ones drawn (matplotlib draws ticks within 1e-10 of the
    axis length beyond its ends), so the same ticks are drawn; and the layout, which measures every
    tick label, no longer makes room for labels that are never drawn.
    """

    def __call__(self) -> np.ndarray:
        locs = np.asarray(super().__call__())
        low, high = sorted(self.axis.get_view_interval())
        slack = 1e-9 * (high - low)
        return locs[(locs >= low - slack) & (locs <= high + slack)]


class TextBoxes:
    """Window extents of a figure's texts, each text laid out once per string.

    A text's extent is its layout box (from its string, font, rotation and alignment) moved to its
    anchor, its position in pixels (that is how ``Text.get_window_extent`` computes it). Once the
    axes move, a text measured before is moved to its new anchor (~4 µs) instead of laid out again
    (~60 µs); a text whose string changed (a value tick after the axes grew) is laid out again.
    Only positions and strings may change between calls, never a text's font, size or rotation.
    """

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer
        self._known: dict[int, tuple[Any, str, Any]] = {}  # id(text) -> (text, string, box at anchor 0, 0)

    def extent(self, text: Any) -> Any:
        x, y = text.get_transform().transform(text.get_unitless_position())
        known = self._known.get(id(text))
        if known is not None and known[1] == text.get_text():
            return known[2].translated(x, y)
        box = text.get_window_extent(self.renderer)
        self._known[id(text)] = (text, text.get_text(), box.translated(-x, -y))  # the text kept: ids stay unique
        return box


def _lay_out(
    fig: Figure, ax: Any, boxes: TextBoxes, drawn: dict[str, Any], rc: dict[str, Any]
) -> dict[str, Any]:
    """Place the axes so that the texts around them fit in the figure, in two cheap passes.

    Each pass measures the tick labels (after updating the ticks for the current axes size), the
    title and the texts drawn in data space against the axes box, then reserves, side by side, the
    axis labels, the source line and an outside legend. The second pass corrects the first (the
    value ticks and a centred title depend on the axes size); a text still outside is rejected after
    the draw. The axis labels are placed here too, so the draw never measures tick labels again.
    A legend inside the axes goes to the sampled corner, or to the next one that covers no bar,
    point or value label (matplotlib's ``loc="best"`` does this search over every path, slowly);
    the corner used is returned for the meta. Texts are measured through ``boxes``, so the second
    pass lays out only the texts whose string changed (value ticks), and moves the rest.
    """
    renderer = boxes.renderer
    width, height = fig.bbox.width, fig.bbox.height
    points = fig.dpi / 72
    pad = rc["figure.constrained_layout.w_pad"] * fig.dpi
    labelpad = rc["axes.labelpad"] * points
    size = {}
    for key, text in (("x", ax.xaxis.label), ("y", ax.yaxis.label), ("source", drawn["source"])):
        size[key] = boxes.extent(text) if text is not None and text.get_text() else None
    legend_loc, legend = drawn["legend"] or (None, None)
    legend_box = legend.get_window_extent(renderer) if legend is not None else None
    bottom_extra = pad + size["source"].height + pad if size["source"] is not None else pad
    x0, y0, x1, y1 = 0.1 * width, 0.1 * height, 0.9 * width, 0.9 * height
    for _ in range(2):
        ax.set_position((x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height))
        ax.apply_aspect()
        box = ax.get_position().transformed(fig.transFigure)  # the active box (pies keep their aspect)
        texts = ax.xaxis.get_majorticklabels() + ax.yaxis.get_majorticklabels()
        texts += [t for t in ax.texts if t.get_text()]  # value labels, pie labels
        extents = [boxes.extent(t) for t in texts if t.get_visible() and t.get_text()]
        left = max([box.x0 - e.x0 for e in extents] + [0.0])
        right = max([e.x1 - box.x1 for e in extents] + [0.0])
        below = max([box.y0 - e.y0 for e in extents] + [0.0])
        above = max([e.y1 - box.y1 for e in extents] + [0.0])
        if drawn["title"] is not None:  # only its height: it is moved sideways below
            above = max(above, boxes.extent(drawn["title"]).y1 - box.y1)
        # Margins from the figure edge to the axes box (the active box may be inset in the position).
        need_left = pad + left + (size["y"].width + labelpad if size["y"] is not None else 0.0)
        need_bottom = bottom_extra + below + (size["x"].height + labelpad if size["x"] is not None else 0.0)
        need_right = pad + right
        need_top = pad + above
        if legend_loc == "outside right upper":
            need_right += legend_box.width + pad
        elif legend_loc == "outside upper center":
            need_top += legend_box.height + pad
        elif legend_loc == "outside lower center":
            need_bottom += legend_box.height + pad
        # Move each edge of the position by how far the active box misses its margin.
        x0 += need_left - box.x0
        x1 -= need_right - (width - box.x1)
        y0 += need_bottom - box.y0
        y1 -= need_top - (height - box.y1)
        if x1 - x0 < 0.3 * width or y1 - y0 < 0.3 * height:
            raise Reject("text-outside", "no room left for the axes")
    ax.set_position((x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height))
    ax.apply_aspect()
    box = ax.get_position().transformed(fig.transFigure)
    placed = {}
    if _overlapping(boxes, drawn["values"]):
        # Value labels that run into each other cannot be read (close points of a line, narrow
        # grouped bars): the chart is drawn without them, and the meta says so.
        for text in drawn["values"]:
            text.remove()
        drawn["values"] = []
        placed.update(value_labels=False, value_labels_dropped="overlapping")
    ax.xaxis.set_label_coords(0.5, -(below + labelpad) / box.height)
    ax.yaxis.set_label_coords(-(left + labelpad) / box.width, 0.5)
    if legend is not None:
        anchor = {
            "outside right upper": (box.x1 + right + pad, box.y1),
            "outside upper center": (box.x0 + box.width / 2, height - pad),
            "outside lower center": (box.x0 + box.width / 2, bottom_extra),
        }[legend_loc]
        legend.set_bbox_to_anchor((anchor[0] / width, anchor[1] / height), transform=fig.transFigure)
    if "inside_legend" in drawn:
        placed["legend_placed"] = _place_inside_legend(ax, boxes, box, drawn["inside_legend"])
    title = drawn["title"]
    if title is not None:  # a title wider than the axes moves sideways, within the figure
        extent = boxes.extent(title)
        shift = max(extent.x1 - (width - pad), 0.0) - max(pad - extent.x0, 0.0)
        if shift:
            title.set_x(title.get_position()[0] - shift / box.width)
    return placed


def _overlapping(boxes: TextBoxes, texts: list) -> bool:
    """Whether any two of ``texts`` overlap on the canvas."""
    extents = np.array([boxes.extent(t).extents for t in texts]).reshape(-1, 4)  # (n, x0 y0 x1 y1)
    x0, y0, x1, y1 = (extents[:, i] for i in range(4))
    hits = (x0[:, None] < x1[None, :]) & (x0[None, :] < x1[:, None]) & (y0[:, None] < y1[None, :]) & (y0[None, :] < y1[:, None])
    return bool(np.triu(hits, k=1).any())


INSIDE_LOCS = tuple(loc for loc in LEGEND_LOCS if not loc.startswith("outside"))

def _place_inside_legend(ax: Any, boxes: TextBoxes, box: Any, sampled: str) -> str:
    """Move the axes legend from its sampled corner to the first corner (sampled one first) that
    overlaps no bar, marker or value label; where every corner does, the one that overlaps fewest."""
    legend, renderer = ax.get_legend(), boxes.renderer
    size = legend.get_window_extent(renderer)
    pad = legend.borderaxespad * renderer.points_to_pixels(legend.prop.get_size_in_points())
    obstacles = [boxes.extent(t).extents for t in ax.texts if t.get_text()]
    obstacles += [p.get_window_extent(renderer).extents for p in ax.patches if isinstance(p, Rectangle)]
    for artist in ax.lines:
        xy = ax.transData.transform(artist.get_xydata())
        obstacles += [(x - 3, y - 3, x + 3, y + 3) for x, y in xy]
    for collection in ax.collections:
        xy = ax.transData.transform(collection.get_offsets())
        obstacles += [(x - 4, y - 4, x + 4, y + 4) for x, y in xy]
    boxes = np.array(obstacles).reshape(-1, 4)  # (n, x0 y0 x1 y1)
    best, fewest = sampled, None
    for loc in (sampled, *[c for c in INSIDE_LOCS if c != sampled]):
        vertical, _, horizontal = loc.partition(" ")
        x0 = {"left": box.x0 + pad, "right": box.x1 - pad - size.width}.get(
            horizontal, box.x0 + (box.width - size.width) / 2
        )
        y0 = box.y1 - pad - size.height if vertical == "upper" else box.y0 + pad
        hits = int(
            np.count_nonzero(
                (boxes[:, 0] < x0 + size.width)
                & (boxes[:, 2] > x0)
                & (boxes[:, 1] < y0 + size.height)
                & (boxes[:, 3] > y0)
            )
        )
        if fewest is None or hits < fewest:
            best, fewest = loc, hits
        if hits == 0:
            break
    legend.set_loc(best)
    return best

def _check_layout(canvas: FigureCanvasAgg, boxes: TextBoxes, drawn: dict[str, list], rotation: int) -> None:
    """Reject a chart whose texts leave the figure or whose category labels overlap."""
    width, height = canvas.get_width_height()
    for text in drawn["texts"] + drawn["values"] + list(drawn["ticks"]):
        if not text.get_visible() or not text.get_text():
            continue
        box = boxes.extent(text)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            raise Reject("text-outside", f"{text.get_text()[:30]!r} at {box.bounds}")
    ticks = [boxes.extent(t) for t in drawn["ticks"] if t.get_text()]
    for a, b in itertools.pairwise(ticks):
        if rotation == 0 and a.overlaps(b):
            raise Reject("overlapping-labels", "category labels overlap")
