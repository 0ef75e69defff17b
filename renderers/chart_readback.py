"""A chart read back: what a chart back-end reports it drew, checked against the chart-dict target,
for the ``validate`` of ``chart-matplotlib`` and ``chart-echarts`` (ARCHITECTURE.md, "The renderer
contract").

A back-end hands over (in ``Sample.drawn``) the canvas ``size``, its ``texts`` and its ``values``:

* a text is ``{"role", "text", "quad"}``, the quad its four corners in canvas pixels (y down, the
  corners in order around the box); roles: ``title``, ``source``, ``x_title``, ``y_title``,
  ``legend`` (a legend entry or title), ``category`` (a category's tick label, ``rotated`` when
  it is, or a pie's category label), ``value`` (a value label, with its ``series`` and ``index``),
  ``tick`` (a value-axis tick label) and ``other``;
* ``values``: per series, the numbers its marks were drawn from (bar lengths, point heights, the
  pie's data), as the back-end holds them after drawing; or ``angles``, a pie's wedges.

:func:`check_chart` rejects a pair whose texts leave the canvas or overlap (:func:`check_layout`),
or whose target says what the chart does not show: a title, axis title, source, series or category
that is not drawn, a value label that is missing or reads otherwise, a value that is not the one
its mark was drawn from.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from corpora.charts import Chart, format_number
from renderers.base import Reject

TEXT_KEYS = ("title", "source", "x_title", "y_title")
SLACK_PX = 1.0  # a box may touch the canvas edge or its neighbour by this much (anti-aliasing)


def squash(text: str) -> str:
    """A text without its whitespace: a back-end may wrap a long title at any space."""
    return "".join(text.split())


def value_text(value: Any, percent: bool) -> str:
    """The value label the target's number must be drawn as."""
    return format_number(value) + ("%" if percent else "")


def pie_percent(chart: Chart) -> bool:
    """Whether a pie's values are percentages (they sum to 100), drawn with a % sign."""
    return math.isclose(float(chart.matrix().sum()), 100.0, abs_tol=1e-6)


def check_chart(chart: Chart, kind: str, drawn: dict[str, Any], value_labels: bool, clear: str,
                series_drawn: bool = True) -> None:
    """Reject unless ``drawn`` shows ``chart`` faithfully (module docstring). ``value_labels``:
    whether the sample says its values are labelled; ``clear``: the overlap rule of
    :func:`check_layout`; ``series_drawn``: whether the chart shows its series' names (an ECharts
    pie does not)."""
    if not drawn or "texts" not in drawn or "values" not in drawn:
        raise Reject("nothing-to-check", "the sample carries no record of what was drawn")
    texts = drawn["texts"]
    check_layout(texts, drawn["size"], clear)
    by_role: dict[str, list[str]] = {}
    for text in texts:
        by_role.setdefault(text["role"], []).append(squash(text["text"]))
    for key in TEXT_KEYS:
        wanted = squash(getattr(chart, key))
        if wanted and wanted not in by_role.get(key, []):
            raise Reject("text-not-drawn", f"{key} {getattr(chart, key)!r} is not on the chart")
    if series_drawn:
        missing = [s for s in chart.series if squash(s) not in by_role.get("legend", [])]
        if missing:
            raise Reject("text-not-drawn", f"series {missing[:3]} not on the chart")
    _check_categories(chart, kind, texts)
    _check_values(chart, kind, drawn, value_labels)


def _check_categories(chart: Chart, kind: str, texts: list[dict[str, Any]]) -> None:
    """Every category is drawn: in order along its axis (left to right; top to bottom for ``hbar``),
    or on a pie as a label (alone or before its value, ``name: value``) or a legend entry."""
    if kind == "pie":
        shown = [squash(t["text"]) for t in texts if t["role"] in ("category", "legend", "value")]
        missing = [c for c in chart.categories
                   if not any(text == squash(c) or text.startswith(squash(c) + ":") for text in shown)]
        if missing:
            raise Reject("category-not-drawn", f"{missing[:3]} not on the pie")
        return
    along = 1 if kind == "hbar" else 0
    # By the far end: a slanted label hangs from its tick at that end, whatever its length.
    ticks = sorted((t for t in texts if t["role"] == "category"), key=lambda t: max(p[along] for p in t["quad"]))
    drawn = [squash(t["text"]) for t in ticks]
    if drawn != [squash(c) for c in chart.categories]:
        raise Reject("category-not-drawn", f"the axis shows {drawn[:6]}, the target {chart.categories[:6]}")


def _check_values(chart: Chart, kind: str, drawn: dict[str, Any], value_labels: bool) -> None:
    """Each mark was drawn from the target's number (a pie that keeps only its wedges' angles: each
    wedge spans its share of the circle), and each value label, where labelled, reads it."""
    matrix = chart.matrix()  # (series, categories)
    if "angles" in drawn:
        values, matrix = drawn["angles"], 360.0 * matrix / matrix.sum()
    else:
        values = drawn["values"]
    if len(values) != len(chart.series) or any(len(row) != matrix.shape[1] for row in values):
        raise Reject("value-not-drawn", f"{len(values)} series drawn, the target has {len(chart.series)}")
    marks = np.array(values, dtype=float)
    wrong = ~np.isclose(marks, matrix, rtol=1e-9, atol=1e-9)
    if wrong.any():
        s, i = (int(k[0]) for k in np.nonzero(wrong))
        raise Reject("value-not-drawn", f"{chart.series[s]!r}/{chart.categories[i]!r}: the target says "
                                        f"{matrix[s, i]:g}, the mark was drawn from {marks[s, i]:g}")
    if not value_labels:
        return
    labels = {(t["series"], t["index"]): t["text"] for t in drawn["texts"] if t["role"] == "value"}
    percent = kind == "pie" and pie_percent(chart)
    for s, row in enumerate(chart.values.values()):
        for i, (category, value) in enumerate(row.items()):
            text = labels.get((s, i))
            wanted = value_text(value, percent)
            if text is None:
                raise Reject("value-not-drawn", f"no value label for {chart.series[s]!r}/{category!r}")
            if squash(text) != squash(wanted) and not squash(text).endswith(":" + squash(wanted)):
                raise Reject("value-not-drawn", f"the label of {chart.series[s]!r}/{category!r} reads {text!r}, "
                                                f"the target {wanted!r}")


# -- layout -----------------------------------------------------------------------------------------

def check_layout(texts: list[dict[str, Any]], size: Sequence[float], clear: str) -> None:
    """Reject texts that leave the canvas or overlap.

    ``clear`` names the overlap rule: ``"labels"``, what matplotlib's draw checks (value labels clear
    of each other; unrotated category labels, a pie's names included, clear of each other; rotated
    ones stand apart along their slant); ``"targets"``, every value and category label clear of
    every other text."""
    width, height = size
    for text in texts:
        xs, ys = [p[0] for p in text["quad"]], [p[1] for p in text["quad"]]
        if min(xs) < -SLACK_PX or min(ys) < -SLACK_PX or max(xs) > width + SLACK_PX or max(ys) > height + SLACK_PX:
            raise Reject("text-outside", f"{text['text'][:30]!r} at x {min(xs):.0f}-{max(xs):.0f}, "
                                         f"y {min(ys):.0f}-{max(ys):.0f} of {width}x{height}")
    for a, b in _pairs(texts, clear):
        if overlap(a["quad"], b["quad"]):
            raise Reject("overlapping-labels", f"{a['role']} {a['text'][:20]!r} overlaps {b['role']} {b['text'][:20]!r}")


def values_crowded(drawn: dict[str, Any], clear: str, expected: int) -> bool:
    """Whether the value labels, and only they, keep ``drawn`` from passing :func:`check_layout`:
    fewer than ``expected`` of them were painted, or they leave the canvas or collide where the
    other texts do not. The chart is then drawn again without them (its values stay readable
    from the axis)."""
    if sum(t["role"] == "value" for t in drawn["texts"]) < expected:
        return True
    try:
        check_layout(drawn["texts"], drawn["size"], clear)
        return False
    except Reject:
        pass
    try:
        check_layout([t for t in drawn["texts"] if t["role"] != "value"], drawn["size"], clear)
    except Reject:
        return False  # the chart fails without its value labels too: validate rejects it
    return True


def _pairs(texts: list[dict[str, Any]], clear: str) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    if clear == "labels":
        values = [t for t in texts if t["role"] == "value"]
        yield from itertools.combinations(values, 2)
        names = [t for t in texts if t["role"] == "category" and not t.get("rotated")]
        yield from itertools.combinations(names, 2)
        return
    for a, b in itertools.combinations(texts, 2):
        if (a["role"] in ("value", "category") or b["role"] in ("value", "category")) and a["text"].strip() and b["text"].strip():
            yield a, b


def overlap(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> bool:
    """Whether two convex quads (corners in order) overlap by more than :data:`SLACK_PX`
    (the separating-axis test: two convex shapes are apart when some edge's normal separates them)."""
    for quad in (a, b):
        for k in range(4):
            (x0, y0), (x1, y1) = quad[k], quad[(k + 1) % 4]
            nx, ny = y0 - y1, x1 - x0
            norm = math.hypot(nx, ny)
            if norm == 0:
                continue
            pa = [(x * nx + y * ny) / norm for x, y in a]
            pb = [(x * nx + y * ny) / norm for x, y in b]
            if max(pa) <= min(pb) + SLACK_PX or max(pb) <= min(pa) + SLACK_PX:
                return False
    return True


def box_quad(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """An axis-aligned box as a quad."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
