"""How one sample is stored in a WebDataset tar shard: written and read back only through here.

A sample is the consecutive tar members that share its key, ``<renderer>-<shard:06d>-<index:06d>``,
in this order:

    key.json      the stored meta (UTF-8 JSON, sorted keys)
    key.png       the image; a multi-page sample has key.p0.png, key.p1.png, … instead
    key.txt       the target (UTF-8)

The key is the member name up to its first dot (renderer names have none), which is how
webdataset groups members into one dict per sample, the rest of the name (``png``, ``p0.png``,
``txt``, ``json``) being the field. The same record, ``{"key", "images", "target", "meta"}``, comes
out of :func:`read_samples` (a tar read directly: preview, tokenizer) and :func:`from_fields`
(webdataset's per-sample dict: the training stream).

No torch and no webdataset here: the render workers import this module to write their shards.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Container, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

ImageMode = Literal["bytes", "rgb", "skip"]

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg")  # readers accept JPEG pages too; the engine writes PNG
_PAGE = re.compile(r"^p(\d+)\.(png|jpg|jpeg)$")


class ShardFormatError(ValueError):
    """A sample in a tar lacks a member the format requires."""


def sample_key(renderer: str, shard: int, index: int) -> str:
    return f"{renderer}-{shard:06d}-{index:06d}"


def image_names(key: str, pages: int) -> list[str]:
    """Member names of a sample's images: ``key.png`` for one, ``key.p0.png``, … for several."""
    return [f"{key}.png"] if pages == 1 else [f"{key}.p{page}.png" for page in range(pages)]


def encode_members(key: str, pngs: Sequence[bytes], target: str, meta: Mapping[str, Any]) -> dict[str, bytes]:
    """The tar members of one sample, ``{name: bytes}`` in the order they are written."""
    members = {f"{key}.json": json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")}
    members.update(zip(image_names(key, len(pngs)), pngs))
    members[f"{key}.txt"] = target.encode("utf-8")
    return members


def split_name(name: str) -> tuple[str, str]:
    """``(key, field)`` of a member name, as webdataset splits it: ``a-000000-000001.p0.png`` ->
    ``("a-000000-000001", "p0.png")``."""
    key, _, field = name.rpartition("/")[2].partition(".")
    return key, field


def from_fields(key: str, fields: Mapping[str, Any], images: ImageMode = "bytes") -> dict[str, Any]:
    """The sample record of one sample's members, ``{field: bytes}`` (webdataset's per-sample dict;
    keys starting with ``__`` are ignored).

    ``images``: ``"bytes"`` (the stored files), ``"rgb"`` (decoded RGB PIL images, what the model
    sees) or ``"skip"`` (an empty list; image members are then not required).
    """
    pages = sorted((int(m.group(1)), data) for name, data in fields.items() if (m := _PAGE.match(name)))
    stored = [data for _, data in pages] or [fields[e] for e in IMAGE_EXTENSIONS if e in fields][:1]
    if (not stored and images != "skip") or "txt" not in fields or "json" not in fields:
        found = sorted(k for k in fields if not k.startswith("__"))
        raise ShardFormatError(f"sample {key}: expected members png (or p0.png, …), txt and json, found {found}")
    if images == "skip":
        decoded: list[Any] = []
    elif images == "rgb":
        from PIL import Image

        decoded = [Image.open(io.BytesIO(data)).convert("RGB") for data in stored]
    else:
        decoded = list(stored)
    return {"key": key, "images": decoded, "target": fields["txt"].decode("utf-8"),
            "meta": json.loads(fields["json"])}


def read_samples(path: str | Path, images: ImageMode = "bytes",
                 only: Container[int] | None = None) -> Iterator[dict[str, Any]]:
    """The sample records of one tar, in the order they are stored.

    ``only``: the positions (0-based, in tar order) of the samples wanted; the others are passed
    over without reading their data. With ``images="skip"`` image members are never read either.
    """
    with tarfile.open(path) as tar:
        key, members, position = None, {}, 0
        for member in tar:
            if not member.isfile():
                continue
            member_key, field = split_name(member.name)
            if member_key != key:
                if key is not None:
                    if only is None or position in only:
                        yield _record(tar, key, members, images)
                    position += 1
                key, members = member_key, {}
            members[field] = member
        if key is not None and (only is None or position in only):
            yield _record(tar, key, members, images)


def _record(tar: tarfile.TarFile, key: str, members: dict[str, tarfile.TarInfo], images: ImageMode) -> dict[str, Any]:
    fields = {}
    for field, member in members.items():
        if images == "skip" and (field in IMAGE_EXTENSIONS or _PAGE.match(field)):
            continue
        handle = tar.extractfile(member)
        assert handle is not None  # a regular file
        fields[field] = handle.read()
    return from_fields(key, fields, images)
