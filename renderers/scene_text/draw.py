"""Drawing a scene-text record: the background, then each kept instance's shadow, outline and
fill, composited inside its own region only. :func:`draw_scene` needs nothing but the record (the
meta) and the photos, so any sample can be redrawn from its meta and compared (SynthTIGER's
sample/apply split).

Instances never share pixels: placement keeps their footprints (the ink quad grown by outline,
shadow and blur) apart, so the order of drawing changes no pixel.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from PIL import Image

from renderers.backends import fonts
from renderers.scene_text import geometry
from renderers.scene_text.backgrounds import Photos, draw_background

SHADOW = [0, 0, 0]  # shadows are black, their strength is the opacity


def effects_margin(inst: dict[str, Any]) -> float:
    """How far past the ink quad an instance's outline, shadow and blur can reach, in px (+2 spare)."""
    offset = max(abs(v) for v in inst["shadow_offset"]) if inst["shadow_opacity"] else 0
    blur = 3 * inst["shadow_blur"] if inst["shadow_opacity"] else 0
    return inst["outline_px"] + offset + blur + 2


def mask_of(inst: dict[str, Any]) -> np.ndarray:
    face = fonts.FontFace.from_meta(inst["font"])
    return geometry.text_mask(face, inst["raster_px"], inst["text"], inst["curve"])


def composite(image: np.ndarray, mask: np.ndarray, matrix: np.ndarray, inst: dict[str, Any]) -> None:
    """Draw one instance into ``image`` (height, width, 3) ``uint8``, in place."""
    height, width = image.shape[:2]
    quad = geometry.ink_quad(matrix, mask.shape)
    margin = effects_margin(inst)
    x0, y0 = (max(0, math.floor(v - margin)) for v in quad.min(axis=0))
    x1, y1 = min(width, math.ceil(quad[:, 0].max() + margin) + 1), min(height, math.ceil(quad[:, 1].max() + margin) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    local = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64) @ matrix
    alpha = cv2.warpPerspective(mask, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # (h, w) uint8
    region = image[y0:y1, x0:x1]  # a view: each layer is blended into the image itself
    if inst["shadow_opacity"]:
        dx, dy = inst["shadow_offset"]
        shadow = _shifted(alpha, dx, dy)
        if inst["shadow_blur"]:
            shadow = cv2.GaussianBlur(shadow, (0, 0), inst["shadow_blur"])
        _blend(region, shadow, SHADOW, inst["shadow_opacity"])
    if inst["outline_px"]:
        radius = max(1, round(inst["outline_px"]))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        _blend(region, cv2.dilate(alpha, kernel), inst["outline"], 1.0)
    _blend(region, alpha, inst["fill"], 1.0)


def _shifted(alpha: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(alpha)
    h, w = alpha.shape
    if abs(dx) < w and abs(dy) < h:
        out[max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
            alpha[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


def _blend(region: np.ndarray, alpha: np.ndarray, colour: list[int], opacity: float) -> None:
    """``region`` (uint8 RGB) becomes ``region + (colour - region) * alpha / 255 * opacity``, rounded,
    inside alpha's bounding box; where alpha is 0 the weights are (0, 1) and the pixel stays exact."""
    x, y, w, h = cv2.boundingRect(alpha)
    if not w:
        return
    part = region[y:y + h, x:x + w]
    weight = alpha[y:y + h, x:x + w].astype(np.float32) * np.float32(opacity / 255)  # (h, w)
    solid = np.empty_like(part)
    solid[:] = colour
    part[:] = cv2.blendLinear(solid, part, weight, 1 - weight)


def draw_scene(record: dict[str, Any], photos: Photos) -> Image.Image:
    """The image a scene-text record describes (its background, then its kept instances)."""
    size = (record["width"], record["height"])
    background = record["background"]
    photo = photos.get(background["source"]) if background["kind"] == "photo" else None
    image = draw_background(background, size, photo)
    for inst in record["instances"]:
        mask = mask_of(inst)
        composite(image, mask, geometry.homography(mask.shape, inst, record["focal"]), inst)
    return Image.fromarray(image)
