"""Text colours that stay readable: WCAG 2's relative luminance and contrast ratio, measured
against the background under each text instance.

Relative luminance is WCAG 2.x's (sRGB channels linearised, weighted 0.2126, 0.7152, 0.0722); the
contrast ratio of two luminances is ``(lighter + 0.05) / (darker + 0.05)``, from 1 to 21. A region
is summarised by the 10th and 90th percentiles of its pixels' luminance, so a busy photo counts as
both its dark and its light parts; a fill is readable when it is darker than the darker level or
lighter than the lighter one, by at least the threshold ratio (3, WCAG's AA level for large text,
by default): a fill between the two levels matches part of the region, whatever its ratios. An outline can carry the contrast
instead: a fill whose edge is an outline of contrasting colour reads on any background.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_LINEAR = np.where(
    (c := np.arange(256) / 255) <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4
).astype(np.float32)  # sRGB byte -> linear light
_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
CANDIDATES = 24  # colours drawn per instance; the first readable one is used


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of ``uint8`` RGB values: (..., 3) -> (...)."""
    return _LINEAR[rgb] @ _WEIGHTS


def contrast(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """WCAG contrast ratio of two luminances (either order), from 1 to 21."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


def region_levels(pixels: np.ndarray) -> tuple[float, float]:
    """The 10th and 90th percentiles of the luminance of ``pixels`` (n, 3)."""
    lum = luminance(pixels)
    low, high = np.percentile(lum, (10, 90)) if len(lum) else (0.0, 0.0)
    return round(float(low), 4), round(float(high), 4)


def sample_candidates(rng: np.random.Generator) -> np.ndarray:
    """``CANDIDATES`` colours, (n, 3) ``uint8``: any hue and saturation, half of them dark, half light."""
    hue = rng.uniform(0, 6, CANDIDATES)
    saturation = rng.uniform(0, 0.9, CANDIDATES)
    value = np.where(rng.random(CANDIDATES) < 0.5, rng.uniform(0.0, 0.35, CANDIDATES),
                     rng.uniform(0.75, 1.0, CANDIDATES))
    # HSV to RGB for every candidate at once.
    k = (np.array([5, 3, 1])[None, :] + hue[:, None]) % 6  # (n, 3)
    rgb = value[:, None] * (1 - saturation[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1))
    return np.rint(rgb * 255).astype(np.uint8)


def choose_colours(candidates: np.ndarray, levels: tuple[float, float], outline: bool,
                   threshold: float) -> dict[str, Any] | None:
    """The fill (and outline) colour of an instance over a region of ``levels``, or ``None`` when
    no candidate reads: the first candidate beyond both levels by ``threshold``; else,
    with an outline, the fill that contrasts most with the region inside the candidate outline
    that contrasts most with it."""
    lum = luminance(candidates)  # (n,)
    low, high = levels
    outside = (lum < low) | (lum > high)  # a fill inside the region's range matches part of it
    to_region = np.where(outside, np.minimum(contrast(lum, low), contrast(lum, high)), 1.0)  # (n,)
    readable = np.flatnonzero(to_region >= threshold)
    fill = int(readable[0]) if len(readable) else int(np.argmax(to_region))
    ratio, by = float(to_region[fill]), "fill"
    edge = contrast(lum, lum[fill])
    line = int(np.argmax(edge))
    if not len(readable):
        if not outline or edge[line] < threshold:
            return None
        ratio, by = float(edge[line]), "outline"
    return {
        "fill": candidates[fill].tolist(), "outline": candidates[line].tolist(),
        "contrast": round(ratio, 3), "contrast_by": by, "region_luminance": list(levels),
    }
