"""The engine's own checks (pipelines/checks.py) on real images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.render.checks import INK_DISTANCE, MIN_INK_FRACTION, check_sample, grey_histogram, ink_fraction
from renderers.base import Reject, Sample


def ink_by_definition(image: Image.Image) -> float:
    """Share of pixels more than INK_DISTANCE grey levels from the most common level, pixel by pixel."""
    grey = np.asarray(image.convert("L"), dtype=int)
    background = np.bincount(grey.ravel(), minlength=256).argmax()
    return float((np.abs(grey - background) > INK_DISTANCE).mean())


@pytest.mark.parametrize("mode", ["L", "RGB", "P"])
def test_ink_fraction_is_the_share_of_pixels_far_from_the_background(mode: str) -> None:
    rng = np.random.default_rng(0)
    for background in (0, 40, 200, 255):
        pixels = np.full((60, 80), background, dtype=np.uint8)
        spots = rng.random(pixels.shape) < 0.05
        pixels[spots] = rng.integers(0, 256, int(spots.sum()))  # some near the background, some far
        image = Image.fromarray(pixels, "L")
        image = image.convert("RGB") if mode == "RGB" else image.quantize(256) if mode == "P" else image
        assert grey_histogram(image) == image.convert("L").histogram()
        assert ink_fraction(image) == pytest.approx(ink_by_definition(image), abs=1e-12)


def test_blank_and_nearly_blank_images_are_rejected_and_a_drawing_is_not() -> None:
    page = np.full((200, 300), 250, dtype=np.uint8)
    faint = page.copy()
    faint[50:150, 50:250] = 250 - INK_DISTANCE  # a tone change no reader sees as ink
    specks = page.copy()
    specks.ravel()[: int(MIN_INK_FRACTION * page.size) - 1] = 0  # a few dark pixels, below the threshold
    drawn = page.copy()
    drawn[100, 20:280] = 0  # one line of ink
    for pixels in (page, faint, specks):
        with pytest.raises(Reject, match="blank-image"):
            check_sample(Sample([Image.fromarray(pixels, "L")], "text", {}))
    check_sample(Sample([Image.fromarray(drawn, "L")], "text", {}))


def test_empty_target_and_tiny_image_are_rejected() -> None:
    image = Image.new("L", (50, 50), 255)
    with pytest.raises(Reject, match="empty-target"):
        check_sample(Sample([image], "  \n", {}))
    with pytest.raises(Reject, match="tiny-image"):
        check_sample(Sample([Image.new("L", (5, 50), 0)], "x", {}))
