"""scene-text: target and boxes agree, every kept text is readable ink, dropped texts leave no trace,
user photo folders."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from corpora.base import CorpusError
from renderers.base import Reject
from renderers.scene_text import SceneTextRenderer, colour, geometry
from renderers.scene_text.backgrounds import BUILTIN_PHOTO_FILES, skimage_data_dir
from renderers.scene_text.draw import draw_scene, effects_margin
from renderers.scene_text.options import Options


def wcag(rgb) -> float:
    """WCAG 2 relative luminance, written out independently of the renderer's table."""
    channels = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def samples(renderer: SceneTextRenderer, seeds):
    for seed in seeds:
        try:
            yield renderer.render(np.random.default_rng(seed))
        except Reject:
            continue


def quad_mask(quad, shape) -> np.ndarray:
    import cv2

    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.rint(np.asarray(quad)).astype(np.int32), 1)
    return mask.astype(bool)


@pytest.fixture(scope="module")
def renderer():
    return SceneTextRenderer(Options())


def test_builtin_photos_ship_in_the_scikit_image_wheel():
    folder = skimage_data_dir()
    assert all((folder / name).is_file() for name in BUILTIN_PHOTO_FILES.values())


def test_target_lines_are_the_instances_in_reading_order(renderer):
    checked = 0
    for sample in samples(renderer, range(30)):
        instances = sample.meta["instances"]
        assert sample.target.split("\n") == [inst["text"] for inst in instances]
        quads = [np.asarray(inst["quad"]) for inst in instances]
        assert geometry.reading_order(quads) == list(range(len(quads)))
        centres = [q.mean(axis=0) for q in quads]
        for (ax, ay), (bx, by) in itertools.pairwise(centres):
            assert by > ay or bx > ax  # lower down, or further right on the same row
        renderer.validate(sample)
        checked += len(instances)
    assert checked > 40


def test_reading_order_takes_rows_top_to_bottom_and_each_row_left_to_right():
    def box(x, y, w=100, h=30):
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=float)

    right_a_bit_higher, left, below = box(300, 95), box(10, 100), box(150, 200)
    assert geometry.reading_order([below, right_a_bit_higher, left]) == [2, 1, 0]


def test_every_line_has_its_box_and_the_box_holds_contrasting_ink(renderer):
    for sample in samples(renderer, range(40, 60)):
        image = np.asarray(sample.images[0])
        background = np.asarray(draw_scene({**sample.meta, "instances": []}, renderer.photos))
        width, height = sample.meta["width"], sample.meta["height"]
        for inst in sample.meta["instances"]:
            quad = np.asarray(inst["quad"])
            x1, y1, x2, y2 = inst["box"]
            assert 0 <= x1 < x2 <= 1000 and 0 <= y1 < y2 <= 1000
            assert x1 * width / 1000 <= quad[:, 0].min() and quad[:, 0].max() <= x2 * width / 1000
            assert y1 * height / 1000 <= quad[:, 1].min() and quad[:, 1].max() <= y2 * height / 1000
            inside = quad_mask(quad, image.shape)
            fill = np.asarray(inst["fill"])
            inked = np.abs(image[inside].astype(int) - fill).max(axis=1) <= 32  # thin strokes blend at edges
            assert inked.sum() >= 10, f"{inst['text']!r}: no ink of its fill colour in its quad"
            lum = [wcag(p) for p in background[inside][::3]]
            low, high = np.percentile(lum, (10, 90))
            f = wcag(fill)
            if inst["contrast_by"] == "fill":  # 2.9: the renderer reads every other row and column
                assert (f < low and ratio(f, low) >= 2.9) or (f > high and ratio(f, high) >= 2.9)
            else:
                assert inst["outline_px"] > 0 and ratio(f, wcag(inst["outline"])) >= 3


def test_dropped_instances_are_in_neither_image_nor_target():
    # big texts, one place each: most instances after the first collide with a kept one
    crowded = SceneTextRenderer(Options(instances=(6, 6), positions=1, text_size=(0.1, 0.13), lang="en"))
    overlaps = 0
    for sample in samples(crowded, range(12)):
        meta = sample.meta
        assert meta["drawn_instances"] == len(meta["instances"]) + len(meta["dropped"])
        lines = sample.target.split("\n")
        assert lines == [inst["text"] for inst in meta["instances"]]
        for dropped in meta["dropped"]:
            assert lines.count(dropped["text"]) == sum(i["text"] == dropped["text"] for i in meta["instances"])
        overlaps += sum(d["reason"] == "overlap" for d in meta["dropped"])
        # the image is the background plus the kept instances, nothing else
        assert np.array_equal(np.asarray(draw_scene(meta, crowded.photos)), np.asarray(sample.images[0]))
        image = np.asarray(sample.images[0])
        background = np.asarray(draw_scene({**meta, "instances": []}, crowded.photos))
        changed = np.any(image != background, axis=2)
        allowed = np.zeros_like(changed)
        for inst in meta["instances"]:
            allowed |= quad_mask(geometry.footprint(np.asarray(inst["quad"]), effects_margin(inst)), image.shape)
        assert not np.any(changed & ~allowed), "ink outside every kept instance's footprint"
    assert overlaps >= 5


def test_a_region_no_fill_reads_on_needs_an_outline():
    candidates = colour.sample_candidates(np.random.default_rng(0))
    busy = (0.02, 0.9)  # dark and light parts under the text
    assert colour.choose_colours(candidates, busy, outline=False, threshold=3.0) is None
    outlined = colour.choose_colours(candidates, busy, outline=True, threshold=3.0)
    assert outlined["contrast_by"] == "outline" and outlined["contrast"] >= 3.0
    plain = colour.choose_colours(candidates, (0.3, 0.4), outline=False, threshold=3.0)
    assert plain["contrast_by"] == "fill"


def test_too_small_and_off_image_instances_are_dropped():
    tiny = SceneTextRenderer(Options(text_size=(0.005, 0.006), lang="en"))
    with pytest.raises(Reject, match="too-small"):
        tiny.render(np.random.default_rng(0))
    huge = SceneTextRenderer(Options(text_size=(0.9, 1.0), words=(4, 4), lang="en"))
    with pytest.raises(Reject, match="off-image"):
        huge.render(np.random.default_rng(0))


def test_a_user_photo_folder_gives_the_backgrounds(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        path = tmp_path / "shots" / f"photo{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    (tmp_path / "shots" / "broken.jpg").write_text("not a picture")
    renderer = SceneTextRenderer(Options(backgrounds={"photo": 1.0}), tmp_path)
    sources = set()
    for sample in samples(renderer, range(20)):
        assert sample.meta["background"]["kind"] == "photo"
        sources.add(sample.meta["background"]["source"])
    assert sources == set(paths)
    assert set(renderer.corpus.rejects) == {"bad-image"}  # the text file posing as a photo, counted


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_a_bad_photo_folder_is_a_clear_error(tmp_path, make):
    path = tmp_path / "photos"
    if make == "file":
        path.write_text("x")
    elif make == "empty":
        path.mkdir()
        (path / "notes.txt").write_text("no photos here")
    with pytest.raises(CorpusError, match=r"photo corpus.*(does not exist|not a folder|holds no)"):
        SceneTextRenderer(Options(), path)
