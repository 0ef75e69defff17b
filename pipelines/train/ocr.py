"""``gotforge ocr --checkpoint DIR IMAGE [IMAGE …]``: read images with a GOT checkpoint.

The prompt is GOT's (ARCHITECTURE.md "GOT's prompts"), chosen by the flags exactly as a shard's meta would
choose it, and built by the same collator the checkpoint was trained with (so its prompt style and
``image_seq_length`` match training; transformers' processor alone would expand 256 ``<imgpad>``):

- plain ``OCR: `` (default) or ``--format`` (``OCR with format: ``);
- ``--box x1,y1,x2,y2`` in pixels of the image (scaled to GOT's 0-1000 range) or ``--color red``;
- ``--crop``: multi-crop (tiles plus a thumbnail);
- ``--multi-page``: all images as the pages of one document; otherwise each image is read on its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from renderers.tasks import COLORS


def box_to_1000(box: Sequence[float], size: tuple[int, int]) -> list[int]:
    """Pixel box (x1, y1, x2, y2) -> GOT's 0-1000 coordinates of that image."""
    width, height = size
    x1, y1, x2, y2 = box
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise ValueError(f"--box {list(box)} is not inside the {width}x{height} image with x1 < x2, y1 < y2")
    return [round(1000 * x1 / width), round(1000 * y1 / height), round(1000 * x2 / width), round(1000 * y2 / height)]


def make_samples(images: Sequence[Image.Image], fmt: bool = False, box: Sequence[float] | None = None,
                 color: str | None = None, crop: bool = False, multi_page: bool = False) -> list[dict[str, Any]]:
    """The samples (image(s) + meta) that ask the checkpoint the question the flags describe."""
    meta: dict[str, Any] = {"task": "format" if fmt else "ocr"}
    if color is not None:
        meta["color"] = color
    if crop:
        meta["crops"] = True
    if multi_page:
        if box is not None or crop:
            raise ValueError("--multi-page takes neither --box nor --crop")
        return [{"images": list(images), "target": "", "meta": {**meta, "pages": len(images)}}]
    samples = []
    for image in images:
        m = dict(meta)
        if box is not None:
            m["box"] = box_to_1000(box, image.size)
        samples.append({"images": [image], "target": "", "meta": m})
    return samples


def read(checkpoint: str | Path, images: Sequence[Image.Image], max_new_tokens: int = 512, **flags: Any) -> list[str]:
    from pipelines.train import evaluate

    built, collator = evaluate.load(checkpoint)
    samples = make_samples(images, **flags)
    return evaluate.generate(built, samples, collator, max_new_tokens=max_new_tokens, batch_size=1)


def _box(text: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"--box expects x1,y1,x2,y2, found {text!r}")
    return [float(p) for p in parts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gotforge ocr", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a checkpoint folder (Hugging Face format)")
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--format", action="store_true", help="formatted OCR (OCR with format)")
    parser.add_argument("--box", type=_box, help="read inside this pixel box: x1,y1,x2,y2")
    parser.add_argument("--color", choices=COLORS, help="read inside the box drawn in this colour")
    parser.add_argument("--crop", action="store_true", help="multi-crop: tiles plus a thumbnail")
    parser.add_argument("--multi-page", action="store_true", help="the images are pages of one document")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    args = parser.parse_args(argv)
    images = [Image.open(p).convert("RGB") for p in args.images]
    texts = read(args.checkpoint, images, args.max_new_tokens, fmt=args.format, box=args.box, color=args.color,
                 crop=args.crop, multi_page=args.multi_page)
    names = ["+".join(args.images)] if args.multi_page else args.images
    for name, text in zip(names, texts):
        if len(names) > 1:
            print(f"== {name}")
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
