"""Charts drawn by ECharts in headless Chromium from pyecharts options, with the chart dict as the
target (GOT paper, section 3.3: charts rendered with Matplotlib and Pyecharts, targets in OneChart's
chart-dict format). The data, the target text and user charts are shared with ``chart-matplotlib``
(:mod:`corpora.charts`), so both back-ends write the same targets for the same data.

Kinds: bar, grouped bar, stacked bar, horizontal bar, line, area (a line chart with filled areas),
scatter (categories on x) and pie (plain, donut or rose), with titles, the source as a subtitle,
legends, axis names and value labels, in English and Chinese, with ECharts' bundled themes.

Every random choice is drawn into a record first (the sample's ``meta``), then the options are built
with pyecharts and pushed into a page where ECharts was loaded once (:mod:`renderers.backends.browser`); the
picture is ECharts' own PNG export of its canvas (``getDataURL``). Animation is off everywhere.

Values drawn are exactly the target's: the series data in the options are the chart dict's numbers,
and a value label is the text :func:`corpora.charts.format_number` writes for that number (the page
sets a formatter that looks the text up, so ECharts never reformats a number). Horizontal bars list
the first category at the top (``inverse`` axis), as the target orders them; every category label is
drawn (``interval: 0``), rotated when the categories are crowded; the grid's outer bounds hold the
axis names as well as the labels (``outerBoundsContain: "all"``), so no axis title leaves the canvas.
Text is inserted into a canvas, so HTML in a title is drawn as its characters.

What was drawn is read back from ECharts itself (the page's ``drawnRecord``: every text zrender
painted, with its role and corners, and the value each data item was drawn from). Value labels that
collide with a text, leave the canvas or were not painted are dropped: the chart is drawn again
without them (``value_labels_dropped: overlapping``). ``validate`` then checks that every value and
category label lies inside the canvas clear of every other text, and that the target's titles, series,
categories, value labels and values are those drawn (:func:`renderers.chart_readback.check_chart`).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pydantic
from PIL import Image

from corpora.chart_generator import generate_chart
from corpora.charts import (
    KINDS,
    Chart,
    chart_from_target,
    chart_to_target,
    format_number,
    user_charts,
)
from corpora.indexed import IndexedCorpus
from corpora.text import detect_lang
from renderers.backends.browser import JS_DIR, BrowserOptions, BrowserPage
from renderers.base import Reject, Sample, SubsetOf
from renderers.chart_readback import check_chart, values_crowded

ECHARTS_KINDS = (*KINDS, "area")
THEMES = ("default", "default", "default", "v5", "dark", "vintage", "macarons", "roma", "shine", "infographic",
          "azul", "caravan", "dark-blue", "london")
DARK_THEMES = {"dark": "#100c2a", "dark-blue": "#1b2a3a"}
FONTS = {
    "en": ("DejaVu Sans", "Liberation Sans", "Liberation Serif", "Carlito", "Caladea", "FreeSans",
           "Noto Sans", "Noto Serif"),
    "zh": ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "AR PL UMing CN"),
}
PAPERS = ("#ffffff", "#ffffff", "#fbfbf7", "#f7f7f7")

class Options(BrowserOptions):
    kinds: SubsetOf(ECHARTS_KINDS) = ECHARTS_KINDS
    zh_probability: float = pydantic.Field(0.35, ge=0.0, le=1.0)
    width_px: tuple[int, int] = (480, 820)
    height_px: tuple[int, int] = (360, 620)
    font_px: tuple[int, int] = (11, 15)
    value_label_probability: float = pydantic.Field(0.5, ge=0.0, le=1.0)
    themes: SubsetOf(THEMES) = THEMES

def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(len(seq)))]

def _fits(chart: Chart, kind: str) -> bool:
    """Whether a user chart can be drawn as ``kind``."""
    matrix = chart.matrix()
    n_series = len(chart.series)
    if kind == "pie":
        return n_series == 1 and bool((matrix > 0).all())
    if kind == "bar":
        return n_series == 1
    if kind in ("grouped_bar", "stacked_bar"):
        return n_series >= 2 and (kind == "grouped_bar" or bool((matrix >= 0).all()))
    return True

def sample_look(rng: np.random.Generator, options: Options, kind: str, lang: str, chart: Chart) -> dict[str, Any]:
    """Every drawing choice of one chart (recorded in ``meta``)."""
    o = options
    theme = _pick(rng, o.themes)
    look = {
        "theme": theme,
        "width_px": int(rng.integers(o.width_px[0], o.width_px[1] + 1)),
        "height_px": int(rng.integers(o.height_px[0], o.height_px[1] + 1)),
        "font": _pick(rng, FONTS[lang]),
        "font_px": int(rng.integers(o.font_px[0], o.font_px[1] + 1)),
        "paper": DARK_THEMES.get(theme) or _pick(rng, PAPERS),
        "title_align": _pick(rng, ("left", "center")),
        "legend_at": _pick(rng, ("top", "bottom", "right")),
        "value_labels": bool(rng.random() < o.value_label_probability),
        "smooth": bool(rng.random() < 0.3),
        "symbol": _pick(rng, ("emptyCircle", "circle", "rect", "triangle", "diamond", "none")),
        "split_lines": bool(rng.random() < 0.7),
        "donut": bool(rng.random() < 0.35),
        "rose": bool(rng.random() < 0.15),
        "pie_labels": _pick(rng, ("outside", "inside", "legend")),
        "bar_width": _pick(rng, (None, "40%", "60%")),
    }
    if kind == "scatter":
        look["symbol"] = _pick(rng, ("circle", "rect", "triangle", "diamond"))
    return look

def build_options(chart: Chart, kind: str, look: dict[str, Any]) -> tuple[dict[str, Any], list[list[str]]]:
    """pyecharts options for ``chart`` drawn as ``kind`` (JSON-ready) and the value-label texts."""
    from pyecharts import options as opts
    from pyecharts.charts import Bar, Line, Pie, Scatter

    init = opts.InitOpts(width=f"{look['width_px']}px", height=f"{look['height_px']}px", chart_id="chart",
                         animation_opts=opts.AnimationOpts(animation=False))
    categories = chart.categories
    font = {"fontFamily": look["font"], "fontSize": look["font_px"]}
    label_position = {"bar": "top", "grouped_bar": "top", "stacked_bar": "inside", "hbar": "right",
                      "line": "top", "area": "top", "scatter": "top"}.get(kind, "outside")
    labels = [[format_number(v) for v in row.values()] for row in chart.values.values()]
    show_labels = look["value_labels"]
    if kind == "pie":
        ((name, row),) = chart.values.items()
        percent = "%" if math.isclose(sum(float(v) for v in row.values()), 100.0, abs_tol=1e-6) else ""
        show_labels = look["value_labels"] or look["pie_labels"] != "legend"
        if look["pie_labels"] != "legend":  # category name with the value, around the pie
            labels = [[f"{c}: {format_number(v)}{percent}" if look["value_labels"] else c for c, v in row.items()]]
        else:
            labels = [[format_number(v) + percent for v in row.values()]]
        radius = ["40%", "68%"] if look["donut"] else [0, "68%"]
        figure: Any = Pie(init_opts=init).add(
            name, [(c, v) for c, v in row.items()], radius=radius, rosetype="radius" if look["rose"] else None,
            center=["50%", "55%"], label_opts=opts.LabelOpts(is_show=show_labels,
                                                             position="inside" if look["pie_labels"] == "inside"
                                                             else "outside"),
        )
    else:
        cls = {"line": Line, "area": Line, "scatter": Scatter}.get(kind, Bar)
        figure = cls(init_opts=init).add_xaxis(categories)
        for series, row in chart.values.items():
            extra: dict[str, Any] = {}
            if cls is Line:
                extra = {"is_smooth": look["smooth"], "symbol": look["symbol"]}
                if kind == "area":
                    extra["areastyle_opts"] = opts.AreaStyleOpts(opacity=0.35)
                    extra["stack"] = None
            elif cls is Scatter:
                extra = {"symbol": look["symbol"], "symbol_size": 10}
            else:
                if kind == "stacked_bar":
                    extra["stack"] = "total"
                if look["bar_width"]:
                    extra["bar_width"] = look["bar_width"] if len(chart.series) == 1 else None
            figure.add_yaxis(series, list(row.values()),
                             label_opts=opts.LabelOpts(is_show=show_labels, position=label_position), **extra)
        if kind == "hbar":
            figure.reversal_axis()
    title_height = (44 if chart.title else 8) + (18 if chart.source else 0)
    legend_pos = {"top": {"pos_top": title_height},
                  "bottom": {"pos_bottom": 6},
                  "right": {"pos_right": 8, "pos_top": "middle", "orient": "vertical"}}[look["legend_at"]]
    figure.set_global_opts(
        title_opts=opts.TitleOpts(title=chart.title or None, subtitle=chart.source or None,
                                  pos_left=look["title_align"]),
        legend_opts=opts.LegendOpts(is_show=not (kind == "pie" and look["pie_labels"] != "legend"), **legend_pos),
        tooltip_opts=opts.TooltipOpts(is_show=False),
    )
    option = json.loads(figure.dump_options())
    _finish(option, chart, kind, look, font)
    return option, labels

def _finish(option: dict[str, Any], chart: Chart, kind: str, look: dict[str, Any], font: dict[str, Any]) -> None:
    """What pyecharts has no switch for: animation off everywhere, fonts, grid and axis details."""

    def no_animation(node: Any) -> None:
        if isinstance(node, dict):
            if "animation" in node:
                node["animation"] = False
            for value in node.values():
                no_animation(value)
        elif isinstance(node, list):
            for value in node:
                no_animation(value)

    no_animation(option)
    option["animation"] = False
    option["textStyle"] = font
    for title in option.get("title", []):
        title["textStyle"] = {"fontFamily": look["font"], "fontSize": round(look["font_px"] * 1.35)}
        title["subtextStyle"] = {"fontFamily": look["font"], "fontSize": look["font_px"]}
    for legend in option.get("legend", []):
        legend["textStyle"] = dict(font)
    if kind == "pie":
        return
    top = (44 if chart.title else 20) + (18 if chart.source else 0)
    if look["legend_at"] == "top":
        top += 30
    option["grid"] = {"left": 16, "right": 150 if look["legend_at"] == "right" else 36, "top": top + 18,
                      "bottom": 56 if look["legend_at"] == "bottom" else 24, "outerBoundsMode": "same",
                      "outerBoundsContain": "all"}
    category_axis, value_axis = ("yAxis", "xAxis") if kind == "hbar" else ("xAxis", "yAxis")
    n = len(chart.categories)
    longest = max(len(c) * (1.0 if detect_lang(c) == "zh" else 0.6) for c in chart.categories)
    plot_width = look["width_px"] - option["grid"]["left"] - option["grid"]["right"] - 60
    rotate = 0
    if kind != "hbar" and n * (longest * look["font_px"] + 8) > plot_width:
        rotate = 30 if n * (look["font_px"] + 10) * 1.6 < plot_width else 60
    for axis in option[category_axis]:
        axis["axisLabel"] = {"interval": 0, "rotate": rotate, **font}
        axis["nameTextStyle"] = dict(font)
        if kind == "hbar":
            axis["inverse"] = True
        axis["nameLocation"] = "middle"
        axis["nameGap"] = 0  # placed below
    for axis in option[value_axis]:
        axis["axisLabel"] = dict(font)
        axis["nameTextStyle"] = dict(font)
        axis["nameLocation"] = "middle"
        axis["splitLine"] = {"show": look["split_lines"]}
    x_axis, y_axis = option["xAxis"][0], option["yAxis"][0]
    x_axis["name"], y_axis["name"] = chart.x_title, chart.y_title
    # Axis names sit outside the tick labels (containLabel does not reserve room for them).
    x_axis["nameGap"] = 28 + (int(longest * look["font_px"] * math.sin(math.radians(rotate))) if kind != "hbar"
                              else 0)
    y_axis["nameGap"] = 12 + int(_widest_tick(chart, kind, look))
    option["grid"]["bottom"] += (look["font_px"] + 12) if chart.x_title else 0
    option["grid"]["left"] += (look["font_px"] + 8) if chart.y_title else 0

def _widest_tick(chart: Chart, kind: str, look: dict[str, Any]) -> float:
    """An estimate of the widest tick label on the vertical axis, in pixels."""
    if kind == "hbar":
        texts = chart.categories
    else:
        values = chart.matrix()
        big = float(np.abs(values.sum(axis=0)).max() if kind == "stacked_bar" else np.abs(values).max())
        texts = [f"{big:,.0f}" if big >= 10 else f"{big:.2f}", "-" + f"{big:,.0f}"]
    return max(len(t) * (1.0 if detect_lang(t) == "zh" else 0.62) for t in texts) * look["font_px"]

class EchartsChartRenderer:
    name: ClassVar[str] = "chart-echarts"
    markup: ClassVar[str] = "chart-json"
    task: ClassVar[str] = "format"
    version: ClassVar[str] = "4"
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: Options | None = None, corpus_path: Path | None = None) -> None:
        self.options = options or Options()
        self.corpus: IndexedCorpus[Chart] | None = user_charts(corpus_path) if corpus_path is not None else None
        self.page = BrowserPage(JS_DIR / "echarts.html", viewport=(1024, 768), timeout_s=self.options.timeout_s,
                                recycle_every=self.options.recycle_every)

    def _content(self, rng: np.random.Generator) -> tuple[Chart, str, str, dict[str, Any]]:
        if self.corpus is not None:
            index, chart = self.corpus.draw(rng)
            return self._user(chart, rng, {"origin": "user", "item": index})
        kind = _pick(rng, self.options.kinds)
        lang = "zh" if rng.random() < self.options.zh_probability else "en"
        chart, record = generate_chart(rng, lang, "line" if kind == "area" else kind)
        return chart, kind, lang, {"origin": "generated", **record}

    def _user(self, chart: Chart, rng: np.random.Generator, meta: dict[str, Any]) -> tuple[Chart, str, str, dict[str, Any]]:
        """A user chart with a kind it fits, drawn from the options' kinds."""
        kinds = [k for k in self.options.kinds if _fits(chart, k)]
        if not kinds:
            raise Reject("no-fitting-kind", f"user chart {chart.title!r} fits none of {self.options.kinds}")
        return chart, _pick(rng, kinds), detect_lang(" ".join(chart.texts())), meta

    def render(self, rng: np.random.Generator) -> Sample:
        return self.draw(*self._content(rng), rng)

    def render_item(self, item: Chart, rng: np.random.Generator) -> list[Sample]:
        """A chart is one part."""
        return [self.draw(*self._user(item, rng, {"origin": "user"}), rng)]

    def draw(self, chart: Chart, kind: str, lang: str, meta: dict[str, Any], rng: np.random.Generator) -> Sample:
        look = sample_look(rng, self.options, kind, lang, chart)
        option, labels = build_options(chart, kind, look)
        payload = {"option": option, "labels": labels, "width": look["width_px"], "height": look["height_px"],
                   "theme": None if look["theme"] == "default" else look["theme"], "paper": look["paper"]}
        captured = self.page.render("renderChart", payload)
        if look["value_labels"] and values_crowded(captured.result["drawn"], "targets", chart.matrix().size):
            # Value labels that collide, leave the canvas or were not painted cannot be read: the chart
            # is drawn without them (its values are read from the axis), and the meta says so.
            look = {**look, "value_labels": False, "value_labels_dropped": "overlapping"}
            option, labels = build_options(chart, kind, look)
            captured = self.page.render("renderChart", {**payload, "option": option, "labels": labels})
        assert captured.png is not None
        image = Image.open(io.BytesIO(captured.png))
        meta.update(kind=kind, lang=lang, **look)
        return Sample([image], chart_to_target(chart), meta, png=[captured.png], drawn=captured.result["drawn"])

    def validate(self, sample: Sample) -> None:
        """The target is canonical chart JSON, the image has the size the options asked for, and the
        chart shows the target: every value and category label inside the canvas and clear of every
        other text, and every title, name, category, value label and data value read back from
        what ECharts painted (:func:`renderers.chart_readback.check_chart`; a pie does not show its
        series' name)."""
        try:
            chart = chart_from_target(sample.target)
        except ValueError as err:
            raise Reject("bad-target", str(err)) from err
        if chart_to_target(chart) != sample.target:
            raise Reject("bad-target", "target is not in the canonical serialisation")
        image = sample.images[0]
        if image.size != (sample.meta["width_px"], sample.meta["height_px"]):
            raise Reject("bad-image", f"image is {image.size}, meta says {sample.meta['width_px']}x"
                                      f"{sample.meta['height_px']}")
        kind = sample.meta["kind"]
        check_chart(chart, "line" if kind == "area" else kind, sample.drawn, sample.meta["value_labels"],
                    clear="targets", series_drawn=kind != "pie")

    def close(self) -> None:
        self.page.close()
