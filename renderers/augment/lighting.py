"""Lighting: uneven light across the page, a lens's dark corners, a shadow cast over the page, a fold
across it. Each is a neutral field of factors (hues keep), computed on a coarse grid and resized."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from renderers.augment.base import Canvas, Op, coarse_grid, to_field


def _across(side: str, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Coarse-grid distance from ``side`` into the page, position along that side from its middle,
    and the page's extent across."""
    width, height = size
    xs, ys = coarse_grid(size)
    if side == "left":
        return xs, ys - height / 2, float(width)
    if side == "right":
        return width - xs, ys - height / 2, float(width)
    if side == "top":
        return ys, xs - width / 2, float(height)
    return height - ys, xs - width / 2, float(height)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


class Gradient(Op):
    """Light falling off across the page: brightness from 1 down to ``low`` along ``angle`` degrees."""

    name = "gradient"
    kind = "lighting"
    defaults: ClassVar[dict[str, Any]] = {"low": (0.85, 0.97), "angle": (0.0, 360.0)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        width, height = canvas.size
        xs, ys = coarse_grid(canvas.size)
        theta = np.deg2rad(params["angle"])
        c, s = np.cos(theta), np.sin(theta)
        extent = (abs(width * c) + abs(height * s)) / 2
        t = 0.5 + ((xs - width / 2) * c + (ys - height / 2) * s) / (2 * extent)
        canvas.scale(to_field(1.0 - (1.0 - params["low"]) * t, canvas.size))
        return canvas


class Vignette(Op):
    """A lens's falloff: brightness lowered by ``strength`` at the corners, growing with the square
    of the distance from the centre."""

    name = "vignette"
    kind = "lighting"
    defaults: ClassVar[dict[str, Any]] = {"strength": (0.1, 0.3)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        width, height = canvas.size
        xs, ys = coarse_grid(canvas.size)
        r2 = ((xs - width / 2) / (width / 2)) ** 2 + ((ys - height / 2) / (height / 2)) ** 2
        canvas.scale(to_field(1.0 - params["strength"] * r2 / 2, canvas.size))
        return canvas


class Shadow(Op):
    """A shadow over the page (a hand, a phone, a book's spine): the part within ``depth`` × the page
    from ``side`` (its edge tilted by ``tilt`` degrees) darkened by ``darkness``, with an edge
    ``softness`` × the long side wide."""

    name = "shadow"
    kind = "lighting"
    defaults: ClassVar[dict[str, Any]] = {
        "side": ["left", "right", "top", "bottom"], "depth": (0.05, 0.4), "tilt": (-15.0, 15.0),
        "darkness": (0.15, 0.45), "softness": (0.01, 0.08),
    }

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        across, along, extent = _across(params["side"], canvas.size)
        edge = params["depth"] * extent + np.tan(np.deg2rad(params["tilt"])) * along
        soft = max(1.0, params["softness"] * max(canvas.size))
        shade = _smoothstep(0.5 + (edge - across) / soft)
        canvas.scale(to_field(1.0 - params["darkness"] * shade, canvas.size))
        return canvas


class Fold(Op):
    """A sheet that was folded: a crease ``width`` pixels wide darkened by ``darkness`` across the
    page (``orientation``) at ``position`` of it, tilted by ``tilt`` degrees, and the far half lit
    ``step`` less than the near one."""

    name = "fold"
    kind = "lighting"
    defaults: ClassVar[dict[str, Any]] = {
        "orientation": ["horizontal", "vertical"], "position": (0.3, 0.7), "tilt": (-3.0, 3.0),
        "darkness": (0.1, 0.35), "width": (1, 3), "step": (0.0, 0.08),
    }

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        width, height = canvas.size
        side = "top" if params["orientation"] == "horizontal" else "left"
        across, along, extent = _across(side, canvas.size)
        slope = np.tan(np.deg2rad(params["tilt"]))
        crease = params["position"] * extent + slope * along
        field = to_field(1.0 - params["step"] * _smoothstep(0.5 + (across - crease) / 8.0), canvas.size)
        shift = 4  # sub-pixel line ends
        if side == "top":
            ends = [(x, params["position"] * height + slope * (x - width / 2)) for x in (0, width)]
        else:
            ends = [(params["position"] * width + slope * (y - height / 2), y) for y in (0, height)]
        points = [(round(x * 2**shift), round(y * 2**shift)) for x, y in ends]
        dark = round(255 * (1.0 - params["darkness"]))
        cv2.line(field, points[0], points[1], dark, params["width"], cv2.LINE_AA, shift)
        canvas.scale(field)
        return canvas


OPS = (Gradient(), Vignette(), Shadow(), Fold())
