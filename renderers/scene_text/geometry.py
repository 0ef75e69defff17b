"""Where a text instance's ink goes: its glyph mask, the arc of a curved baseline, the homography
that places the mask in the image, and the quad, box and footprint that placement checks read.

An instance is drawn as one ``uint8`` coverage mask (PIL/FreeType at a size from ``RASTER_SIZES``,
the next one up from the size asked for, so a few fonts loaded serve every size), bent onto an arc
when curved (``cv2.remap``), and mapped into the image by one homography: scale to the text size,
a tilt of the text's plane about its horizontal and vertical axes seen through a pinhole camera
(perspective), a turn in the image plane, and the move to its centre. Its quad is the mask's ink
rectangle under that homography: every pixel of ink lies inside it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from corpora import langs
from renderers.backends import fonts, shaping

RASTER_SIZES = (16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192)
PAD = 2  # blank pixels around the ink, so bilinear sampling fades to zero at the edges


def raster_size(size_px: float) -> int:
    return next((s for s in RASTER_SIZES if s >= size_px), RASTER_SIZES[-1])


@functools.lru_cache(maxsize=64)
def text_mask(face: fonts.FontFace, size: int, text: str, curve: float) -> np.ndarray:
    """The ink of ``text`` in ``face`` at ``size`` px, cropped to the ink plus ``PAD``, bent onto an
    arc of ``curve`` radians (positive: the text's middle raised) when it is not 0; (h, w) ``uint8``.
    A text in a script that needs shaping is laid out by HarfBuzz in its direction
    (:mod:`renderers.backends.shaping`). Cached: a mask is a pure function of its arguments."""
    script = langs.SCRIPTS[langs.detect_script(text)]
    font = shaping.font_for(face, size, script)
    how = {"direction": shaping.direction(script)} if script.shaped else {}
    left, top, right, bottom = font.getbbox(text, **how)
    canvas = Image.new("L", (right - left + 2 * PAD, bottom - top + 2 * PAD), 0)
    ImageDraw.Draw(canvas).text((PAD - left, PAD - top), text, font=font, fill=255, **how)
    mask = np.asarray(canvas)
    if curve:
        mask = _arc(mask, curve)
    x, y, w, h = cv2.boundingRect(mask)  # the ink's extent
    if not w:
        return mask[:0, :0]
    # exactly PAD blank pixels on every side of the ink
    out = cv2.copyMakeBorder(mask[y:y + h, x:x + w], PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0)
    out.flags.writeable = False  # shared through the cache
    return out


def _arc(mask: np.ndarray, angle: float) -> np.ndarray:
    """``mask`` bent onto a circle: the bottom edge of a straight line of text becomes an arc of
    ``|angle|`` radians, each column turned to stay square to it (positive: bowed up, like ∩)."""
    height, width = mask.shape
    radius = width / abs(angle)
    inner, outer = radius, radius + height  # the text's baseline (∩) or top (∪) lies on the inner circle
    half = abs(angle) / 2
    # Extent of the bent strip around the circle's centre (points at the ends and the middle).
    phis = np.linspace(-half, half, 33)
    radii = np.array([inner, outer])
    xs = np.sin(phis)[None, :] * radii[:, None]
    ys = -np.cos(phis)[None, :] * radii[:, None]
    if angle < 0:
        ys = -ys
    x0, y0 = math.floor(xs.min()) - PAD, math.floor(ys.min()) - PAD
    out_w, out_h = math.ceil(xs.max()) + PAD - x0 + 1, math.ceil(ys.max()) + PAD - y0 + 1
    gx, gy = np.meshgrid(np.arange(out_w, dtype=np.float32) + x0, np.arange(out_h, dtype=np.float32) + y0)
    r = np.hypot(gx, gy)
    if angle > 0:  # centre below the text: its top is farthest out
        phi = np.arctan2(gx, -gy)
        src_y = height - (r - inner)
    else:  # centre above the text: its top is nearest
        phi = np.arctan2(gx, gy)
        src_y = r - inner
    src_x = width / 2 + radius * phi
    return cv2.remap(mask, src_x.astype(np.float32), src_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def homography(shape: tuple[int, int], placed: dict[str, Any], focal: float) -> np.ndarray:
    """The 3x3 map from mask pixels (``shape`` = height, width) to image pixels for an instance's
    ``placed`` record: ``scale``, ``tilt`` [about x, about y] and ``angle`` in degrees, ``centre``."""
    height, width = shape
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    points = (corners - [width / 2, height / 2]) * placed["scale"]  # (4, 2), centred
    ax, ay = (math.radians(a) for a in placed["tilt"])
    turn_x = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    turn_y = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    space = np.c_[points, np.zeros(4)] @ (turn_y @ turn_x).T  # (4, 3)
    projected = space[:, :2] * (focal / (focal + space[:, 2:3]))  # pinhole camera at distance focal
    a = math.radians(placed["angle"])
    turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    image_points = projected @ turn.T + placed["centre"]
    return cv2.getPerspectiveTransform(corners.astype(np.float32), image_points.astype(np.float32))


def transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (n, 2) under the homography ``matrix``."""
    return cv2.perspectiveTransform(np.asarray(points, dtype=np.float64)[None], matrix)[0]


def ink_quad(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask's ink rectangle (inside ``PAD``) in the image: (4, 2), clockwise from top left."""
    height, width = shape
    rect = np.array([[PAD, PAD], [width - PAD, PAD], [width - PAD, height - PAD], [PAD, height - PAD]])
    return transform(matrix, rect)


def smallest_scale(matrix: np.ndarray, quad: np.ndarray) -> float:
    """The smallest local scale (square root of the area ratio) of ``matrix`` at the quad's corners,
    taken back to mask pixels: how much the text shrinks where it is drawn smallest."""
    inverse = np.linalg.inv(matrix)
    scales = []
    for corner in quad:
        p = transform(inverse, np.array([corner, corner + [1, 0], corner + [0, 1]]))
        jacobian = np.array([p[1] - p[0], p[2] - p[0]])  # image unit steps in mask pixels
        scales.append(1 / math.sqrt(max(abs(np.linalg.det(jacobian)), 1e-12)))
    return min(scales)


def footprint(quad: np.ndarray, margin: float) -> np.ndarray:
    """The convex hull of ``quad`` grown by ``margin`` px every way: (k, 2) ``float32``."""
    offsets = np.array([[dx, dy] for dx in (-margin, margin) for dy in (-margin, margin)])
    points = (quad[:, None, :] + offsets[None, :, :]).reshape(-1, 2).astype(np.float32)
    return cv2.convexHull(points)[:, 0, :]


def overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    area, _ = cv2.intersectConvexConvex(a, b)
    return area > 0


def box_1000(quad: np.ndarray, size: tuple[int, int]) -> list[int]:
    """The quad's bounding box on GOT's 0-1000 scale, rounded outward so it holds all the ink."""
    width, height = size
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    box = [math.floor(1000 * x0 / width), math.floor(1000 * y0 / height),
           math.ceil(1000 * x1 / width), math.ceil(1000 * y1 / height)]
    return [min(1000, max(0, v)) for v in box]


def reading_order(quads: list[np.ndarray], rtl: bool = False) -> list[int]:
    """Indices in reading order: rows top to bottom, each left to right (``rtl``: right to left), by
    box centre. A row starts at the topmost remaining centre and takes every centre within that
    box's vertical span."""
    boxes = [(q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()) for q in quads]
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]
    left = sorted(range(len(quads)), key=lambda i: (centres[i][1], centres[i][0]))
    order: list[int] = []
    while left:
        anchor = left[0]
        row = [i for i in left if boxes[anchor][1] <= centres[i][1] <= boxes[anchor][3]]
        order += sorted(row, key=lambda i: (-centres[i][0] if rtl else centres[i][0], centres[i][1]))
        left = [i for i in left if i not in row]
    return order
