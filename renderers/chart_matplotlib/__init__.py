"""Chart images drawn with matplotlib (Agg), with the chart dict as the target (GOT paper,
section 3.3: charts rendered with Matplotlib and Pyecharts, targets in OneChart's chart-dict
format; the data and the target text live in :mod:`corpora.charts`).

Kinds: bar, grouped bar, stacked bar, horizontal bar, line, scatter (categories on x) and pie.
GOT asks for structured outputs (markdown, TikZ, SMILES, kern, chart dicts) with the formatted
prompt, so ``task`` is ``format`` (``OCR with format: ``).

Each sample first draws every random choice into a record (kind, language, style sheet, font,
sizes, colours, legend position, value labels, grid, spines, rotation; SynthTIGER's sample/apply
split), then draws it. The record is the sample's ``meta``. The package, by job:

* this module: the options, the renderer, and the chart to draw (generated or a user's);
* :mod:`.faces`: the font faces a chart may use, picked to cover its text, and the alias families
  that make matplotlib draw with exactly those faces;
* :mod:`.look`: sampling the drawing choices (the record);
* :mod:`.draw`: drawing the figure from the record, deterministically;
* :mod:`.layout`: placing the axes, legend and labels without matplotlib's layout engines, and
  rejecting a chart whose texts leave the figure or overlap.

Value labels are drawn with :func:`corpora.charts.format_number`, the same text as the number in
the target. Tick labels cannot show exact values; the target still lists them (as GOT's does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pydantic
from matplotlib import style
from matplotlib.figure import Figure
from PIL import Image

from corpora.chart_generator import generate_chart
from corpora.charts import KINDS, Chart, chart_from_target, chart_to_target, user_charts
from corpora.indexed import IndexedCorpus
from corpora.text import detect_lang
from renderers.base import Reject, RendererOptions, Sample, SubsetOf
from renderers.chart_matplotlib import draw
from renderers.chart_matplotlib.faces import installed_faces, pick_faces
from renderers.chart_matplotlib.look import STYLES, sample_choices
from renderers.chart_readback import check_chart


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
    version: ClassVar[str] = "8"
    Options: ClassVar[type[RendererOptions]] = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: IndexedCorpus[Chart] | None = user_charts(corpus_path) if corpus_path is not None else None
        # (regular, bold) faces of every font a chart may use, each registered with matplotlib once
        # under an alias that resolves to exactly that face (see faces.register_alias).
        self.en_fonts, self.bold = installed_faces()
        self._style_rc = draw.style_rcs(options.styles)

    def render(self, rng: np.random.Generator) -> Sample:
        return self.draw(*self.sample_chart(rng), rng)

    def render_item(self, item: Chart, rng: np.random.Generator) -> list[Sample]:
        """A chart is one part."""
        return [self.draw(*self.user_chart(item, rng, {"origin": "user"}), rng)]

    def draw(self, chart: Chart, kind: str, lang: str, data: dict[str, Any], rng: np.random.Generator) -> Sample:
        look = self.sample_look(rng, chart, kind, lang)
        shown: dict[str, Any] = {}
        fig, placed = self.figure(chart, kind, look, shown)
        width, height = fig.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        meta = {"lang": lang, "kind": kind, **look, **placed, "data": data}
        return Sample(images=[image.convert("RGB")], target=chart_to_target(chart), meta=meta, drawn=shown)

    def sample_chart(self, rng: np.random.Generator) -> tuple[Chart, str, str, dict[str, Any]]:
        """The chart to draw (generated, or a user chart), its kind, its language and a record of
        how its data was made."""
        if self.corpus is not None:
            index, chart = self.corpus.draw(rng)
            return self.user_chart(chart, rng, {"origin": "user", "index": index})
        lang = "zh" if rng.random() < self.options.zh_probability else "en"
        kind = self.options.kinds[int(rng.integers(len(self.options.kinds)))]
        chart, record = generate_chart(rng, lang, kind)
        return chart, kind, lang, {"origin": "generated", **record}

    def user_chart(self, chart: Chart, rng: np.random.Generator,
                   data: dict[str, Any]) -> tuple[Chart, str, str, dict[str, Any]]:
        """A user chart with a kind it fits, drawn from the options' kinds."""
        kinds = [k for k in self.options.kinds if _fits(chart, k)]
        if not kinds:
            raise Reject("no-fitting-kind", f"chart {chart.title!r} fits none of {self.options.kinds}")
        return chart, kinds[int(rng.integers(len(kinds)))], detect_lang(" ".join(chart.texts())), data

    def sample_look(self, rng: np.random.Generator, chart: Chart, kind: str, lang: str) -> dict[str, Any]:
        """Every drawing choice for one chart (faces first, then style, sizes, colours, legend, ...):
        the meta."""
        font, bold = pick_faces(rng, chart, lang, self.en_fonts, self.bold)
        return sample_choices(rng, self.options, chart, kind, lang, font, bold)

    def figure(self, chart: Chart, kind: str, look: dict[str, Any],
               shown: dict[str, Any] | None = None) -> tuple[Figure, dict[str, Any]]:
        """The drawn figure of ``chart`` with the choices ``look`` (see :func:`draw.figure`)."""
        return draw.figure(self._style_rc[look["style"]], chart, kind, look, shown)

    def validate(self, sample: Sample) -> None:
        """The target is canonical chart JSON with named series and categories, the image has the
        size in the meta (the engine itself rejects a blank image), and the figure shows the target:
        what the draw checked (texts inside the figure, value labels and unrotated category labels
        clear of each other) and every title, name, category, value label and mark read back from it
        (:func:`renderers.chart_readback.check_chart`)."""
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
        check_chart(chart, sample.meta["kind"], sample.drawn, sample.meta["value_labels"], clear="labels")


def _fits(chart: Chart, kind: str) -> bool:
    """Whether a user chart can be drawn as ``kind``."""
    matrix = chart.matrix()
    n_series = len(chart.series)
    if kind in ("pie", "bar"):
        return n_series == 1 and (kind == "bar" or bool((matrix > 0).all()))
    if kind in ("grouped_bar", "stacked_bar"):
        return n_series >= 2 and (kind == "grouped_bar" or bool((matrix >= 0).all()))
    return True
