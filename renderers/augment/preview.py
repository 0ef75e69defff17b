"""One page through every preset, side by side: what the preview page shows of the augment stage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from renderers.augment.pipeline import augment
from renderers.augment.presets import PRESETS
from renderers.base import Sample

LABEL_PX = 28
GAP_PX = 8


def preview_grid(
    sample: Sample, seed: int = 0, presets: Sequence[str] | None = None, height: int = 480
) -> Image.Image:
    """An RGB image: the sample's first page through each preset (``clean`` first), each scaled to
    ``height``, its preset's name above it and a box-guided sample's box outlined in red."""
    names = list(presets) if presets is not None else list(PRESETS)
    font = ImageFont.load_default(size=LABEL_PX - 8)
    tiles = []
    for index, name in enumerate(names):
        out = augment(sample, name, np.random.default_rng([seed, index]))
        page = out.images[0].convert("RGB")
        scale = height / page.height
        tile = page.resize((max(1, round(page.width * scale)), height), Image.Resampling.BILINEAR)
        if "box" in out.meta:
            x0, y0, x1, y1 = out.meta["box"]
            w, h = tile.size
            ImageDraw.Draw(tile).rectangle([x0 * w / 1000, y0 * h / 1000, x1 * w / 1000, y1 * h / 1000],
                                           outline=(230, 0, 0), width=2)
        tiles.append((name, tile))
    width = sum(t.width for _, t in tiles) + GAP_PX * (len(tiles) + 1)
    grid = Image.new("RGB", (width, height + LABEL_PX + GAP_PX), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    x = GAP_PX
    for name, tile in tiles:
        draw.text((x, 4), name, fill=(0, 0, 0), font=font)
        grid.paste(tile, (x, LABEL_PX))
        x += tile.width + GAP_PX
    return grid
