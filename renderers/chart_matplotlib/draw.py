"""Drawing a matplotlib chart from its sampled look (:mod:`.look`): bars, lines, scatter or pie,
axes, legend, value labels, title and source line, on an Agg canvas.

Determinism: the object-oriented API only (``Figure`` + ``FigureCanvasAgg``, no pyplot), and no
global ``matplotlib.rcParams`` mutation: each chart is drawn inside ``rc_context`` with a
complete set of parameters (matplotlib's defaults + the chosen style sheet + the chosen font,
:func:`style_rcs` and :func:`chart_rc`), so neither earlier samples nor a user's ``matplotlibrc``
change the picture. Agg rasterises the same bytes for the same figure. Mathtext is off
(``text.parse_math``), so a ``$`` in a name is drawn as itself. The font is named through its
alias family (:func:`.faces.alias`), which resolves to exactly the face checked for coverage.

No layout engine: the figure is laid out by :func:`.layout.lay_out` before it is drawn once.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import matplotlib
import numpy as np
from matplotlib import style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy

from corpora.charts import Chart, format_number
from renderers.chart_matplotlib.faces import alias
from renderers.chart_matplotlib.layout import InViewLocator, TextBoxes, check_layout, lay_out
from renderers.chart_matplotlib.record import record

QUALITATIVE = {"tab10", "Set1", "Set2", "Dark2", "Paired", "Accent", "tab20b"}
# matplotlib loc of a legend drawn outside the axes, anchored at the point lay_out chooses.
OUTSIDE_ANCHOR = {
    "outside right upper": "upper left",
    "outside lower center": "lower center",
    "outside upper center": "upper center",
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
# rcParams in matplotlib's font lookup cache key: kept at their defaults in every style (style_rcs).
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

# Where a value label goes, as (offset in points from its anchor, horizontal, vertical alignment);
# the offset points away from the bar for negative values. The offsets are those matplotlib's
# ``bar_label`` (padding 2) and the usual ``annotate(xytext=(0, 5))`` use.
LABEL_PLACES = {
    "bar-end-y": lambda v: ((0, 2), "center", "bottom") if v >= 0 else ((0, -2), "center", "top"),
    "bar-end-x": lambda v: ((2, 0), "left", "center") if v >= 0 else ((-2, 0), "right", "center"),
    "center": lambda v: ((0, 0), "center", "center"),
    "above": lambda v: ((0, 5), "center", "bottom"),
}


def style_rcs(styles: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The complete rcParams of each style sheet: matplotlib's defaults (less those that do not
    affect drawing) under the sheet's own."""
    defaults = {k: v for k, v in matplotlib.rcParamsDefault.items() if not k.startswith(NOT_DRAWING)}
    # Font lists and the math font set stay at their defaults in every style: they are part of
    # matplotlib's font lookup cache key, and the family is named explicitly anyway.
    font_keys = {k: v for k, v in defaults.items() if k.startswith(FONT_LOOKUP_KEYS)}
    return {s: {**defaults, **(style.library[s] if s != "default" else {}), **font_keys} for s in styles}


def chart_rc(style_rc: dict[str, Any], look: dict[str, Any]) -> dict[str, Any]:
    """The complete rcParams of one chart: its style sheet's, with the sampled font, sizes and
    switches."""
    rc = dict(style_rc)
    size = look["font_size"]
    rc.update(
        {
            "font.family": [alias(look["font"])],
            "font.size": size,
            "axes.titlesize": _pt(size, look["title_scale"]),
            "font.weight": "normal",  # the alias's two faces, see faces.register_alias
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


def palette_colors(rc: dict[str, Any], palette: str, n: int) -> list[Any]:
    if palette == "style":
        cycle = rc["axes.prop_cycle"].by_key().get("color") or ["C0"]
        return [cycle[i % len(cycle)] for i in range(n)]
    cmap = matplotlib.colormaps[palette]
    if palette in QUALITATIVE:
        return [cmap(i % cmap.N) for i in range(n)]
    return [cmap(x) for x in np.linspace(0.15, 0.85, n)] if n > 1 else [cmap(0.6)]


def figure(style_rc: dict[str, Any], chart: Chart, kind: str, look: dict[str, Any],
           shown: dict[str, Any] | None = None) -> tuple[Figure, dict[str, Any]]:
    """The drawn figure (Agg canvas attached) of ``chart`` with the choices ``look``, and the
    choices made while laying it out (for the meta: the legend corner, dropped value labels).
    ``shown``, when given, receives what the figure shows (:func:`.record.record`), for ``validate``.

    No layout engine: the texts around the axes are measured with the canvas renderer and the
    axes placed so they fit (:func:`.layout.lay_out`), then the figure is drawn once."""
    rc = chart_rc(style_rc, look)
    with matplotlib.rc_context(rc):
        fig = Figure(
            figsize=(look["width_px"] / look["dpi"], look["height_px"] / look["dpi"]), dpi=look["dpi"]
        )
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        drawn = _plot(fig, ax, chart, kind, look, rc)
        boxes = TextBoxes(canvas.get_renderer())
        placed = lay_out(fig, ax, boxes, drawn, rc)
        canvas.draw()
        check_layout(canvas, boxes, drawn, look.get("rotation", 0))
        if shown is not None:
            shown.update(record(fig, ax, boxes, drawn, kind, look.get("rotation", 0)))
    return fig, placed


def _plot(fig: Figure, ax: Any, chart: Chart, kind: str, look: dict, rc: dict) -> dict[str, list]:
    """Draw ``chart`` on ``ax``; return the text artists that must stay inside the figure."""
    matrix = chart.matrix()  # (series, categories)
    series, categories = chart.series, chart.categories
    drawn: dict[str, Any] = {"texts": [], "values": [], "ticks": [], "title": None, "source": None, "legend": None}
    size = look["font_size"]
    if kind == "pie":
        _plot_pie(ax, chart, look, rc, drawn)
    else:
        colors = palette_colors(rc, look["palette"], len(series))
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
        _decorate_axes(ax, chart, kind, look, positions, drawn)
        _legend(fig, ax, look, title=None, drawn=drawn)
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
    ax: Any, chart: Chart, kind: str, look: dict, positions: np.ndarray, drawn: dict[str, list]
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
        # Placed beside the axes by lay_out (the layout engine that places "outside" legends
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


def _plot_pie(ax: Any, chart: Chart, look: dict, rc: dict, drawn: dict[str, list]) -> None:
    ((name, row),) = chart.values.items()
    categories = list(row)
    values = [float(v) for v in row.values()]
    colors = palette_colors(rc, look["palette"], len(categories))
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
        _legend(
            ax.figure, ax, look, title=name, drawn=drawn, handles=list(wedges), labels=categories
        )


def _labels(chart: Chart, series: str) -> list[str]:
    """The value labels of one series: the target's own number texts."""
    return [format_number(v) for v in chart.values[series].values()]


def _value_labels(ax: Any, anchors: list[tuple[float, float]], labels: list[str], place: str, size: int) -> list:
    """Value labels as plain texts at data points, shifted a few points off them: plain ``Text`` is
    cheaper to draw and measure than the ``Annotation`` that ``bar_label`` and ``annotate`` make,
    for the same picture."""
    texts, shifted = [], {}
    for (x, y), label in zip(anchors, labels, strict=True):
        (dx, dy), ha, va = LABEL_PLACES[place](x if place == "bar-end-x" else y)
        if (dx, dy) not in shifted:
            shifted[dx, dy] = offset_copy(ax.transData, fig=ax.figure, x=dx, y=dy, units="points")
        texts.append(ax.text(x, y, label, transform=shifted[dx, dy], ha=ha, va=va, fontsize=size))
    return texts


def _pt(size: int, factor: float) -> int:
    """A derived font size in whole points (see :func:`.look.sample_choices`)."""
    return max(6, round(size * factor))


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
