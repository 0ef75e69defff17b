"""What every degradation operation shares: the page being degraded (:class:`Canvas`), the operation
protocol (:class:`Op`, :class:`GeometricOp`, :class:`PointOp`), and how a parameter is drawn from
a preset's range (:func:`draw`).

An operation is SynthTIGER-style: :meth:`Op.sample` draws its parameters into a plain JSON record,
:meth:`Op.apply` applies a record to one page. Applying never draws from the sample's generator: a
texture (noise, speckles, paper fibres) comes from ``default_rng([record["seed"], page])``, so a
multi-page sample gets one scanner (the same record) and a fresh sheet of paper per page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np
from PIL import Image

# The engine runs one worker process per core; OpenCV's own thread pool would oversubscribe them.
cv2.setNumThreads(1)

# A pixel is ink when its grey level is further than this from the paper's (as the engine's blank check).
INK_DISTANCE = 32
# Luma weights (ITU-R BT.601, as PIL's and OpenCV's grey conversions).
LUMA = np.array([0.299, 0.587, 0.114])


@dataclasses.dataclass
class Canvas:
    """One page being degraded.

    ``pixels`` is (H, W) or (H, W, 3) uint8. A one-channel canvas is a grey page, or, when
    ``colormap`` is set, a *tone* page: pixel value ``v`` has the colour ``colormap[v]`` and tones
    are ordered from dark to light, so operations treat it as a grey page while its colours (paper
    tone, ink tint) ride along in 256 palette entries. Text-page's palette pages arrive this way,
    which keeps degrading them one channel wide and writing them as palette PNGs.
    """

    pixels: np.ndarray
    colormap: np.ndarray | None
    page: int

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else 3

    @classmethod
    def from_image(cls, image: Image.Image, page: int) -> Canvas:
        if image.mode == "P" and "transparency" not in image.info:
            ramp = _ramp(image.getpalette("RGB") or [])
            if ramp is not None:
                index = np.asarray(image)
                if ramp[0]:  # index 0 is the light end: tone = 255 - index
                    return cls(cv2.bitwise_not(index), ramp[1][::-1].copy(), page)
                return cls(np.array(index), ramp[1], page)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
        if image.mode in ("L", "1", "I", "I;16", "F"):
            return cls(np.array(image.convert("L")), None, page)
        return cls(np.array(image.convert("RGB")), None, page)

    def to_image(self) -> Image.Image:
        if self.channels == 3:
            return Image.fromarray(self.pixels, "RGB")
        if self.colormap is None:
            return Image.fromarray(self.pixels, "L")
        if np.array_equal(self.colormap[:, 0], self.colormap[:, 1]) and np.array_equal(
            self.colormap[:, 0], self.colormap[:, 2]
        ):  # a neutral colormap is a grey image
            return Image.fromarray(cv2.LUT(self.pixels, self.colormap[:, 0].copy()), "L")
        image = Image.frombytes("P", self.size, np.ascontiguousarray(self.pixels).tobytes())
        image.putpalette(self.colormap.tobytes(), "RGB")
        return image

    def grey(self) -> np.ndarray:
        """A one-channel plane ordered by brightness (tones are, by construction)."""
        return self.pixels if self.channels == 1 else cv2.cvtColor(self.pixels, cv2.COLOR_RGB2GRAY)

    def paper(self) -> tuple[int, ...]:
        """The dominant value per channel (the paper), from a sparse grid of pixels."""
        grid = self.pixels[::4, ::4]
        grey = grid if grid.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(grid), cv2.COLOR_RGB2GRAY)
        level = int(np.argmax(np.bincount(grey.ravel(), minlength=256)))
        if self.channels == 1:
            return (level,)
        return tuple(int(v) for v in np.rint(grid[grey == level].mean(axis=0)))

    def tone_of_grey(self, grey: int) -> tuple[int, ...]:
        """The pixel value that shows the grey level ``grey`` (the nearest tone on a tone page)."""
        if self.channels == 3:
            return (grey, grey, grey)
        if self.colormap is None:
            return (grey,)
        return (int(np.argmin(np.abs(self.colormap @ LUMA - grey))),)

    def ink_box(self) -> tuple[int, int, int, int] | None:
        """Pixel box [x0, y0, x1, y1) of everything that is not paper, or None for a blank page."""
        grey = self.grey()
        paper = int(np.argmax(np.bincount(grey[::4, ::4].ravel(), minlength=256)))
        _, mask = cv2.threshold(cv2.absdiff(grey, paper), INK_DISTANCE, 255, cv2.THRESH_BINARY)
        x, y, w, h = cv2.boundingRect(mask)
        return (x, y, x + w, y + h) if w and h else None

    def texture_rng(self, params: Mapping[str, Any]) -> np.random.Generator:
        return np.random.default_rng([int(params["seed"]), self.page])

    def scale(self, field: np.ndarray) -> None:
        """Multiply every channel by ``field`` (H, W) uint8, 255 = 1 (light and paper tone are neutral)."""
        if self.channels == 3:
            field = cv2.cvtColor(field, cv2.COLOR_GRAY2RGB)
        self.pixels = cv2.multiply(self.pixels, field, scale=1 / 255)

    def broadcast(self, plane: np.ndarray) -> np.ndarray:
        """A one-channel plane shaped like the pixels."""
        return plane if self.channels == 1 else cv2.cvtColor(plane, cv2.COLOR_GRAY2RGB)


def _ramp(palette: list[int]) -> tuple[bool, np.ndarray] | None:
    """(index 0 is the light end, the palette as (256, 3)) when the palette runs in a straight line
    from one colour to another over all 256 entries (paper to ink), else None."""
    if len(palette) < 768:
        return None
    colours = np.asarray(palette[:768], dtype=np.uint8).reshape(256, 3)
    ends = colours[[0, -1]].astype(np.float64)
    line = ends[0] + (ends[1] - ends[0]) * np.arange(256)[:, None] / 255
    if np.abs(colours - line).max() > 1 or np.array_equal(ends[0], ends[1]):
        return None
    return bool(ends[0] @ LUMA > ends[1] @ LUMA), colours


def draw(rng: np.random.Generator, spec: Any) -> Any:
    """One parameter from a preset's spec: ``(low, high)`` of floats → uniform (4 decimals, so the
    record replays exactly), of ints → integer in [low, high]; a list → one of its items; else the
    value itself."""
    if isinstance(spec, tuple):
        low, high = spec
        if isinstance(low, int) and isinstance(high, int):
            return int(rng.integers(low, high + 1))
        return round(float(rng.uniform(low, high)), 4)
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    return spec


def check_spec(spec: Any) -> None:
    if isinstance(spec, tuple):
        if len(spec) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec):
            raise ValueError(f"a range is (low, high) of numbers, found {spec!r}")
        if spec[0] > spec[1]:
            raise ValueError(f"a range needs low <= high, found {spec!r}")
    elif isinstance(spec, list) and not spec:
        raise ValueError("a list of choices needs at least one item")


class Op:
    """One degradation. ``defaults`` names its parameters (in drawing order) with their default spec."""

    name: ClassVar[str]
    kind: ClassVar[str]  # geometry, paper, noise, compression or lighting
    hue: ClassVar[bool] = False  # changes colours' hue: refused on colour-guided samples
    seeded: ClassVar[bool] = False  # draws a texture per page: its record holds a seed
    defaults: ClassVar[dict[str, Any]] = {}

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any]) -> dict[str, Any]:
        params = {key: draw(rng, spec.get(key, default)) for key, default in self.defaults.items()}
        if self.seeded:
            params["seed"] = int(rng.integers(2**31))
        return params

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        raise NotImplementedError


class GeometricOp(Op):
    """A change of where pixels are: a 3×3 matrix from input to output pixel coordinates (same size).
    The pipeline composes consecutive ones into a single warp and maps the sample's box through it.
    ``background`` (a grey level, or "paper") fills what comes into view from outside the page."""

    kind = "geometry"

    def matrix(self, params: Mapping[str, Any], size: tuple[int, int]) -> np.ndarray:
        raise NotImplementedError


class PointOp(Op):
    """A change of each colour by itself (tone curve, tint): a lookup table per channel, applied to
    the 256 colours of a tone page instead of its pixels."""

    def table(self, params: Mapping[str, Any]) -> np.ndarray:
        """(3, 256) uint8: the new value of each channel's value."""
        raise NotImplementedError

    def apply(self, canvas: Canvas, params: Mapping[str, Any]) -> Canvas:
        table = self.table(params)
        neutral = np.array_equal(table[0], table[1]) and np.array_equal(table[0], table[2])
        if canvas.channels == 3:
            lut = table[0] if neutral else np.ascontiguousarray(table.T).reshape(256, 1, 3)
            canvas.pixels = cv2.LUT(canvas.pixels, lut)
        elif canvas.colormap is not None:
            canvas.colormap = np.stack([table[c][canvas.colormap[:, c]] for c in range(3)], axis=1)
        elif neutral:
            canvas.pixels = cv2.LUT(canvas.pixels, table[0])
        else:  # a grey page that takes a tint becomes a tone page
            canvas.colormap = np.ascontiguousarray(table.T)
        return canvas


def coarse_grid(size: tuple[int, int], step: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x, y) of the centres of ``step``-pixel cells: smooth fields (light,
    shadows, paper tone) are computed there and resized to the page, not per pixel."""
    width, height = size
    xs = (np.arange(-(-width // step), dtype=np.float32) + 0.5) * step
    ys = (np.arange(-(-height // step), dtype=np.float32) + 0.5) * step
    return np.meshgrid(xs, ys)


def to_field(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A coarse field of factors in [0, 1] as a page-sized uint8 plane (255 = 1)."""
    small = np.rint(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)


def smooth_noise(rng: np.random.Generator, size: tuple[int, int], scale: float, step: int = 8) -> np.ndarray:
    """Noise with features about ``scale`` × the page's long side, in about [-1, 1], on the coarse
    grid of :func:`coarse_grid` (float32)."""
    width, height = size
    cells = max(2.0, 1.0 / max(scale, 1e-3))
    shape = (max(2, round(cells * height / max(size))), max(2, round(cells * width / max(size))))
    small = rng.standard_normal(shape).astype(np.float32) / 2.5
    return cv2.resize(small, (-(-width // step), -(-height // step)), interpolation=cv2.INTER_CUBIC)
