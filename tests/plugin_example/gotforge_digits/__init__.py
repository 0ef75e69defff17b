"""An example gotforge renderer plugin: a random digit string drawn with PIL's built-in font.

It is installed as its own package (see ``pyproject.toml`` beside this folder) and is found by
gotforge through the ``gotforge.renderers`` entry-point group, with no change to gotforge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from renderers.base import Reject, RendererOptions, Sample


class DigitsRenderer:
    name = "digits"
    markup = "text"
    task = "ocr"
    version = "1"

    class Options(RendererOptions):
        min_digits: int = 3
        max_digits: int = 8

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.font = ImageFont.load_default(size=28)

    def render(self, rng: np.random.Generator) -> Sample:
        length = int(rng.integers(self.options.min_digits, self.options.max_digits + 1))
        text = "".join(str(d) for d in rng.integers(0, 10, size=length))
        ink = int(rng.integers(0, 80))
        image = Image.new("RGB", (24 + 18 * length, 48), "white")
        ImageDraw.Draw(image).text((12, 8), text, fill=(ink, ink, ink), font=self.font)
        return Sample([image], text, {"lang": "en", "length": length, "ink": ink})

    def validate(self, sample: Sample) -> None:
        if not sample.target.isdigit():
            raise Reject("not-digits")
