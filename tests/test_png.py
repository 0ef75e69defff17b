"""The shard PNG writer: every mode decodes (with Pillow) to exactly the pixels written."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pipelines.render.png import encode_png


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_grey_and_colour_images_round_trip(mode: str) -> None:
    rng = np.random.default_rng(0)
    bands = len(mode)
    # Random noise exercises the byte wrap-around of the "up" filter; the flat band, long runs.
    pixels = rng.integers(0, 256, size=(37, 53, bands), dtype=np.uint8)
    pixels[10:20] = 255
    image = Image.fromarray(pixels.squeeze(-1) if bands == 1 else pixels, mode)
    back = decoded(encode_png(image, 1))
    assert back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))


def test_palette_image_keeps_indices_and_colours() -> None:
    rng = np.random.default_rng(1)
    image = Image.frombytes("P", (64, 9), rng.integers(0, 256, 64 * 9, dtype=np.uint8).tobytes())
    palette = rng.integers(0, 256, 768, dtype=np.uint8).tobytes()
    image.putpalette(palette, "RGB")
    back = decoded(encode_png(image, 6))
    assert back.mode == "P" and bytes(back.getpalette("RGB")) == palette
    assert np.array_equal(np.asarray(back), np.asarray(image))
    assert np.array_equal(np.asarray(back.convert("RGB")), np.asarray(image.convert("RGB")))


def test_a_short_palette_is_padded_so_the_file_stays_valid() -> None:
    image = Image.new("P", (5, 5), 0)
    image.putpalette([10, 20, 30, 200, 100, 0], "RGB")
    image.putpixel((2, 2), 1)
    back = decoded(encode_png(image))
    assert back.convert("RGB").getpixel((2, 2)) == (200, 100, 0)
    assert back.convert("RGB").getpixel((0, 0)) == (10, 20, 30)


@pytest.mark.parametrize("mode", ["1", "I;16"])
def test_other_modes_are_written_by_pillow(mode: str) -> None:
    image = Image.new(mode, (7, 4))
    image.putpixel((3, 1), 1 if mode == "1" else 40_000)
    back = decoded(encode_png(image))
    assert back.mode == mode and np.array_equal(np.asarray(back), np.asarray(image))


def test_transparent_palette_images_keep_their_transparency() -> None:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 255, 255], "RGB")
    image.info["transparency"] = 0
    assert decoded(encode_png(image)).info.get("transparency") == 0


def test_same_pixels_same_bytes() -> None:
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    assert encode_png(image) == encode_png(image.copy())
    assert len(encode_png(image, 9)) <= len(encode_png(image, 0))


@pytest.mark.parametrize("level", [0, 1, 2, 9])
def test_every_level_round_trips_with_its_own_deflate(level: int) -> None:
    # Level 1 is igzip's and the others zlib's: both must give a stream any PNG reader inflates.
    rng = np.random.default_rng(3)
    pixels = np.cumsum(rng.integers(0, 9, (40, 60, 3)), axis=1).astype(np.uint8)  # a photo-like gradient
    image = Image.fromarray(pixels)
    data = encode_png(image, level)
    assert data == encode_png(image.copy(), level)
    assert np.array_equal(np.asarray(decoded(data)), pixels)
