"""Checks the engine applies to every sample, whatever its renderer: a blank or near-uniform image
and an empty target are rejected. Renderer-specific faithfulness lives in each ``validate``."""

from __future__ import annotations

from PIL import Image

from renderers.base import Reject, Sample

# A pixel counts as ink when its grey level is further than this from the page's dominant level.
INK_DISTANCE = 32
# Below this share of ink pixels an image is treated as blank (a 400×300 molecule has ~2-5 %).
MIN_INK_FRACTION = 0.0005


def ink_fraction(image: Image.Image) -> float:
    """Share of pixels that differ clearly from the dominant grey level (histogram only: fast)."""
    hist = image.convert("L").histogram()
    background = max(range(256), key=hist.__getitem__)
    ink = sum(count for level, count in enumerate(hist) if abs(level - background) > INK_DISTANCE)
    return ink / max(1, sum(hist))


def check_sample(sample: Sample) -> None:
    """Raise :class:`Reject` for a sample no renderer should ever ship."""
    if not isinstance(sample.target, str) or not sample.target.strip():
        raise Reject("empty-target")
    if "\x00" in sample.target:
        raise Reject("nul-in-target")
    if not sample.images:
        raise Reject("no-image")
    if sample.png is not None and len(sample.png) != len(sample.images):
        raise TypeError(f"Sample.png holds {len(sample.png)} files for {len(sample.images)} images")
    for image in sample.images:
        if image.width < 8 or image.height < 8:
            raise Reject("tiny-image", f"{image.width}x{image.height}")
        if ink_fraction(image) < MIN_INK_FRACTION:
            raise Reject("blank-image")
