"""From a clean sample to a degraded one: draw a record of operations from a preset, keep the labels
true, apply the record to every page."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image

from renderers.augment import compression, geometry, lighting, noise, paper
from renderers.augment.base import Canvas, Op
from renderers.augment.presets import PRESETS, Step, check_steps
from renderers.base import Sample

OPS: dict[str, Op] = {op.name: op for module in (geometry, paper, noise, compression, lighting) for op in module.OPS}
for _steps in PRESETS.values():
    check_steps(_steps, OPS)

# Without line boxes to check against, a box may grow (the box of its rotated corners) by this many
# pixels a side: less than the gap between its lines and the next ones on any page drawn so far.
BOX_GROWTH_PX = 2.0


def augment(sample: Sample, preset: str, rng: np.random.Generator) -> Sample:
    """``sample`` as the device ``preset`` names would give it (see :data:`PRESETS`); a pure function
    of ``rng``. The meta gains ``augment``: {preset, ops: [{op, parameters…, refused?}]} (and
    ``matrix`` per page when the page moved); a box-guided sample's ``box`` is the mapped box."""
    if preset not in PRESETS:
        raise ValueError(f"unknown augment preset {preset!r}; known: {sorted(PRESETS)}")
    return augment_steps(sample, PRESETS[preset], rng, preset)


def check_weights(weights: Mapping[str, float]) -> None:
    """Raise ``ValueError`` unless ``weights`` maps known presets to non-negative weights with a
    positive sum (a render config's ``augment: {preset: weight, …}``)."""
    unknown = sorted(set(weights) - set(PRESETS))
    if unknown:
        raise ValueError(f"unknown augment presets {unknown}; known: {sorted(PRESETS)}")
    values = list(weights.values())
    if not values or min(values) < 0 or sum(values) <= 0:
        raise ValueError(f"augment weights must be non-negative with a positive sum, found {dict(weights)}")


def pick_preset(weights: Mapping[str, float], rng: np.random.Generator) -> str:
    """One preset drawn by weight (names sorted first, so a config's key order does not matter)."""
    check_weights(weights)
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def augment_mix(sample: Sample, weights: Mapping[str, float], rng: np.random.Generator) -> Sample:
    """:func:`augment` with a preset drawn from a render config's ``augment: {preset: weight, …}``."""
    return augment(sample, pick_preset(weights, rng), rng)


def augment_steps(sample: Sample, steps: Sequence[Step], rng: np.random.Generator, name: str = "custom") -> Sample:
    """:func:`augment` with a table of steps of one's own (see :mod:`renderers.augment.presets`)."""
    check_steps(tuple(steps), OPS)
    canvases: list[Canvas | None] = [None] * len(sample.images)

    def canvas(page: int) -> Canvas:
        if canvases[page] is None:
            canvases[page] = Canvas.from_image(sample.images[page], page)
        return canvases[page]  # type: ignore[return-value]

    sizes = [image.size for image in sample.images]
    ink_box = functools.cache(lambda page: canvas(page).ink_box())  # of the clean page: asked once per page
    record, box = _plan(steps, sizes, ink_box, sample.meta, rng)
    record = {"preset": name, **record}
    meta = copy.deepcopy(sample.meta)
    meta["augment"] = record
    if box is not None:
        record["clean_box"] = meta["box"]
        meta["box"] = box
    if all("refused" in op for op in record["ops"]):  # nothing touched the pixels
        return Sample(list(sample.images), sample.target, meta, sample.png)
    images = [_apply(canvas(page), record["ops"]).to_image() for page in range(len(sample.images))]
    return Sample(images, sample.target, meta, None)


def apply_record(images: Sequence[Image.Image], record: Mapping[str, Any]) -> list[Image.Image]:
    """The pages as an ``augment`` record (from a sample's meta) says: the same bytes as the run
    that made it, with the same library versions."""
    return [_apply(Canvas.from_image(image, page), record["ops"]).to_image() for page, image in enumerate(images)]


# -- drawing the record ------------------------------------------------------------------------


def _plan(
    steps: Sequence[Step], sizes: list[tuple[int, int]], ink_box: Callable[[int], Any],
    meta: Mapping[str, Any], rng: np.random.Generator,
) -> tuple[dict[str, Any], list[int] | None]:
    """The record of operations (each step's chance and parameters drawn whatever the sample, so
    the generator's use does not depend on it) and the mapped box (None when nothing moved)."""
    ops: list[dict[str, Any]] = []
    matrices = [np.eye(3) for _ in sizes]
    moved = False
    for s in steps:
        if rng.random() >= s.p:
            continue
        op = OPS[s.op]
        params = {"op": s.op, **op.sample(rng, s.ranges)}
        if op.hue and "color" in meta:
            params["refused"] = "color-sample"  # the frame's colour names the target
        elif op.kind == "geometry":
            candidate = [op.matrix(params, size) @ m for size, m in zip(sizes, matrices, strict=True)]
            reason = _refusal(candidate, sizes, ink_box, meta)
            if reason:
                params["refused"] = reason
            else:
                matrices, moved = candidate, True
        ops.append(params)
    record: dict[str, Any] = {"ops": ops}
    if not moved:
        return record, None
    record["matrix"] = [[[round(float(v), 8) for v in row] for row in m] for m in matrices]
    box = _mapped_box(meta["box"], matrices[0], sizes[0]) if "box" in meta else None
    return record, box


def _refusal(
    matrices: list[np.ndarray], sizes: list[tuple[int, int]], ink_box: Callable[[int], Any], meta: Mapping[str, Any]
) -> str | None:
    """Why a placement would make a label false, or None: ink (text, a colour frame) carried out
    of frame, or a box-guided region cut, or made to hold other lines than its own."""
    for page, (matrix, size) in enumerate(zip(matrices, sizes, strict=True)):
        ink = ink_box(page)
        if ink is not None and not _inside(_map(matrix, _corners(ink)), size):
            return "ink-out-of-frame"
    if "box" not in meta:
        return None
    matrix, size = matrices[0], sizes[0]
    region = _box_px(meta["box"], size)
    quad = _map(matrix, _corners(region))
    if not _inside(quad, size):
        return "box-out-of-frame"
    lines = meta.get("line_boxes")
    if lines:  # a renderer's pixel boxes of its lines (text-page): each keeps its side of the box
        centres = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in lines], dtype=np.float64)
        mapped = _box_px(_mapped_box(meta["box"], matrix, size), size)
        if not np.array_equal(_holds(region, centres), _holds(mapped, _map(matrix, centres))):
            return "box-content-changes"
    elif _growth(quad) > BOX_GROWTH_PX:
        return "box-grows"
    return None


def _corners(box: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _map(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.c_[points, np.ones(len(points))] @ matrix.T
    return homogeneous[:, :2] / homogeneous[:, 2:]


def _inside(points: np.ndarray, size: tuple[int, int]) -> bool:
    return bool((points >= 0).all() and (points[:, 0] <= size[0]).all() and (points[:, 1] <= size[1]).all())


def _holds(box: Sequence[float], points: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    return (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)


def _box_px(box: Sequence[float], size: tuple[int, int]) -> list[float]:
    width, height = size
    return [box[0] * width / 1000, box[1] * height / 1000, box[2] * width / 1000, box[3] * height / 1000]


def _mapped_box(box: Sequence[float], matrix: np.ndarray, size: tuple[int, int]) -> list[int]:
    """The box of the mapped corners on the 0-1000 scale, rounded outwards (the region stays whole)."""
    quad = _map(matrix, _corners(_box_px(box, size)))
    width, height = size
    low = [math.floor(1000 * quad[:, 0].min() / width), math.floor(1000 * quad[:, 1].min() / height)]
    high = [math.ceil(1000 * quad[:, 0].max() / width), math.ceil(1000 * quad[:, 1].max() / height)]
    return [min(1000, max(0, v)) for v in (*low, *high)]


def _growth(quad: np.ndarray) -> float:
    """How far, per side, the box of a mapped box's corners reaches beyond the mapped box itself."""
    edge = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)  # top, right, bottom, left
    extra_w = quad[:, 0].max() - quad[:, 0].min() - (edge[0] + edge[2]) / 2
    extra_h = quad[:, 1].max() - quad[:, 1].min() - (edge[1] + edge[3]) / 2
    return float(max(extra_w, extra_h)) / 2


# -- applying it --------------------------------------------------------------------------------


def _apply(canvas: Canvas, ops: Sequence[Mapping[str, Any]]) -> Canvas:
    """Run a record's operations on one page; consecutive geometric ones as one warp."""
    pending: np.ndarray | None = None
    background: Any = "paper"
    for params in ops:
        if "refused" in params:
            continue
        op = OPS[params["op"]]
        if op.kind == "geometry":
            matrix = op.matrix(params, canvas.size)  # type: ignore[attr-defined]
            pending = matrix if pending is None else matrix @ pending
            if params.get("background", "paper") != "paper":  # the desk, not the paper, shows around
                background = params["background"]
            continue
        if pending is not None:
            canvas, pending, background = _warp(canvas, pending, background), None, "paper"
        canvas = op.apply(canvas, params)
    if pending is not None:
        canvas = _warp(canvas, pending, background)
    return canvas


def _warp(canvas: Canvas, matrix: np.ndarray, background: Any) -> Canvas:
    fill = canvas.paper() if background == "paper" else canvas.tone_of_grey(int(background))
    border = tuple(float(v) for v in fill) if canvas.channels == 3 else float(fill[0])
    flags = {"flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT, "borderValue": border}
    if np.array_equal(matrix[2], [0.0, 0.0, 1.0]):
        canvas.pixels = cv2.warpAffine(canvas.pixels, matrix[:2], canvas.size, **flags)
    else:
        canvas.pixels = cv2.warpPerspective(canvas.pixels, matrix, canvas.size, **flags)
    return canvas
