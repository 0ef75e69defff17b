"""Geometry: where the page lies under the scanner or the camera. Each operation is a 3×3 matrix from
input to output pixel coordinates of a page of the same size; parameters are relative (degrees,
fractions of the page), so pages of different sizes get the same placement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from renderers.augment.base import GeometricOp, draw


def _about_centre(linear: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    to_origin = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1]], dtype=np.float64)
    back = np.array([[1, 0, width / 2], [0, 1, height / 2], [0, 0, 1]], dtype=np.float64)
    return back @ linear @ to_origin


class Rotate(GeometricOp):
    """A page laid a little askew: rotation by ``angle`` degrees (counter-clockwise) about its centre."""

    name = "rotate"
    defaults: ClassVar[dict[str, Any]] = {"angle": (-1.0, 1.0), "background": "paper"}

    def matrix(self, params: Mapping[str, Any], size: tuple[int, int]) -> np.ndarray:
        theta = np.deg2rad(params["angle"])
        c, s = np.cos(theta), np.sin(theta)
        return _about_centre(np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]), size)


class Shear(GeometricOp):
    """A sheet fed slanted through a feeder, or a line-scan that drifts: x += shear_x · y, y += shear_y · x."""

    name = "shear"
    defaults: ClassVar[dict[str, Any]] = {"shear_x": (-0.01, 0.01), "shear_y": (-0.01, 0.01), "background": "paper"}

    def matrix(self, params: Mapping[str, Any], size: tuple[int, int]) -> np.ndarray:
        linear = np.array([[1, params["shear_x"], 0], [params["shear_y"], 1, 0], [0, 0, 1]], dtype=np.float64)
        return _about_centre(linear, size)


class Perspective(GeometricOp):
    """A page photographed at an angle: each corner moves inwards by its own fraction of the page
    (``corners``: [dx, dy] of top-left, top-right, bottom-right, bottom-left), so the whole page
    stays in view and the background shows around it."""

    name = "perspective"
    defaults: ClassVar[dict[str, Any]] = {"inset": (0.0, 0.06), "background": (40, 120)}

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any]) -> dict[str, Any]:
        inset = spec.get("inset", self.defaults["inset"])
        corners = [[draw(rng, inset), draw(rng, inset)] for _ in range(4)]
        return {"corners": corners, "background": draw(rng, spec.get("background", self.defaults["background"]))}

    def matrix(self, params: Mapping[str, Any], size: tuple[int, int]) -> np.ndarray:
        width, height = size
        source = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
        moved = source + inward * np.asarray(params["corners"], dtype=np.float64) * [width, height]
        return cv2.getPerspectiveTransform(source, moved.astype(np.float32)).astype(np.float64)


OPS = (Rotate(), Shear(), Perspective())
