"""The augment stage on real text pages: determinism, every preset, labels kept true (boxes mapped
through geometry, colour frames kept), one scanner for every page of a multi-page sample."""

from __future__ import annotations

import functools
import json
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipelines.render.checks import MIN_INK_FRACTION, check_sample, ink_fraction
from renderers import registry
from renderers.augment import (
    OPS,
    PRESETS,
    apply_record,
    augment,
    augment_mix,
    augment_steps,
    check_weights,
    pick_preset,
    preview_grid,
    step,
)
from renderers.base import Reject, Sample

SMALL = {"page_width": (560, 640), "page_height": (720, 820)}  # real pages, fewer pixels: a faster suite
GEOMETRY = {  # each geometric operation, pushed past its presets' ranges so that some are refused
    "rotate": {"angle": (-4.0, 4.0)},
    "shear": {"shear_x": (-0.04, 0.04), "shear_y": (-0.04, 0.04)},
    "perspective": {"inset": (0.0, 0.1), "background": "paper"},
}
FRAME_CHANNEL = {"red": 0, "green": 1, "blue": 2}


@functools.cache
def _renderer(options: str) -> object:
    cls = registry.load("text-page")
    return cls(cls.Options(**json.loads(options)), None)


def page(seed: int, regions: str = "page", **options: object) -> Sample:
    """A text page at ``seed`` (``regions``: page, box or color); a rejected draw is drawn again."""
    opts = {**SMALL, **options, "regions": {regions: 1.0}}
    renderer = _renderer(json.dumps(opts, sort_keys=True))
    for attempt in range(10):
        try:
            return renderer.render(np.random.default_rng([seed, attempt]))
        except Reject:
            continue
    raise AssertionError(f"text-page rejected 10 draws at seed {seed}")


def neutral(sample: Sample) -> bool:
    return all(len(set(sample.meta[key])) == 1 for key in ("paper", "ink"))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def ink_mass(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres and their darkness below the paper (the page's most common grey level)."""
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    paper = np.bincount(grey.astype(np.uint8).ravel(), minlength=256).argmax()
    ys, xs = np.nonzero(grey < paper - 8)
    return np.c_[xs + 0.5, ys + 0.5], paper - grey[ys, xs]


def area_scale(matrix: list[list[float]], points: np.ndarray) -> np.ndarray:
    """How much a small area at each point grows under the homography: det(H) / w³."""
    m = np.asarray(matrix)
    w = np.c_[points, np.ones(len(points))] @ m[2]
    return np.abs(np.linalg.det(m) / w**3)


def mapped(matrix: list[list[float]], points: np.ndarray) -> np.ndarray:
    h = np.c_[points, np.ones(len(points))] @ np.asarray(matrix).T
    return h[:, :2] / h[:, 2:]


def test_same_generator_same_bytes_and_record_replays() -> None:
    sample = page(1)
    for name in PRESETS:
        np.random.seed(1)  # the global generators play no part
        random.seed(1)
        a = augment(sample, name, np.random.default_rng(7))
        np.random.seed(2)
        random.seed(2)
        b = augment(sample, name, np.random.default_rng(7))
        assert [im.tobytes() for im in a.images] == [im.tobytes() for im in b.images], name
        assert a.meta == b.meta and a.meta["augment"]["preset"] == name
        record = json.loads(json.dumps(a.meta["augment"]))  # as stored in a shard
        replayed = apply_record(sample.images, record)
        if any("refused" not in op for op in record["ops"]):
            assert [im.tobytes() for im in replayed] == [im.tobytes() for im in a.images], name
    assert sample.meta.get("augment") is None  # the input is left as it was


@pytest.mark.parametrize("name", [n for n in PRESETS if n != "clean"])
def test_every_preset_changes_the_page_and_keeps_it_readable(name: str) -> None:
    changed = 0
    for seed in range(4):
        sample = page(seed)
        out = augment(sample, name, np.random.default_rng(seed))
        check_sample(out)
        assert out.target == sample.target
        for image in out.images:
            assert image.mode in ("L", "RGB", "P") and image.size == sample.images[0].size
            assert ink_fraction(image) > MIN_INK_FRACTION
        ran = [op for op in out.meta["augment"]["ops"] if "refused" not in op]
        for op in out.meta["augment"]["ops"]:
            assert op["op"] in OPS and set(op) - {"op", "refused", "seed"} <= set(OPS[op["op"]].defaults) | {"corners"}
        if ran:
            assert out.png is None
            assert not np.array_equal(pixels(out.images[0]), pixels(sample.images[0]))
            changed += 1
    assert changed >= 3


def test_clean_keeps_the_sample_and_its_png() -> None:
    sample = page(2)
    sample = Sample(sample.images, sample.target, sample.meta, png=[b"\x89PNG-bytes"])
    clean = augment(sample, "clean", np.random.default_rng(0))
    assert clean.images[0] is sample.images[0] and clean.png == sample.png
    assert clean.meta["augment"] == {"preset": "clean", "ops": []}
    scanned = augment_steps(sample, [step("noise", sigma=3.0)], np.random.default_rng(0))
    assert scanned.png is None


@pytest.mark.parametrize("op", sorted(GEOMETRY))
def test_a_box_mapped_through_geometry_holds_exactly_its_lines(op: str) -> None:
    applied = refused = 0
    for seed in range(10):
        sample = page(seed, "box")
        meta = sample.meta
        out = augment_steps(sample, [step(op, **GEOMETRY[op])], np.random.default_rng(seed), name=op)
        (record,) = out.meta["augment"]["ops"]
        if "refused" in record:
            refused += 1
            assert out.meta["box"] == meta["box"] and out.images[0] is sample.images[0]
            continue
        applied += 1
        box = out.meta["box"]
        assert out.meta["augment"]["clean_box"] == meta["box"]
        assert all(isinstance(v, int) and 0 <= v <= 1000 for v in box) and box[0] < box[2] and box[1] < box[3]
        width, height = out.images[0].size
        x0, y0, x1, y1 = box[0] * width / 1000, box[1] * height / 1000, box[2] * width / 1000, box[3] * height / 1000
        matrix = out.meta["augment"]["matrix"][0]
        centres = np.array([[(a + c) / 2, (b + d) / 2] for a, b, c, d in meta["line_boxes"]])
        moved = mapped(matrix, centres)
        inside = {i for i, (x, y) in enumerate(moved) if x0 <= x <= x1 and y0 <= y <= y1}
        assert inside == set(meta["region_lines"]), (seed, record)
        # the region stays whole: its mapped corners lie in the box (within the clean box's rounding
        # to the 0-1000 scale, half a unit)
        rx0, ry0, rx1, ry1 = meta["region_box_px"]
        corners = mapped(matrix, np.array([[rx0, ry0], [rx1, ry0], [rx1, ry1], [rx0, ry1]], dtype=float))
        unit_x, unit_y = width / 1000, height / 1000
        assert (corners[:, 0] >= x0 - unit_x).all() and (corners[:, 0] <= x1 + unit_x).all()
        assert (corners[:, 1] >= y0 - unit_y).all() and (corners[:, 1] <= y1 + unit_y).all()
        # the pixels moved as the label says: the ink's centre of mass is the mapped clean one
        clean_xy, clean_w = ink_mass(sample.images[0])
        out_xy, out_w = ink_mass(out.images[0])
        clean_w = clean_w * area_scale(matrix, clean_xy)  # a pixel's ink spreads over the area it maps to
        expected = (mapped(matrix, clean_xy) * clean_w[:, None]).sum(axis=0) / clean_w.sum()
        found = (out_xy * out_w[:, None]).sum(axis=0) / out_w.sum()
        assert np.abs(found - expected).max() < 1.5, (found, expected, record)
    assert applied >= 3, f"{op}: only {applied} of 10 applied"
    if op == "rotate":  # the refusal is exercised: at 4 degrees some lines cross the box's edge
        assert refused >= 1, f"{op}: never refused at these ranges"


def test_geometry_that_would_cut_ink_is_refused() -> None:
    tight = page(3, slice=True, slice_line_prob=1.0)
    out = augment_steps(tight, [step("rotate", angle=5.0)], np.random.default_rng(0))
    (record,) = out.meta["augment"]["ops"]
    assert record["refused"] == "ink-out-of-frame" and out.images[0] is tight.images[0]


def frame_margin(out: Sample, clean: Sample) -> float:
    """Median, along the (mapped) frame's centre line, of the frame channel less the larger other one."""
    x0, y0, x1, y1 = clean.meta["region_box_px"]
    inset = (clean.meta["frame_px"] - 1) / 2
    x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
    t = np.linspace(0.05, 0.95, 60)
    points = np.concatenate([
        np.c_[x0 + (x1 - x0) * t, np.full_like(t, y0)], np.c_[x0 + (x1 - x0) * t, np.full_like(t, y1)],
        np.c_[np.full_like(t, x0), y0 + (y1 - y0) * t], np.c_[np.full_like(t, x1), y0 + (y1 - y0) * t],
    ])
    if "matrix" in out.meta["augment"]:
        points = mapped(out.meta["augment"]["matrix"][0], points)
    rgb = pixels(out.images[0])
    values = rgb[np.rint(points[:, 1]).astype(int), np.rint(points[:, 0]).astype(int)]
    channel = FRAME_CHANNEL[clean.meta["color"]]
    others = np.delete(values, channel, axis=1).max(axis=1)
    return float(np.median(values[:, channel] - others))


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_colour_frame_keeps_its_colour(name: str) -> None:
    for seed in range(4):
        sample = page(seed, "color")
        out = augment(sample, name, np.random.default_rng(seed))
        assert out.meta["color"] == sample.meta["color"]
        for record in out.meta["augment"]["ops"]:
            if OPS[record["op"]].hue:
                assert record["refused"] == "color-sample"
        assert out.images[0].mode != "L"
        assert frame_margin(out, sample) > 20, (seed, sample.meta["color"], out.meta["augment"])


@pytest.mark.parametrize("name", [n for n in PRESETS if n != "clean"])
def test_every_page_of_a_multi_page_sample_gets_the_same_scanner(name: str) -> None:
    first = page(4, page_width=(600, 600), page_height=(780, 780))
    second = page(5, page_width=(600, 600), page_height=(780, 780))
    sample = Sample([first.images[0], second.images[0], first.images[0]], "a\nb", {"lang": "en"})
    out = augment(sample, name, np.random.default_rng(11))
    record = out.meta["augment"]
    assert len(out.images) == 3
    if "matrix" in record:
        assert record["matrix"][0] == record["matrix"][1] == record["matrix"][2]
    # the same clean page as page 0 and page 2: the same placement, light and curve; its own grain
    a, c = pixels(out.images[0]), pixels(out.images[2])
    seeded = any(OPS[op["op"]].seeded for op in record["ops"] if "refused" not in op)
    assert seeded or np.array_equal(a, c)
    assert np.mean(np.abs(a - c)) < np.mean(np.abs(a - pixels(out.images[1])))
    solo = apply_record([second.images[0]], record)[0]
    if not seeded:
        assert solo.tobytes() == out.images[1].tobytes()


def every_mode() -> list[Image.Image]:
    base = Image.new("RGB", (320, 200), (250, 248, 240))
    draw = ImageDraw.Draw(base)
    for row in range(6):
        draw.text((30, 20 + 28 * row), f"line {row}: the quick brown fox", fill=(20, 20, 60))
    draw.rectangle((200, 150, 290, 185), fill=(200, 40, 40))
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.new("L", base.size, 255))
    return [base, base.convert("L"), rgba, base.convert("P", palette=Image.Palette.ADAPTIVE, colors=32),
            base.convert("1"), base.convert("LA")]


def test_every_image_mode_comes_out_rgb_l_or_palette() -> None:
    for image in every_mode():
        sample = Sample([image], "x", {"lang": "en"})
        for index, name in enumerate(PRESETS):
            out = augment(sample, name, np.random.default_rng(index))
            assert out.images[0].mode in ("L", "RGB", "P") or name == "clean", (image.mode, name)
            assert out.images[0].size == image.size
            check_sample(out)


def test_a_palette_page_stays_a_palette_page_and_keeps_its_colours() -> None:
    steps = [step("rotate", angle=0.8), step("noise", sigma=3.0)]
    tinted = next(p for p in map(page, range(20)) if not neutral(p))
    out = augment_steps(tinted, steps, np.random.default_rng(0))
    assert tinted.images[0].mode == out.images[0].mode == "P"
    clean_colours = {tuple(c) for c in np.asarray(tinted.images[0].getpalette("RGB")).reshape(-1, 3)}
    assert {tuple(c) for c in np.asarray(out.images[0].getpalette("RGB")).reshape(-1, 3)} == clean_colours
    grey = next(p for p in map(page, range(20)) if neutral(p))  # grey paper, black ink: a grey image
    out = augment_steps(grey, steps, np.random.default_rng(0))
    assert grey.images[0].mode == "P" and out.images[0].mode == "L"
    assert set(np.unique(np.asarray(out.images[0]))) <= set(np.asarray(grey.images[0].convert("L")).ravel())


def test_weights_pick_presets_and_name_the_known_ones() -> None:
    check_weights({"scan": 2, "clean": 1})
    with pytest.raises(ValueError, match="known"):
        check_weights({"scanner": 1})
    with pytest.raises(ValueError, match="positive sum"):
        check_weights({"scan": 0})
    with pytest.raises(ValueError, match="known"):
        augment(page(0), "xerox", np.random.default_rng(0))
    picks = {pick_preset({"scan": 1, "fax": 1}, np.random.default_rng(s)) for s in range(20)}
    assert picks == {"scan", "fax"}
    assert pick_preset({"camera": 1, "scan": 3}, np.random.default_rng(5)) == pick_preset(
        {"scan": 3, "camera": 1}, np.random.default_rng(5))  # key order does not matter
    out = augment_mix(page(0), {"photocopy": 1}, np.random.default_rng(0))
    assert out.meta["augment"]["preset"] == "photocopy"
    with pytest.raises(ValueError, match="unknown augment operation"):
        augment_steps(page(0), [step("smudge")], np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown parameters"):
        augment_steps(page(0), [step("blur", radius=(1.0, 2.0))], np.random.default_rng(0))


def test_preview_grid_shows_every_preset() -> None:
    grid = preview_grid(page(0, "box"), height=200)
    assert grid.mode == "RGB" and grid.height > 200
    assert grid.width > len(PRESETS) * 100


def test_the_engine_degrades_by_config_with_the_same_bytes_for_any_worker_count(tmp_path):
    """``augment`` in a render config: applied after validate, recorded on top of the meta, and
    the tars are a function of the config alone."""
    from pipelines.render.config import load_mix
    from pipelines.render.run import render_run
    from pipelines.shard_format import read_samples

    config_file = tmp_path / "aug.yaml"
    config_file.write_text(
        "seed: 1\nsamples: 8\nshard_size: 4\nrenderers:\n"
        "  text-page: {weight: 1, options: {regions: {page: 0.5, box: 0.5}},"
        " augment: {scan: 1, photocopy: 1, fax: 1, camera: 1}}\n")
    config, _ = load_mix(config_file)
    render_run(config, tmp_path / "one", workers=1, show_progress=False)
    render_run(config, tmp_path / "two", workers=2, show_progress=False)
    tars = sorted((tmp_path / "one" / "text-page").glob("*.tar"))
    assert [t.read_bytes() for t in tars] == [(tmp_path / "two" / "text-page" / t.name).read_bytes() for t in tars]
    records = [r for t in tars for r in read_samples(t, images="skip")]
    assert len(records) == 8
    assert {r["meta"]["augment"]["preset"] for r in records} <= {"scan", "photocopy", "fax", "camera"}
    for record in records:
        if "box" in record["meta"]:
            assert all(0 <= v <= 1000 for v in record["meta"]["box"])


def test_an_unknown_preset_fails_before_any_work(tmp_path):
    from pipelines.config import ConfigError
    from pipelines.render.config import load_mix

    config_file = tmp_path / "aug.yaml"
    config_file.write_text("samples: 2\nrenderers:\n  text-page: {augment: {scanner: 1}}\n")
    with pytest.raises(ConfigError, match="scanner"):
        load_mix(config_file)
