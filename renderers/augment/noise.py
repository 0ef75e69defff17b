"""Noise and blur: sensor grain, dust and toner specks, streaks from a dirty glass or drum, out of
focus and shaken optics."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from renderers.augment.base import Canvas, Op


@functools.lru_cache(maxsize=64)
def _gaussian_table(sigma: float) -> np.ndarray:
    """uint8 table from a uniform byte to 128 + a normal deviate of ``sigma`` (its 256 quantiles):
    a byte per pixel from the generator is several times cheaper than a normal draw."""
    normal = statistics.NormalDist(0.0, sigma)
    values = [128 + normal.inv_cdf((u + 0.5) / 256) for u in range(256)]
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


class Noise(Op):
    """Sensor grain: Gaussian noise of ``sigma`` grey levels, the same on every channel (luminance
    noise: hues keep)."""

    name = "noise"
    kind = "noise"
    seeded = True
    defaults: ClassVar[dict[str, Any]] = {"sigma": (2.0, 6.0)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        width, height = canvas.size
        uniform = np.frombuffer(canvas.texture_rng(params).bytes(width * height), dtype=np.uint8)
        noise = cv2.LUT(uniform.reshape(height, width), _gaussian_table(float(params["sigma"])))
        canvas.pixels = cv2.addWeighted(canvas.pixels, 1.0, canvas.broadcast(noise), 1.0, -128.0)
        return canvas


class Speckle(Op):
    """Dust, toner specks or fax dropouts: ``density`` specks per megapixel of ``size`` pixels,
    dark (``tone`` dark) or light (``tone`` light), of strength ``darkness``."""

    name = "speckle"
    kind = "noise"
    seeded = True
    defaults: ClassVar[dict[str, Any]] = {"density": (50, 300), "size": [1, 2, 3], "tone": "dark", "darkness": (0.5, 1.0)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        width, height = canvas.size
        rng = canvas.texture_rng(params)
        count = round(params["density"] * width * height / 1e6)
        mask = np.zeros((height, width), dtype=np.uint8)
        mask[rng.integers(0, height, count), rng.integers(0, width, count)] = round(255 * params["darkness"])
        if params["size"] > 1:
            mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (params["size"],) * 2))
        combine = cv2.subtract if params["tone"] == "dark" else cv2.add
        canvas.pixels = combine(canvas.pixels, canvas.broadcast(mask))
        return canvas


class Streaks(Op):
    """Lines along the feed direction from a dirty scanner glass or copier drum: ``count`` streaks
    of ``width`` pixels, darkened by ``darkness``."""

    name = "streaks"
    kind = "noise"
    seeded = True
    defaults: ClassVar[dict[str, Any]] = {"count": (1, 3), "width": (1, 3), "darkness": (0.1, 0.4), "orientation": "vertical"}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        rng = canvas.texture_rng(params)
        pixels = np.array(canvas.pixels)  # own and writable
        vertical = params["orientation"] == "vertical"
        keep = round(256 * (1 - params["darkness"]))
        for start in rng.integers(0, pixels.shape[1 if vertical else 0], params["count"]):
            cut = slice(int(start), int(start) + params["width"])
            band = pixels[:, cut] if vertical else pixels[cut]
            band[...] = (band.astype(np.uint16) * keep >> 8).astype(np.uint8)
        canvas.pixels = pixels
        return canvas


class Blur(Op):
    """Optics slightly out of focus: a Gaussian blur of ``sigma`` pixels."""

    name = "blur"
    kind = "noise"
    defaults: ClassVar[dict[str, Any]] = {"sigma": (0.3, 0.9)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        canvas.pixels = cv2.GaussianBlur(canvas.pixels, (0, 0), params["sigma"])
        return canvas


class MotionBlur(Op):
    """A hand that moved: a line kernel ``length`` pixels long at ``angle`` degrees."""

    name = "motion_blur"
    kind = "noise"
    defaults: ClassVar[dict[str, Any]] = {"length": (3, 7), "angle": (0.0, 180.0)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        length = params["length"] | 1  # odd: the kernel has a centre
        half = length // 2
        theta = np.deg2rad(params["angle"])
        dx, dy = half * np.cos(theta), half * np.sin(theta)
        kernel = np.zeros((length, length), dtype=np.uint8)
        shift = 4  # sub-pixel line ends
        ends = [(round((half + sx * dx) * 2**shift), round((half + sx * dy) * 2**shift)) for sx in (-1, 1)]
        cv2.line(kernel, ends[0], ends[1], 255, 1, cv2.LINE_AA, shift)
        weights = kernel.astype(np.float32)
        weights /= weights.sum()
        canvas.pixels = cv2.filter2D(canvas.pixels, -1, weights, borderType=cv2.BORDER_REPLICATE)
        return canvas


OPS = (Noise(), Speckle(), Streaks(), Blur(), MotionBlur())
