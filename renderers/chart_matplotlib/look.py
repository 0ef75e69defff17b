"""Sampling the look of a matplotlib chart: every drawing choice (style sheet, sizes, colours,
legend, value labels, grid, spines, label rotation, hinting) drawn into the record that is the
sample's ``meta`` (SynthTIGER's sample/apply split); :mod:`.draw` draws from the record alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from corpora.charts import Chart
from renderers.backends import fonts

if TYPE_CHECKING:
    from renderers.chart_matplotlib import Options

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


def sample_choices(
    rng: np.random.Generator,
    options: Options,
    chart: Chart,
    kind: str,
    lang: str,
    font: fonts.FontFace,
    bold: fonts.FontFace,
) -> dict[str, Any]:
    """Every drawing choice for one chart drawn in ``font`` (titles maybe in ``bold``): the meta."""
    pick = lambda seq: seq[int(rng.integers(len(seq)))]
    dpi = int(pick(options.dpi))
    width = int(rng.integers(options.width_px[0], options.width_px[1] + 1))
    height = int(rng.integers(options.height_px[0], options.height_px[1] + 1))
    # A few whole-point sizes (the pixel size follows the dpi): matplotlib's font lookup cache is
    # keyed by family, weight and size, so few distinct sizes keep it warm.
    font_size = int(pick(options.font_sizes))
    n_points = len(chart.series) * len(chart.categories)
    look: dict[str, Any] = {
        "style": pick(options.styles),
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
        "value_labels": bool(rng.random() < options.value_label_probability and n_points <= 24),
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
        look["rotation"] = _rotation(rng, chart, kind, look, lang)
    return look


def _rotation(rng: np.random.Generator, chart: Chart, kind: str, look: dict, lang: str) -> int:
    """Rotate category labels when they would not fit side by side (an estimate from lengths)."""
    if kind == "hbar":
        return 0
    char_px = look["font_size"] * look["dpi"] / 72 * (1.0 if lang == "zh" else 0.6)
    slot = 0.75 * look["width_px"] / len(chart.categories)
    widest = max(len(c) for c in chart.categories) * char_px
    if widest <= 0.85 * slot:
        return 0
    return int(rng.choice([30, 45, 90]))
