"""The presets: which device a degraded page seems to come from, as tables of steps.

A step names an operation, the chance it runs on a sample, and ranges for its parameters
(:func:`renderers.augment.base.draw`: ``(low, high)`` floats or ints, a list of choices, or a
value); parameters a step leaves out take the operation's defaults. Steps run in order, as the
page meets them: paper and ink, placement, light, optics, sensor, encoding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from renderers.augment.base import check_spec


@dataclasses.dataclass(frozen=True)
class Step:
    op: str
    p: float
    ranges: Mapping[str, Any]


def step(op: str, p: float = 1.0, **ranges: Any) -> Step:
    return Step(op, p, ranges)


PRESETS: dict[str, tuple[Step, ...]] = {
    "clean": (),
    # A flatbed or sheet-fed office scanner: a slight skew, the paper's texture, a soft lens, grain, JPEG.
    "scan": (
        step("paper_texture", 0.6, strength=(0.02, 0.07), scale=(0.02, 0.08)),
        step("ink_fade", 0.2, amount=(0.05, 0.3)),
        step("rotate", 0.6, angle=(-1.0, 1.0)),
        step("gradient", 0.3, low=(0.9, 0.98)),
        step("blur", 0.4, sigma=(0.3, 0.8)),
        step("noise", 0.6, sigma=(1.5, 4.0)),
        step("jpeg", 0.4, quality=(70, 95)),
    ),
    # A photocopy: grey, hard contrast, toner that spreads, specks and drum streaks, a dark edge.
    "photocopy": (
        step("grey"),
        step("rotate", 0.7, angle=(-1.5, 1.5)),
        step("ink_bleed", 0.6, size=[2, 3], amount=(0.3, 0.8)),
        step("levels", 1.0, black=(20, 60), white=(190, 235), gamma=(0.8, 1.2)),
        step("shadow", 0.3, depth=(0.01, 0.04), tilt=(-2.0, 2.0), darkness=(0.3, 0.7), softness=(0.003, 0.01)),
        step("fold", 0.15),
        step("streaks", 0.3, count=(1, 4), width=(1, 3), darkness=(0.1, 0.4)),
        step("speckle", 0.7, density=(50, 400), size=[1, 2, 3]),
        step("noise", 0.5, sigma=(2.0, 5.0)),
    ),
    # A fax: grey, coarse rows, two levels, dropouts and specks, scan-line streaks.
    "fax": (
        step("grey"),
        step("rotate", 0.5, angle=(-1.5, 1.5)),
        step("resample", 1.0, scale_x=(0.8, 1.0), scale_y=(0.6, 0.85), interpolation=["linear", "nearest"]),
        step("blur", 0.4, sigma=(0.3, 0.7)),
        step("binarize", 1.0),
        step("speckle", 0.6, density=(100, 600), size=[1, 2], darkness=1.0),
        step("speckle", 0.3, density=(100, 400), size=[1, 2], tone="light", darkness=1.0),
        step("streaks", 0.3, orientation="horizontal", width=1, darkness=(0.2, 0.5)),
    ),
    # A phone photo: the page at an angle on a desk, coloured uneven light, a shadow, lens blur,
    # sensor noise, strong JPEG.
    "camera": (
        step("perspective", 0.9, inset=(0.0, 0.07), background=(30, 140)),
        step("rotate", 0.6, angle=(-3.0, 3.0), background=(30, 140)),
        step("tint", 0.6),
        step("gradient", 0.6, low=(0.65, 0.95)),
        step("vignette", 0.5, strength=(0.1, 0.35)),
        step("shadow", 0.4),
        step("blur", 0.6, sigma=(0.4, 1.2)),
        step("motion_blur", 0.25, length=(3, 5)),
        step("noise", 0.9, sigma=(3.0, 8.0)),
        step("jpeg", 0.9, quality=(40, 85)),
    ),
}


def check_steps(steps: tuple[Step, ...], ops: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming what is wrong with a table of steps (unknown operation or
    parameter, a chance outside [0, 1], a malformed range)."""
    for s in steps:
        if s.op not in ops:
            raise ValueError(f"unknown augment operation {s.op!r}; known: {sorted(ops)}")
        if not 0 <= s.p <= 1:
            raise ValueError(f"step {s.op}: p must be in [0, 1], found {s.p}")
        unknown = set(s.ranges) - set(ops[s.op].defaults)
        if unknown:
            raise ValueError(f"step {s.op}: unknown parameters {sorted(unknown)}; known: {list(ops[s.op].defaults)}")
        for spec in s.ranges.values():
            check_spec(spec)
