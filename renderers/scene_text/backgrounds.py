"""Backgrounds of scene-text images: photographs (scikit-image's sample images, or a user folder)
and procedural textures, each sampled into a record and then drawn from the record alone.

Built-in photos are read from the data folder of the installed scikit-image wheel, the files it
ships (``skimage.data`` fetches its other images over the network; none of those is used, and the
package is never imported, only located). Their licences, as its ``skimage.data`` docstrings give
them: astronaut, rocket and hubble_deep_field are NASA's or SpaceX's public-domain photographs;
brick, grass and gravel are CC0 textures; camera, chelsea and coffee are CC0 photographs.

A photo background is a crop of the photo (``crop`` = x, y, width, height in the photo's pixels)
scaled to the image, maybe mirrored, its levels scaled (``gain``, ``bias``) and, for a grey photo,
maybe multiplied by a colour (``tint``). A texture is ``noise`` (value noise between two colours,
from a recorded seed), ``gradient`` (linear or radial, two colours) or ``stripes`` (two colours,
any angle, hard or soft edges).
"""

from __future__ import annotations

import collections
import importlib.util
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

BUILTIN_PHOTO_FILES = {
    "astronaut": "astronaut.png", "brick": "brick.png", "camera": "camera.png", "chelsea": "chelsea.png",
    "coffee": "coffee.png", "grass": "grass.png", "gravel": "gravel.png", "rocket": "rocket.jpg",
    "hubble_deep_field": "hubble_deep_field.jpg",
}
BUILTIN_PHOTOS = tuple(BUILTIN_PHOTO_FILES)
TEXTURES = ("noise", "gradient", "stripes")
USER_MAX_SIDE = 2048  # user photos are decoded at most this large: backgrounds are at most ~1k px
USER_CACHE = 32  # decoded user photos kept per renderer


def skimage_data_dir() -> Path:
    """The ``data`` folder of the installed scikit-image, found without importing it."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scene-text's built-in photos come from scikit-image's wheel; "
                           "install it with `pip install scikit-image` (a gotforge dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def builtin_photo_paths(names: tuple[str, ...]) -> dict[str, Path]:
    """Each named photo's file in scikit-image's data folder; an error names the ones missing."""
    folder = skimage_data_dir()
    paths = {name: folder / BUILTIN_PHOTO_FILES[name] for name in names}
    missing = [str(p.name) for p in paths.values() if not p.is_file()]
    if missing:
        raise RuntimeError(f"scikit-image's data folder {folder} lacks {', '.join(missing)}, which its wheel "
                           f"ships; reinstall scikit-image, or leave those names out of the photos option")
    return paths


class Photos:
    """Decoded photos (RGB or grey ``uint8`` arrays) by key: built-ins kept, user photos in a small
    LRU; a photo is a pure function of its file, so the cache changes speed, never output."""

    def __init__(self, builtin: dict[str, Path]) -> None:
        self.builtin = builtin
        self.decoded: dict[str, np.ndarray] = {}
        self.user: collections.OrderedDict[str, np.ndarray] = collections.OrderedDict()

    def get(self, source: str) -> np.ndarray:
        if source.startswith("skimage:"):
            name = source.removeprefix("skimage:")
            if name not in self.decoded:
                self.decoded[name] = _decode(self.builtin[name], max_side=None)
            return self.decoded[name]
        if source in self.user:
            self.user.move_to_end(source)
            return self.user[source]
        array = self.user[source] = _decode(Path(source), USER_MAX_SIDE)
        if len(self.user) > USER_CACHE:
            self.user.popitem(last=False)
        return array


def _decode(path: Path, max_side: int | None) -> np.ndarray:
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)  # phone photos are stored sideways with an EXIF turn
        if max_side is not None and max(image.size) > max_side:
            image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        grey = image.mode in ("L", "I;16", "I", "1", "LA")
        return np.ascontiguousarray(np.asarray(image.convert("L" if grey else "RGB")))


def sample_background(rng: np.random.Generator, kind: str, source: str, photo: np.ndarray | None,
                      size: tuple[int, int], tint_p: float) -> dict[str, Any]:
    """The record of one background of ``size`` (width, height): a crop of ``photo`` (named
    ``source``), or a texture of kind ``source``."""
    width, height = size
    colours = rng.integers(0, 256, size=(2, 3))
    if kind == "texture":
        record: dict[str, Any] = {"kind": "texture", "source": source, "colours": colours.tolist()}
        if source == "noise":
            record.update(cells=int(rng.integers(2, 11)), grain=round(float(rng.uniform(0, 0.15)), 3),
                          noise_seed=int(rng.integers(2**31)))
        elif source == "gradient":
            record.update(shape=str(rng.choice(["linear", "radial"])), angle=round(float(rng.uniform(0, 360)), 1),
                          centre=[round(float(v), 3) for v in rng.uniform(0, 1, 2)])
        else:
            record.update(period=int(rng.integers(8, 81)), angle=round(float(rng.uniform(0, 180)), 1),
                          duty=round(float(rng.uniform(0.2, 0.8)), 3), soft=bool(rng.random() < 0.5))
        return record
    assert photo is not None
    photo_h, photo_w = photo.shape[:2]
    least = max(width / photo_w, height / photo_h)  # the scale at which the crop is the whole photo
    scale = least * float(rng.uniform(1.0, 2.5))
    crop_w, crop_h = min(photo_w, max(1, round(width / scale))), min(photo_h, max(1, round(height / scale)))
    x, y = (int(rng.integers(0, side - crop + 1)) for side, crop in ((photo_w, crop_w), (photo_h, crop_h)))
    grey = photo.ndim == 2
    tint = [int(v) for v in rng.integers(96, 256, 3)] if grey and rng.random() < tint_p else [255, 255, 255]
    return {
        "kind": "photo", "source": source, "crop": [x, y, crop_w, crop_h], "flip": bool(rng.random() < 0.5),
        "gain": round(float(rng.uniform(0.8, 1.2)), 3), "bias": round(float(rng.uniform(-20, 20)), 1),
        "tint": tint,
    }


def draw_background(record: dict[str, Any], size: tuple[int, int], photo: np.ndarray | None) -> np.ndarray:
    """The background a record describes: an (height, width, 3) ``uint8`` RGB array."""
    if record["kind"] == "photo":
        assert photo is not None
        return _photo(record, size, photo)
    colours = np.asarray(record["colours"], dtype=np.float32)
    t = {"noise": _noise, "gradient": _gradient, "stripes": _stripes}[record["source"]](record, size)  # (h, w)
    return _two_colours(t, colours[0], colours[1])


def _photo(record: dict[str, Any], size: tuple[int, int], photo: np.ndarray) -> np.ndarray:
    x, y, w, h = record["crop"]
    out = photo[y:y + h, x:x + w]
    small_crop = w * h < size[0] * size[1]
    if small_crop:  # levels on the fewer pixels: before an enlargement, after a reduction
        out = _levels(out, record)
    out = cv2.resize(out, size, interpolation=cv2.INTER_LINEAR if small_crop else cv2.INTER_AREA)
    if not small_crop:
        out = _levels(out, record)
    return cv2.flip(out, 1) if record["flip"] else out


def _levels(pixels: np.ndarray, record: dict[str, Any]) -> np.ndarray:
    """``pixels`` (grey or RGB) as RGB, scaled by ``gain``, shifted by ``bias`` and multiplied by ``tint``."""
    levels = np.arange(256, dtype=np.float32) * record["gain"] + record["bias"]  # (256,)
    if pixels.ndim == 2 and record["tint"] == [255, 255, 255]:  # grey stays grey: one channel to map
        grey = cv2.LUT(pixels, np.rint(np.clip(levels, 0, 255)).astype(np.uint8))
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    if pixels.ndim == 2:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    lut = np.clip(levels[:, None] * (np.asarray(record["tint"], np.float32) / 255), 0, 255)  # (256, RGB)
    return cv2.LUT(np.ascontiguousarray(pixels), np.rint(lut).astype(np.uint8).reshape(256, 1, 3))


def _two_colours(t: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Blend ``first`` to ``second`` by ``t`` in 0-1, through a 256-entry lookup table."""
    index = np.clip(t * 255 + 0.5, 0, 255).astype(np.uint8)  # (h, w)
    lut = np.rint(first + (second - first) * (np.arange(256, dtype=np.float32)[:, None] / 255))
    return cv2.LUT(cv2.merge([index, index, index]), lut.astype(np.uint8).reshape(256, 1, 3))


def _noise(record: dict[str, Any], size: tuple[int, int]) -> np.ndarray:
    width, height = size
    rng = np.random.default_rng(record["noise_seed"])
    cells = record["cells"]
    grid = rng.random((max(2, round(cells * height / min(size))), max(2, round(cells * width / min(size)))))
    t = cv2.resize(grid.astype(np.float32), size, interpolation=cv2.INTER_CUBIC)
    grain = rng.random((max(2, height // 2), max(2, width // 2)), dtype=np.float32) - 0.5
    t += cv2.resize(grain, size, interpolation=cv2.INTER_LINEAR) * (2 * record["grain"])
    return t


def _coordinates(size: tuple[int, int], angle: float) -> np.ndarray:
    """Each pixel's distance along direction ``angle`` (degrees), from the image's centre: (h, w)."""
    width, height = size
    a = math.radians(angle)
    xs = (np.arange(width, dtype=np.float32) - width / 2) * math.cos(a)
    ys = (np.arange(height, dtype=np.float32) - height / 2) * math.sin(a)
    return ys[:, None] + xs[None, :]


def _gradient(record: dict[str, Any], size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if record["shape"] == "linear":
        a = math.radians(record["angle"])
        reach = abs(width * math.cos(a)) + abs(height * math.sin(a))
        return _coordinates(size, record["angle"]) / reach + 0.5
    cx, cy = record["centre"][0] * width, record["centre"][1] * height
    xs = (np.arange(width, dtype=np.float32) - cx) ** 2
    ys = (np.arange(height, dtype=np.float32) - cy) ** 2
    return np.sqrt(ys[:, None] + xs[None, :]) / math.hypot(width, height)


def _stripes(record: dict[str, Any], size: tuple[int, int]) -> np.ndarray:
    """The stripe profile repeated along a strip as long as the image's diagonal, and the strip read
    once a pixel along the stripes' normal by an affine warp (cheaper than evaluating the profile
    per pixel, and than a wrapping warp)."""
    period, duty = record["period"], record["duty"]
    steps = (np.arange(period, dtype=np.float32) + 0.5) / period
    profile = 0.5 - 0.5 * np.cos(2 * np.pi * steps) if record["soft"] else (steps < duty).astype(np.float32)
    width, height = size
    shift = period * math.ceil(math.hypot(width, height) / 2 / period)  # whole periods: the phase stays
    strip = np.repeat(np.resize(profile, 2 * shift + 2)[None, :], 2, axis=0)  # (2, length): two rows for the warp
    a = math.radians(record["angle"])
    # dst (x, y) -> src (u, 0), u the distance along the normal from the image's centre, plus shift.
    to_strip = np.array([[math.cos(a), math.sin(a), shift - (width * math.cos(a) + height * math.sin(a)) / 2],
                         [0.0, 0.0, 0.0]], dtype=np.float64)
    return cv2.warpAffine(strip, to_strip, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
