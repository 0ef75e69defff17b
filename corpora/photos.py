"""Photographs as backgrounds: a user folder of image files (the scene-text renderer draws words on
them).

A photo corpus is a folder, searched recursively, of ``.jpg``/``.jpeg``/``.png``/``.webp``/``.bmp``/
``.tif``/``.tiff`` files (hidden ones left out), in sorted order of their relative paths so an index
means the same photo on every machine. An item is a photo's path; it is checked when drawn, from its
header only: a file PIL cannot identify is a ``bad-image`` reject and one under ``MIN_SIDE`` pixels
on a side a ``too-small`` one, counted with its path like any corpus's rejects. A path that is not a
folder, or a folder with no image file, raises :class:`CorpusError` before any work.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from corpora.base import BadItem, CorpusError
from corpora.indexed import IndexedCorpus
from corpora.sources import FileList, Location, RawItem

SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
MIN_SIDE = 64  # smaller photos would be upscaled into blur under the text


class PhotoFiles(FileList):
    """A folder's image files as a source whose raw items are their paths (the bytes are decoded by
    whoever draws them); fingerprinted like any folder of whole files."""

    def raw(self, i: int) -> RawItem:
        path = str(self.root / self.files[i])
        return RawItem(path, Location(path))


def check_photo(path: str) -> str:
    """``path`` if PIL reads its header and it is at least ``MIN_SIDE`` px on each side."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as err:
        raise BadItem("bad-image", f"PIL cannot read it ({err})") from err
    if min(width, height) < MIN_SIDE:
        raise BadItem("too-small", f"{width}x{height} px, under {MIN_SIDE} px on a side")
    return path


def user_photos(path: str | Path) -> IndexedCorpus[str]:
    """The photos under folder ``path``, checked when drawn."""
    path = Path(path)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is a file, not a folder"
        raise CorpusError(f"photo corpus {path} {what}; pass a folder of {'/'.join(SUFFIXES)} images "
                          f"(scene-text draws its words from the built-in text corpus)")
    files = sorted(
        str(p.relative_to(path)) for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not files:
        raise CorpusError(f"photo corpus folder {path} holds no {'/'.join(SUFFIXES)} file; add photos or pass "
                          f"another folder")
    return IndexedCorpus(PhotoFiles(path, files), check_photo)
