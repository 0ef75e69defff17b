"""The shard format: member names and order, multi-page samples grouped back in page order, and the
same record from a tar read directly and from webdataset's per-sample dict."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from PIL import Image
from webdataset.tariterators import tarfile_samples

from pipelines.render.writer import add_members
from pipelines.shard_format import (
    ShardFormatError,
    encode_members,
    from_fields,
    image_names,
    read_samples,
    sample_key,
    split_name,
)


def png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (10, 8), shade).save(buffer, format="PNG")
    return buffer.getvalue()


def write_tar(path: Path, samples: list[dict[str, bytes]]) -> Path:
    with open(path, "wb") as handle, tarfile.open(fileobj=handle, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        for members in samples:
            add_members(tar, members)
    return path


@pytest.fixture
def shard(tmp_path: Path) -> Path:
    samples = [
        encode_members(sample_key("demo", 3, 0), [png(10)], "one page", {"lang": "en"}),
        encode_members(sample_key("demo", 3, 1), [png(i) for i in range(12)], "twelve pages", {"lang": "zh"}),
        encode_members(sample_key("demo", 3, 2), [png(30)], "三", {"lang": "zh", "demo": {"n": 3}}),
    ]
    return write_tar(tmp_path / "demo-000003.tar", samples)


def test_member_names_and_order():
    assert sample_key("text-page", 3, 41) == "text-page-000003-000041"
    assert list(encode_members("k", [b"a"], "t", {"b": 1, "a": 2})) == ["k.json", "k.png", "k.txt"]
    assert list(encode_members("k", [b"a", b"b"], "t", {})) == ["k.json", "k.p0.png", "k.p1.png", "k.txt"]
    assert encode_members("k", [b"a"], "é", {"b": 1, "a": "数"})["k.json"] == '{"a": "数", "b": 1}'.encode()
    assert image_names("k", 3) == ["k.p0.png", "k.p1.png", "k.p2.png"]
    assert split_name("dir/a-000000-000001.p0.png") == ("a-000000-000001", "p0.png")


def test_read_samples_groups_pages_in_page_order(shard: Path):
    samples = list(read_samples(shard))
    assert [s["key"] for s in samples] == ["demo-000003-000000", "demo-000003-000001", "demo-000003-000002"]
    assert samples[1]["images"] == [png(i) for i in range(12)]  # p10, p11 after p9, not after p1
    assert [s["target"] for s in samples] == ["one page", "twelve pages", "三"]
    assert samples[2]["meta"] == {"lang": "zh", "demo": {"n": 3}}
    rgb = list(read_samples(shard, images="rgb"))[1]["images"]
    assert len(rgb) == 12 and {image.mode for image in rgb} == {"RGB"}
    assert [s["images"] for s in read_samples(shard, images="skip")] == [[], [], []]
    assert [s["key"] for s in read_samples(shard, only={0, 2})] == ["demo-000003-000000", "demo-000003-000002"]


def test_webdataset_dicts_give_the_same_records(shard: Path):
    via_webdataset = [from_fields(raw["__key__"], raw) for raw in tarfile_samples([{"url": str(shard)}])]
    assert via_webdataset == list(read_samples(shard))


def test_a_sample_without_its_image_or_target_is_refused(tmp_path: Path):
    with pytest.raises(ShardFormatError, match=r"expected members png .*found \['json', 'txt'\]"):
        from_fields("k", {"txt": b"t", "json": b"{}"})
    assert from_fields("k", {"txt": b"t", "json": b"{}"}, images="skip")["target"] == "t"
    with pytest.raises(ShardFormatError, match="found \\['json', 'png'\\]"):
        from_fields("k", {"png": png(0), "json": b"{}", "__url__": "x"})
