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
bytes for the same figure. Fonts are discovered once per instance; a font is used only when its
character map (read with fontTools) covers every character the chart draws, else the sample is
rejected with ``missing-glyph``. Mathtext is off (``text.parse_math``), so a ``$`` in a name is
drawn as itself.

Value labels are drawn with :func:`corpora.charts.format_number`, the same text as the number in
the target. Tick labels cannot show exact values; the target still lists them (as GOT's does).
"""

from __future__ import annotations

import functools
import itertools
import math
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import matplotlib
import numpy as np
import pydantic
from fontTools.ttLib import TTFont
from matplotlib import font_manager, style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
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
from renderers.base import Reject, RendererOptions, Sample

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
FONTS = {
    "en": (
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
    ),
    "zh": ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "AR PL UMing CN"),
}
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
    "best",
    "upper right",
    "upper left",
    "lower right",
    "lower left",
    "upper center",
    "outside right upper",
    "outside lower center",
    "outside upper center",
)
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
    kinds: tuple[str, ...] = KINDS
    zh_probability: float = pydantic.Field(0.35, ge=0.0, le=1.0)
    width_px: tuple[int, int] = (480, 800)
    height_px: tuple[int, int] = (360, 600)
    dpi: tuple[int, ...] = (80, 100, 120)
    font_sizes: tuple[int, ...] = (9, 10, 11, 12)
    value_label_probability: float = pydantic.Field(0.4, ge=0.0, le=1.0)
    styles: tuple[str, ...] = STYLES

    @pydantic.field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}, found {list(kinds)}")
        return kinds

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


@functools.cache
def _cmap_of(path: str, index: int) -> frozenset[int]:
    """Code points a font face covers (fontTools, read once per process; pure, so caching is safe)."""
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())


class MatplotlibChartRenderer:
    name: ClassVar[str] = "chart-matplotlib"
    markup: ClassVar[str] = "chart-json"
    task: ClassVar[str] = "format"
    version: ClassVar[str] = "1"
    Options: ClassVar[type[RendererOptions]] = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: Corpus[Chart] | None = user_charts(corpus_path) if corpus_path is not None else None
        known = {entry.name for entry in font_manager.fontManager.ttflist}
        self.fonts = {lang: tuple(f for f in families if f in known) for lang, families in FONTS.items()}
        self.weights = {f: _weights(f) for families in self.fonts.values() for f in families}
        if not self.fonts["en"]:
            raise RuntimeError(f"none of the fonts {FONTS['en']} is installed; install fonts-dejavu")
        self._covered: dict[str, frozenset[int]] = {}
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
        image = self._draw(chart, kind, look)
        meta = {"lang": lang, "kind": kind, **look, "data": data}
        return Sample(images=[image], target=chart_to_target(chart), meta=meta)

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
        font = self._pick_font(rng, chart, lang)
        dpi = int(pick(o.dpi))
        width = int(rng.integers(o.width_px[0], o.width_px[1] + 1))
        height = int(rng.integers(o.height_px[0], o.height_px[1] + 1))
        # A few whole-point sizes (the pixel size follows the dpi): matplotlib's font lookup cache is
        # keyed by family, weight and size, so few distinct sizes keep it warm.
        font_size = int(pick(o.font_sizes))
        n_points = len(chart.series) * len(chart.categories)
        look: dict[str, Any] = {
            "style": pick(o.styles),
            "font": font,
            "font_size": font_size,
            "title_scale": float(pick((1.2, 1.4, 1.6))),
            "font_weight": self.weights[font][0],
            "title_weight": self.weights[font][int(rng.integers(2))],
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

    def _pick_font(self, rng: np.random.Generator, chart: Chart, lang: str) -> str:
        """A font of ``lang`` (else of any language) whose faces cover every character drawn."""
        needed = {ord(ch) for text in chart.texts() for ch in text if not ch.isspace()}
        needed |= {ord(ch) for ch in NUMBER_CHARS}
        for langs in ((lang,), ("en", "zh")):
            fitting = [f for la in langs for f in self.fonts[la] if needed <= self._coverage(f)]
            if fitting:
                return fitting[int(rng.integers(len(fitting)))]
        missing = needed - set().union(*(self._coverage(f) for la in FONTS for f in self.fonts[la]))
        raise Reject("missing-glyph", "no installed font covers " + "".join(sorted(map(chr, missing)))[:40])

    def _coverage(self, family: str) -> frozenset[int]:
        """Characters both the regular and the bold face of ``family`` cover (cached per instance)."""
        if family not in self._covered:
            faces = [
                font_manager.findfont(
                    font_manager.FontProperties(family=family, weight=w), fallback_to_default=False
                )
                for w in self.weights[family]
            ]
            maps = [_cmap_of(str(f), int(getattr(f, "face_index", 0))) for f in faces]
            self._covered[family] = maps[0] & maps[1]
        return self._covered[family]

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
                "font.family": [look["font"]],
                "font.size": size,
                "axes.titlesize": _pt(size, look["title_scale"]),
                "font.weight": look["font_weight"],
                "axes.titleweight": look["title_weight"],
                "axes.labelweight": look["font_weight"],
                "figure.labelweight": look["font_weight"],
                "figure.titleweight": look["title_weight"],
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

    def _draw(self, chart: Chart, kind: str, look: dict[str, Any]) -> Image.Image:
        canvas = self.figure(chart, kind, look).canvas
        width, height = canvas.get_width_height()
        return Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert(
            "RGB"
        )

    def figure(self, chart: Chart, kind: str, look: dict[str, Any]) -> Figure:
        """The drawn figure (Agg canvas attached) of ``chart`` with the choices ``look``; tests
        inspect its artists."""
        rc = self._rc(look)
        with matplotlib.rc_context(rc):
            fig = Figure(
                figsize=(look["width_px"] / look["dpi"], look["height_px"] / look["dpi"]),
                dpi=look["dpi"],
                layout="constrained",
            )
            canvas = FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            drawn = self._plot(fig, ax, chart, kind, look, rc)
            canvas.draw()
            _check_layout(canvas, drawn, look.get("rotation", 0))
        return fig

    def _plot(self, fig: Figure, ax: Any, chart: Chart, kind: str, look: dict, rc: dict) -> dict[str, list]:
        """Draw ``chart`` on ``ax``; return the text artists that must stay inside the figure."""
        matrix = chart.matrix()  # (series, categories)
        series, categories = chart.series, chart.categories
        drawn: dict[str, list] = {"texts": [], "ticks": []}
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
                    bars = plot(positions + offset, row, step * 0.95, label=name, color=colors[i])
                    if look["value_labels"]:
                        drawn["texts"] += ax.bar_label(
                            bars,
                            labels=[format_number(v) for v in chart.values[name].values()],
                            padding=2,
                            fontsize=_pt(size, 0.8),
                        )
            elif kind == "stacked_bar":
                bottom = np.zeros(len(categories))
                for i, (name, row) in enumerate(zip(series, matrix)):
                    bars = ax.bar(
                        positions, row, look["bar_width"], bottom=bottom, label=name, color=colors[i]
                    )
                    bottom = bottom + row
                    if look["value_labels"]:
                        drawn["texts"] += ax.bar_label(
                            bars,
                            labels=[format_number(v) for v in chart.values[name].values()],
                            label_type="center",
                            fontsize=_pt(size, 0.8),
                        )
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
                        for x, (y, value) in zip(positions, zip(row, chart.values[name].values())):
                            drawn["texts"].append(
                                ax.annotate(
                                    format_number(value),
                                    (x, y),
                                    xytext=(0, 5),
                                    textcoords="offset points",
                                    ha="center",
                                    va="bottom",
                                    fontsize=_pt(size, 0.8),
                                )
                            )
            self._decorate_axes(ax, chart, kind, look, positions, drawn)
            self._legend(fig, ax, look, title=None, drawn=drawn)
        if chart.title:
            drawn["texts"].append(
                ax.set_title(_wrap(chart.title, look, look["title_scale"]), loc=look["title_loc"])
            )
        if chart.source:
            drawn["texts"].append(
                fig.supxlabel(
                    chart.source,
                    x=0.01 if look["source_loc"] == "left" else 0.99,
                    ha=look["source_loc"],
                    fontsize=_pt(size, 0.8),
                )
            )
        return drawn

    def _decorate_axes(
        self, ax: Any, chart: Chart, kind: str, look: dict, positions: np.ndarray, drawn: dict[str, list]
    ) -> None:
        categories = chart.categories
        if kind == "hbar":
            ax.set_yticks(positions, categories)
            ax.invert_yaxis()  # first category at the top
            drawn["ticks"] = ax.get_yticklabels()
            value_axis = "x"
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
            value_axis = "y"
        if chart.x_title:
            drawn["texts"].append(ax.set_xlabel(chart.x_title))
        if chart.y_title:
            drawn["texts"].append(ax.set_ylabel(chart.y_title))
        if look["value_labels"]:
            ax.margins(**{value_axis: 0.15})
        ax.grid(False)
        if look["grid"] != "none":
            ax.grid(True, axis=value_axis if look["grid"] == "value" else "both", alpha=0.6)
            ax.set_axisbelow(True)
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
            ncol = len(handles) if "center" in loc and len(handles) <= 5 else 1
            legend = fig.legend(handles, labels, loc=loc, ncols=ncol, **kwargs)
        else:
            legend = ax.legend(handles, labels, loc=loc, **kwargs)
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
                drawn["texts"].append(
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
        """The target is canonical chart JSON with named series and categories, and the image is not blank."""
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
        if image.getextrema() and all(lo == hi for lo, hi in image.getextrema()):
            raise Reject("blank-image")


def _weights(family: str) -> tuple[int, int]:
    """(regular, bold) weights a family really has, so lookups never fall back with a warning."""
    weights = sorted(
        {
            int(e.weight)
            for e in font_manager.fontManager.ttflist
            if e.name == family and e.style == "normal" and str(e.weight).isdigit()
        }
    )
    if not weights:
        return 400, 700
    regular = min(weights, key=lambda w: (abs(w - 400), w))
    bold = max(weights) if max(weights) >= 600 else regular
    return regular, bold


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


def _check_layout(canvas: FigureCanvasAgg, drawn: dict[str, list], rotation: int) -> None:
    """Reject a chart whose texts leave the figure or whose category labels overlap."""
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    for text in drawn["texts"] + list(drawn["ticks"]):
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            raise Reject("text-outside", f"{text.get_text()[:30]!r} at {box.bounds}")
    boxes = [t.get_window_extent(renderer) for t in drawn["ticks"] if t.get_text()]
    for a, b in itertools.pairwise(boxes):
        if rotation == 0 and a.overlaps(b):
            raise Reject("overlapping-labels", "category labels overlap")
