"""What a drawn matplotlib chart shows, for ``validate`` (:mod:`renderers.chart_readback`): its texts
with their roles and boxes, and the numbers its marks were drawn from, read off the figure's artists
right after the draw (the boxes come from the layout's own measurements, so nothing is laid out
twice).
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from renderers.chart_matplotlib.layout import TextBoxes
from renderers.chart_readback import box_quad


def record(fig: Figure, ax: Any, boxes: TextBoxes, drawn: dict[str, Any], kind: str, rotation: int) -> dict[str, Any]:
    """The record of one drawn chart (``Sample.drawn``; see :mod:`renderers.chart_readback`)."""
    width, height = fig.canvas.get_width_height()
    roles: dict[int, str] = {}
    if drawn["title"] is not None:
        roles[id(drawn["title"])] = "title"
    if drawn["source"] is not None:
        roles[id(drawn["source"])] = "source"
    # A pie names its series under itself (the x label) or as its legend's title.
    roles[id(ax.xaxis.label)] = "legend" if kind == "pie" else "x_title"
    roles[id(ax.yaxis.label)] = "y_title"
    for legend in (ax.get_legend(), *fig.legends):
        if legend is not None:
            roles[id(legend.get_title())] = "legend"
            roles.update((id(text), "legend") for text in legend.get_texts())
    texts: list[dict[str, Any]] = []

    def add(text: Any, role: str, **extra: Any) -> None:
        if text.get_visible() and text.get_text():
            box = boxes.extent(text)  # y up: the record's quads are y down
            texts.append({"role": role, "text": text.get_text(),
                          "quad": box_quad(box.x0, height - box.y1, box.x1, height - box.y0), **extra})

    for text in drawn["texts"]:
        add(text, roles.get(id(text), "category" if kind == "pie" else "other"))
    for legend in (ax.get_legend(), *fig.legends):
        if legend is not None and legend.get_title() not in drawn["texts"]:
            add(legend.get_title(), "legend")
    categories = len(drawn["ticks"]) or max(1, len(ax.patches))
    for k, text in enumerate(drawn["values"]):
        add(text, "value", series=k // categories, index=k % categories)
    for text in drawn["ticks"]:
        add(text, "category", rotated=rotation != 0)
    return {"size": [width, height], "texts": texts, **_marks(ax, kind)}


def _marks(ax: Any, kind: str) -> dict[str, Any]:
    """The numbers the marks were drawn from: bar lengths, line and point heights; a pie's wedge
    angles (matplotlib keeps no other trace of its values)."""
    if kind == "pie":
        return {"values": [], "angles": [[w.theta2 - w.theta1 for w in ax.patches]]}
    if kind in ("bar", "grouped_bar", "hbar", "stacked_bar"):
        length = "get_width" if kind == "hbar" else "get_height"
        return {"values": [[float(getattr(p, length)()) for p in bars.patches] for bars in ax.containers]}
    if kind == "line":
        return {"values": [[float(y) for y in line.get_ydata()] for line in ax.lines]}
    return {"values": [[float(y) for _, y in points.get_offsets()] for points in ax.collections]}
