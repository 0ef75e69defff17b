"""The layout of a matplotlib chart without matplotlib's layout engines: the axes placed so the
texts around them fit in the figure, legends and axis labels placed, and the checks that reject a
chart whose texts leave the figure or whose category labels overlap.

The texts around the axes are measured once with the canvas renderer (:class:`TextBoxes`) and
the axes placed from those extents (:func:`lay_out`), then the figure is drawn once; an inside
legend goes to the sampled corner or the next free one instead of ``loc="best"``. Value axes keep
only the ticks inside the view (:class:`InViewLocator`), so no room is made for labels never drawn.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from renderers.base import Reject
from renderers.chart_matplotlib.look import LEGEND_LOCS


class InViewLocator(ticker.AutoLocator):
    """matplotlib's default value-axis ticks, less those outside the view limits.

    AutoLocator also returns the ticks one step beyond each end of the axis; matplotlib makes a
    ``Tick`` (two lines, a grid line, two texts) for each of them and then does not draw it. The
    ticks kept are a superset of the ones drawn (matplotlib draws ticks within 1e-10 of the
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
    axes move, a text measured before is moved to its new anchor, which costs far less than laying
    it out again; a text whose string changed (a value tick after the axes grew) is laid out again.
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


def lay_out(
    fig: Figure, ax: Any, boxes: TextBoxes, drawn: dict[str, Any], rc: dict[str, Any]
) -> dict[str, Any]:
    """Place the axes so that the texts around them fit in the figure, in two cheap passes.

    Each pass measures the tick labels (after updating the ticks for the current axes size), the
    title and the texts drawn in data space against the axes box, then reserves, side by side, the
    axis labels, the source line and an outside legend. The second pass corrects the first (the
    value ticks and a centred title depend on the axes size); a text still outside is rejected after
    the draw. The axis labels are placed here too, so the draw never measures tick labels again.
    A legend inside the axes goes to the sampled corner, or to the next one that covers no bar,
    point or value label (matplotlib's ``loc="best"`` does this search over every path, which is slow);
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


def check_layout(canvas: FigureCanvasAgg, boxes: TextBoxes, drawn: dict[str, list], rotation: int) -> None:
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
