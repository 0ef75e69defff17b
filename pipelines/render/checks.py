"""Checks the engine applies to every sample, whatever its renderer: a blank or near-uniform image
and an empty target are rejected. Renderer-specific faithfulness lives in each ``validate``."""

from __future__ import annotations

from PIL import Image

from renderers.base import Reject, Sample

# A pixel counts as ink when its grey level is further than this from the page's dominant level.
INK_DISTANCE = 32
# Below this share of ink pixels an image is treated as blank (a 400×300 molecule has ~2-5 %).
MIN_INK_FRACTION = 0.0005


def grey_histogram(image: Image.Image) -> list[int]:
    """Pixel counts per grey level (0-255), as ``image.convert("L").histogram()`` gives them.

    A palette image is counted by palette index and each index mapped to its colour's grey level,
    which is the same histogram without converting every pixel (a text page: 0.3 ms, not 2.7)."""
    palette = image.getpalette("RGB") if image.mode == "P" and "transparency" not in image.info else None
    if not palette:
        return image.convert("L").histogram()
    greys = Image.frombytes("RGB", (len(palette) // 3, 1), bytes(palette)).convert("L").tobytes()
    hist = [0] * 256
    for index, count in enumerate(image.histogram()[: len(greys)]):
        hist[greys[index]] += count
    return hist


def ink_fraction(image: Image.Image) -> float:
    """Share of pixels that differ clearly from the dominant grey level (histogram only: fast)."""
    hist = grey_histogram(image)
    background = max(range(256), key=hist.__getitem__)
    near = sum(hist[max(0, background - INK_DISTANCE) : background + INK_DISTANCE + 1])
    total = sum(hist)
    return (total - near) / max(1, total)


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
