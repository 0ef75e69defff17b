"""Compression and encoding: what the device keeps of the picture, a lossy JPEG, a lower
resolution, grey only, or two levels (a fax, a copier's text mode)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from renderers.augment.base import LUMA, Canvas, Op


class Jpeg(Op):
    """A round trip through JPEG at ``quality`` (libjpeg's baseline, 4:2:0 chroma on colour pages)."""

    name = "jpeg"
    kind = "compression"
    defaults: ClassVar[dict[str, Any]] = {"quality": (60, 95)}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        pixels = canvas.pixels if canvas.channels == 1 else cv2.cvtColor(canvas.pixels, cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(params["quality"])])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        canvas.pixels = decoded if canvas.channels == 1 else cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
        return canvas


class Resample(Op):
    """A coarser sensor: the page shrunk to ``scale_x`` × ``scale_y`` of its size (area average)
    and brought back (``linear``, or ``nearest`` for a fax's blocky rows)."""

    name = "resample"
    kind = "compression"
    defaults: ClassVar[dict[str, Any]] = {"scale_x": (0.6, 0.9), "scale_y": (0.6, 0.9), "interpolation": "linear"}

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        width, height = canvas.size
        small = (max(1, round(width * params["scale_x"])), max(1, round(height * params["scale_y"])))
        shrunk = cv2.resize(canvas.pixels, small, interpolation=cv2.INTER_AREA)
        back = cv2.INTER_NEAREST if params["interpolation"] == "nearest" else cv2.INTER_LINEAR
        canvas.pixels = cv2.resize(shrunk, (width, height), interpolation=back)
        return canvas


class Grey(Op):
    """A grey-scale device: colours become their luma."""

    name = "grey"
    kind = "compression"
    hue = True

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        if canvas.channels == 3:
            canvas.pixels = cv2.cvtColor(canvas.pixels, cv2.COLOR_RGB2GRAY)
        elif canvas.colormap is not None:
            luma = np.rint(canvas.colormap @ LUMA).astype(np.uint8)
            canvas.colormap = np.repeat(luma[:, None], 3, axis=1)
        return canvas


class Binarize(Op):
    """Two levels, black and white: ``method`` otsu, a global Otsu threshold raised by ``offset``
    grey levels; adaptive, a pixel turns black when it is ``contrast`` levels darker than the mean of
    a window ``block`` × the short side wide (uneven light keeps its text)."""

    name = "binarize"
    kind = "compression"
    hue = True
    defaults: ClassVar[dict[str, Any]] = {
        "method": ["otsu", "adaptive"], "offset": (-10.0, 15.0), "contrast": (6.0, 20.0), "block": (0.02, 0.05),
    }

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        grey = canvas.grey()
        if params["method"] == "adaptive":
            block = max(3, round(params["block"] * min(canvas.size)) | 1)
            binary = cv2.adaptiveThreshold(
                grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, params["contrast"]
            )
        else:
            level, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
            _, binary = cv2.threshold(grey, float(np.clip(level + params["offset"], 0, 254)), 255, cv2.THRESH_BINARY)
        canvas.pixels, canvas.colormap = binary, None
        return canvas


OPS = (Jpeg(), Resample(), Grey(), Binarize())
