"""Chart data for the chart renderers: the chart dict, its canonical target text and user JSON-lines
charts (generated ones: :mod:`corpora.chart_generator`). Nothing here depends on a plotting library,
so every chart back-end (``chart-matplotlib``, ``chart-echarts``) draws the same data and writes the
same targets.

The chart dict is GOT's chart target (GOT paper, section 3.3, "chart"; the schema comes from
OneChart)::

    {"title": str, "source": str, "x_title": str, "y_title": str,
     "values": {series_name: {category_name: number}}}

Absent titles, source and axis titles are empty strings. ``x_title`` is the title drawn on the
horizontal axis and ``y_title`` the one on the vertical axis, as the chart shows them (so for a
horizontal bar chart ``x_title`` names the values). Every series has the same categories in the
same order; a pie chart has one series.

Canonical target text (:func:`chart_to_target`)::

    json.dumps(chart_dict, ensure_ascii=False, separators=(", ", ": "))

with the keys in the schema order above, series and categories in drawing order (legend order;
left to right, top to bottom for horizontal bars, around the pie from its start angle), integers
written as integers and decimals as Python's shortest float repr (``12.5``, ``0.07``,
``1234567.89``).
A value label on a chart is drawn with :func:`format_number`, which is the same text, so a label
holds exactly the numbers the picture shows. Generated values (:mod:`corpora.chart_generator`) are
rounded to 0-3 decimal places (at least two significant digits) before they are drawn.

User charts: a ``.jsonl`` file of one chart dict per line (or a ``.json`` file / a folder of
``.json`` files, one chart each), read with :func:`corpora.indexed.open_corpus`. A malformed row
becomes a :class:`~corpora.base.BadItem` counted by reason: ``bad-json``, ``not-an-object``,
``missing-key``, ``unknown-key``, ``not-a-string``, ``empty-values``, ``empty-name``,
``ragged-series``, ``not-a-number``, ``not-finite``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from corpora.base import BadItem, check_visible
from corpora.indexed import IndexedCorpus, open_corpus

Number = int | float
KINDS = ("bar", "grouped_bar", "stacked_bar", "hbar", "line", "scatter", "pie")
KEYS = ("title", "source", "x_title", "y_title", "values")
# Beyond these a chart cannot show every value readably, so the renderers would only try and fail
# (each draw slower than the last): such an item is refused when read.
MAX_SERIES, MAX_CATEGORIES, MAX_TEXT = 30, 100, 300
MAX_VALUE = 1e15  # an axis of larger numbers overflows matplotlib's tick arithmetic
TEXT_KEYS = KEYS[:4]


@dataclasses.dataclass(frozen=True)
class Chart:
    """One chart in the chart-dict schema. ``values`` maps series → category → number, in drawing
    order; treat it as read-only."""

    title: str
    source: str
    x_title: str
    y_title: str
    values: Mapping[str, Mapping[str, Number]]

    @property
    def series(self) -> list[str]:
        return list(self.values)

    @property
    def categories(self) -> list[str]:
        return list(next(iter(self.values.values())))

    def matrix(self) -> np.ndarray:
        """Values as a float array of shape (series, categories)."""
        return np.array([[float(v) for v in row.values()] for row in self.values.values()])

    def texts(self) -> list[str]:
        """Every string the chart may draw: titles, source, series and category names."""
        return [self.title, self.source, self.x_title, self.y_title, *self.series, *self.categories]

    def to_dict(self) -> dict[str, Any]:
        values = {s: dict(row) for s, row in self.values.items()}
        return {
            "title": self.title,
            "source": self.source,
            "x_title": self.x_title,
            "y_title": self.y_title,
            "values": values,
        }


# --------------------------------------------------------------------------- target text


def format_number(value: Number) -> str:
    """The text of a number, identical in the target JSON and in a value label on the chart."""
    return json.dumps(value)


def chart_to_target(chart: Chart) -> str:
    """The canonical target text of ``chart`` (see the module docstring)."""
    return json.dumps(chart.to_dict(), ensure_ascii=False, separators=(", ", ": "))


def chart_from_target(text: str) -> Chart:
    """Parse a target back to a :class:`Chart`; raises :class:`BadItem` (a ``ValueError``)."""
    return parse_chart(text)


def parse_chart(raw: Any) -> Chart:
    """Validate one chart dict (or its JSON text) and return it as a :class:`Chart`."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as err:
            raise BadItem("bad-json", str(err)) from err
        except RecursionError:
            raise BadItem("bad-json", "nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise BadItem("not-an-object", f"expected a JSON object, found {type(raw).__name__}")
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise BadItem("missing-key", f"missing {', '.join(missing)}; a chart needs {', '.join(KEYS)}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise BadItem("unknown-key", f"unexpected {', '.join(unknown)}; a chart has {', '.join(KEYS)}")
    for key in TEXT_KEYS:
        if not isinstance(raw[key], str):
            raise BadItem("not-a-string", f"{key} must be a string, found {type(raw[key]).__name__}")
        check_visible(raw[key])
        if len(raw[key]) > MAX_TEXT:
            raise BadItem("too-large", f"{key} has {len(raw[key])} characters, at most {MAX_TEXT}")
    values = raw["values"]
    if not isinstance(values, dict) or not values:
        raise BadItem("empty-values", "values must be a non-empty {series: {category: number}} object")
    if len(values) > MAX_SERIES or any(isinstance(row, dict) and len(row) > MAX_CATEGORIES for row in values.values()):
        raise BadItem("too-large", f"at most {MAX_SERIES} series of {MAX_CATEGORIES} categories")
    parsed: dict[str, dict[str, Number]] = {}
    categories: list[str] | None = None
    for series, row in values.items():
        if not series.strip():
            raise BadItem("empty-name", "a series name is empty")
        check_visible(series)
        if len(series) > MAX_TEXT:
            raise BadItem("too-large", f"a series name has {len(series)} characters, at most {MAX_TEXT}")
        if not isinstance(row, dict) or not row:
            raise BadItem(
                "empty-values", f"series {series!r} must be a non-empty {{category: number}} object"
            )
        if categories is None:
            categories = list(row)
        elif list(row) != categories:
            raise BadItem(
                "ragged-series", f"series {series!r} has categories {list(row)}, expected {categories}"
            )
        parsed[series] = {}
        for category, value in row.items():
            if not category.strip():
                raise BadItem("empty-name", f"a category name of series {series!r} is empty")
            check_visible(category)
            if len(category) > MAX_TEXT:
                raise BadItem("too-large", f"a category name has {len(category)} characters, at most {MAX_TEXT}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadItem("not-a-number", f"{series!r}/{category!r} is {value!r}")
            if isinstance(value, int) and abs(value) >= 2**53 or not math.isfinite(value):  # no exact float
                raise BadItem("not-finite", f"{series!r}/{category!r} is {str(value)[:40]}")
            if abs(value) > MAX_VALUE:
                raise BadItem("too-large", f"{series!r}/{category!r} is {value!r}, beyond ±{MAX_VALUE:g}")
            parsed[series][category] = value
    return Chart(raw["title"], raw["source"], raw["x_title"], raw["y_title"], parsed)


def user_charts(path: str | Path) -> IndexedCorpus[Chart]:
    """User charts: a ``.jsonl`` file of chart dicts, a ``.json`` file, or a folder of ``.json`` files."""
    from corpora.split import chart_key  # corpora.split reads charts through this module

    return open_corpus(path, parse_chart, key=chart_key, suffixes=(".jsonl", ".json"), whole_file_suffixes=(".json",))
