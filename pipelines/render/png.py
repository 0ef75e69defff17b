"""PNG encoding for shard images: one fixed row filter instead of Pillow's adaptive choice.

Pillow's PNG writer tries every row filter on every row and keeps the best (libpng's "adaptive"
heuristic), which is most of its encoding time, and it offers no option to choose. On the flat,
synthetic pictures renderers draw, one fixed filter costs a few percent of file size and saves most
of the time (``make bench`` measures the engine's share). The writer is the PNG format itself
(ISO/IEC 15948: signature, ``IHDR``, ``PLTE`` for palette images, one ``IDAT`` of zlib data,
``IEND``); any image mode it does not cover is written by Pillow, so every image still encodes.

Filters: *up* (each byte minus the one above it) for grey and colour images, *none* for palette
images, as the PNG specification recommends for them.

Deflate: the default level, 1, is ISA-L's igzip at its level 1 (the ``isal`` package), which
encodes flat pages and photos alike several times faster than zlib's level 1 at about the same
size: zlib's match search costs a photo (scene text) about as much as drawing it. Any other level is zlib's, for
a user who trades time for size (2-9) or stores (0). Output is a pure function of the pixels, the
level and the deflate library's version, so shards stay byte-identical run to run.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from isal import isal_zlib
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow mode -> PNG colour type, for 8-bit images.
COLOUR_TYPES = {"L": 0, "RGB": 2, "P": 3, "LA": 4, "RGBA": 6}
FILTER_NONE, FILTER_UP = 0, 2
FAST_LEVEL = 1  # the level written by igzip; every other by zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _filtered_rows(pixels: np.ndarray, use_up: bool) -> bytes:
    """The image data stream: each row prefixed by its filter type byte."""
    height = pixels.shape[0]
    rows = pixels.reshape(height, -1)  # (rows, bytes per row)
    out = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    out[:, 1:] = rows
    out[:, 0] = FILTER_NONE
    if use_up and height > 1:
        out[1:, 0] = FILTER_UP
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])  # uint8 arithmetic wraps modulo 256
    return out.tobytes()


def deflate(data: bytes, compress_level: int) -> bytes:
    """``data`` as a zlib stream: igzip at the fast level, zlib at any other."""
    if compress_level == FAST_LEVEL:
        return isal_zlib.compress(data, 1)
    return zlib.compress(data, compress_level)


def encode_png(image: Image.Image, compress_level: int = 1) -> bytes:
    """``image`` as PNG bytes that decode to exactly its pixels (and palette)."""
    palette = image.getpalette("RGB") if image.mode == "P" else None
    if image.mode not in COLOUR_TYPES or "transparency" in image.info or (image.mode == "P" and not palette):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=compress_level)
        return buffer.getvalue()
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, COLOUR_TYPES[image.mode], 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if palette:  # padded to 256 colours, so every index a pixel may hold has one
        chunks.append(_chunk(b"PLTE", bytes(palette[:768]).ljust(768, b"\0")))
    data = _filtered_rows(np.asarray(image), use_up=image.mode != "P")
    chunks.append(_chunk(b"IDAT", deflate(data, compress_level)))
    chunks.append(_chunk(b"IEND", b""))
    return SIGNATURE + b"".join(chunks)
