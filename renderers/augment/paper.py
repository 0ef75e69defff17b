"""Paper and ink: the sheet's texture and tone, ink that spreads or fades, a copier's tone curve, a
tinted light or yellowed paper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from renderers.augment.base import Canvas, Op, PointOp, smooth_noise, to_field


class PaperTexture(Op):
    """Paper fibres and blotches: the page darkened by up to ``strength`` in a pattern of two sizes,
    ``scale`` × the long side and a fifth of it (ink darkens in proportion, as paper under it does)."""

    name = "paper_texture"
    kind = "paper"
    seeded = True
    defaults: ClassVar[dict[str, Any]] = {"strength": (0.02, 0.08), "scale": (0.02, 0.08)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        rng = canvas.texture_rng(params)
        noise = 0.7 * smooth_noise(rng, canvas.size, params["scale"])
        noise += 0.3 * smooth_noise(rng, canvas.size, params["scale"] / 5)
        canvas.scale(to_field(1.0 - params["strength"] * np.clip(0.5 + noise, 0.0, 1.0), canvas.size))
        return canvas


class InkFade(Op):
    """Worn or faded ink: every pixel moves towards the paper colour by up to ``amount``, in
    patches of ``scale`` × the long side (a cartridge running dry, an old print)."""

    name = "ink_fade"
    kind = "paper"
    seeded = True
    defaults: ClassVar[dict[str, Any]] = {"amount": (0.1, 0.35), "scale": (0.05, 0.2)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        rng = canvas.texture_rng(params)
        patches = np.clip(0.5 + smooth_noise(rng, canvas.size, params["scale"]), 0.0, 1.0)
        keep = to_field(1.0 - params["amount"] * patches, canvas.size)
        paper = canvas.paper()
        scalar = paper[0] if canvas.channels == 1 else (*paper, 0)
        # paper - (paper - pixel) · keep: the ink's distance from the paper shrinks
        distance = cv2.subtract(scalar, canvas.pixels)
        canvas.pixels = cv2.subtract(scalar, cv2.multiply(distance, canvas.broadcast(keep), scale=1 / 255))
        return canvas


class InkBleed(Op):
    """Ink soaking into the paper or toner spreading: strokes thickened by a ``size``-pixel minimum
    filter, mixed in by ``amount``."""

    name = "ink_bleed"
    kind = "paper"
    defaults: ClassVar[dict[str, Any]] = {"size": [2, 3], "amount": (0.3, 0.8)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        kernel = np.ones((params["size"], params["size"]), dtype=np.uint8)
        spread = cv2.erode(canvas.pixels, kernel)  # erosion of a light page = dark strokes grow
        canvas.pixels = cv2.addWeighted(canvas.pixels, 1 - params["amount"], spread, params["amount"], 0)
        return canvas


class Levels(PointOp):
    """A copier's or scanner's tone curve: values below ``black`` go black, above ``white`` go
    white, and ``gamma`` bends the rest (the same on every channel, so hues keep)."""

    name = "levels"
    kind = "paper"
    defaults: ClassVar[dict[str, Any]] = {"black": (0, 20), "white": (235, 255), "gamma": (0.9, 1.1)}

    def table(self, params: Mapping[str, Any]) -> np.ndarray:
        black, white = params["black"], max(params["white"], params["black"] + 1)
        ramp = np.clip((np.arange(256) - black) / (white - black), 0.0, 1.0) ** params["gamma"]
        return np.repeat(np.rint(ramp * 255).astype(np.uint8)[None], 3, axis=0)


class Tint(PointOp):
    """Coloured light or yellowed paper: each channel multiplied by its gain."""

    name = "tint"
    kind = "paper"
    hue = True
    defaults: ClassVar[dict[str, Any]] = {"red": (0.95, 1.0), "green": (0.92, 1.0), "blue": (0.82, 0.97)}

    def table(self, params: Mapping[str, Any]) -> np.ndarray:
        gains = np.array([params["red"], params["green"], params["blue"]])[:, None]
        return np.rint(np.clip(np.arange(256)[None] * gains, 0, 255)).astype(np.uint8)


OPS = (PaperTexture(), InkFade(), InkBleed(), Levels(), Tint())
