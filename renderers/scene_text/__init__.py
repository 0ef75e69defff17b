"""Scene text: words and short lines placed on photographs and textures, GOT's scene-text OCR data
made as SynthText (Gupta et al. 2016) and SynthTIGER (Yim et al. 2021) make it.

Each image is a background (:mod:`.backgrounds`: one of scikit-image's sample photos, or of the
user's photos when ``corpus_path`` is a folder of images; or a procedural texture) with 1-6 text
instances (``instances``) drawn from the built-in text corpus (:mod:`corpora.text`: English and
Chinese, or any of its languages with ``lang``), each in a font made for its language that covers
it (:func:`renderers.backends.fonts.font_for_lang`; shaped scripts laid out by HarfBuzz), at its own
size, turn, perspective tilt and, sometimes, on an arc, with an outline or a drop shadow
(:mod:`.geometry`, :mod:`.draw`).

Sample, then apply (SynthTIGER): every random choice of an instance is drawn first; placement then
decides, before anything is drawn, which instances stay. An instance is dropped, from the image
and the target together, when it does not fit in the image (``off-image``), is drawn smaller than
``min_text_px`` (``too-small``), overlaps a kept instance at every place tried (``overlap``; the
test covers the instances' outlines and shadows too), or no candidate colour reaches
``min_contrast`` against the background under it (``low-contrast``, :mod:`.colour`); also when no
font covers it (``missing-glyph``) or it draws no ink (``blank-glyph``). ``meta["dropped"]`` lists
the dropped texts with their reasons; an image whose instances are all dropped is rejected.

Target: the kept texts in reading order (:func:`.geometry.reading_order`: rows top to bottom by
box centre, left to right within a row, right to left in a right-to-left script), one instance per
line; prompt ``OCR: ``.
``meta["instances"]`` holds, in that order, each one's choices, its ink quad in pixels (``quad``,
clockwise from the text's top left; all its ink is inside) and its box on GOT's 0-1000 scale
(``box``). :func:`.draw.draw_scene` redraws the image from the meta alone.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from corpora import langs
from corpora.indexed import IndexedCorpus
from corpora.photos import user_photos
from corpora.text import Passage, default_passages
from renderers.backends import fonts, shaping
from renderers.base import Reject, Sample
from renderers.scene_text import colour, geometry
from renderers.scene_text.backgrounds import Photos, builtin_photo_paths, draw_background, sample_background
from renderers.scene_text.draw import composite, effects_margin
from renderers.scene_text.options import Options
from renderers.text_page.linebreak import normalise

MAX_CHARS = 40  # a longer run of words is a paragraph, not scene text


class SceneTextRenderer:
    """Words and short lines, in English, Chinese or another language, on photos and textures."""

    name = "scene-text"
    markup = "text"
    task = "ocr"
    version = "2"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        lang = options.lang
        names = ("en", "zh") if lang == "mix" else (lang,) if isinstance(lang, str) else tuple(lang)
        self.texts: dict[str, IndexedCorpus[Passage]] = {name: default_passages((name,)) for name in names}
        self.lang_choice = _choice(lang) if isinstance(lang, dict) else None
        self.corpus: IndexedCorpus[str] | None = None  # the user's photos, when given
        if corpus_path is not None:
            self.corpus = user_photos(corpus_path)
            self.photos = Photos({})
        else:
            self.photos = Photos(builtin_photo_paths(options.photos))
        self.kinds = _choice(options.backgrounds)
        self.textures = _choice(options.textures)

    # -- sample the record -------------------------------------------------------------------
    def render(self, rng: np.random.Generator) -> Sample:
        o = self.options
        if self.lang_choice is not None:
            lang = _draw(rng, self.lang_choice)
        else:
            lang = next(iter(self.texts)) if len(self.texts) == 1 else "zh" if rng.random() < o.zh_prob else "en"
        size = (int(rng.integers(o.width[0], o.width[1] + 1)), int(rng.integers(o.height[0], o.height[1] + 1)))
        focal = round(max(size) * float(rng.uniform(1.2, 2.5)), 1)
        kind = _draw(rng, self.kinds)
        source = _draw(rng, self.textures) if kind == "texture" else self._photo_source(rng)
        photo = self._photo(source) if kind == "photo" else None
        background_record = sample_background(rng, kind, source, photo, size, o.tint_p)
        count = int(rng.integers(o.instances[0], o.instances[1] + 1))
        drafts = [self._sample_instance(rng, lang, size) for _ in range(count)]
        background = draw_background(background_record, size, photo)
        kept: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []  # record, mask, matrix
        footprints: list[np.ndarray] = []
        dropped = []
        for draft in drafts:
            placed = self._place(draft, background, footprints, focal, size)
            if isinstance(placed, str):
                dropped.append({"text": draft["text"], "reason": placed})
            else:
                kept.append(placed)
        if not kept:
            reasons = ", ".join(sorted({d["reason"] for d in dropped}))
            raise Reject("no-readable-text", f"all {len(drafts)} instances dropped ({reasons})")
        rtl = langs.script_for(lang).rtl
        order = geometry.reading_order([np.asarray(record["quad"]) for record, _, _ in kept], rtl)
        image = background
        for record, mask, matrix in kept:
            composite(image, mask, matrix, record)
        instances = [kept[i][0] for i in order]
        meta = {
            "lang": lang, "width": size[0], "height": size[1], "focal": focal, "background": background_record,
            "instances": instances, "dropped": dropped, "drawn_instances": len(drafts),
        }
        return Sample([Image.fromarray(image)], "\n".join(r["text"] for r in instances), meta)

    def _photo_source(self, rng: np.random.Generator) -> str:
        if self.corpus is not None:
            return self.corpus.sample(rng)
        names = self.options.photos
        return f"skimage:{names[int(rng.integers(len(names)))]}"

    def _photo(self, source: str) -> np.ndarray:
        try:
            return self.photos.get(source)
        except (OSError, ValueError, Image.DecompressionBombError) as err:  # a header that read, a body that does not
            raise Reject("bad-image", f"{source}: {err}") from err

    def _sample_instance(self, rng: np.random.Generator, lang: str, size: tuple[int, int]) -> dict[str, Any]:
        """Every random choice of one instance (text, font, size, geometry, effects, places to try,
        candidate colours), drawn whatever becomes of it."""
        o = self.options
        text = self._text(rng, lang)
        try:
            face: fonts.FontFace | None = fonts.font_for_lang(rng, text, lang, o.styles, regular=None)
        except fonts.MissingGlyphs:
            face = None
        size_px = round(float(rng.uniform(*o.text_size)) * min(size), 1)
        angle = round(float(np.clip(rng.normal(0, o.rotation / 2), -o.rotation, o.rotation)), 1)
        tilt = [round(float(v), 1) for v in rng.uniform(-o.tilt, o.tilt, 2)]
        if rng.random() >= o.perspective_p:
            tilt = [0.0, 0.0]
        bend = float(rng.choice([-1.0, 1.0]) * rng.uniform(*o.curve))
        curve = round(bend, 3) if rng.random() < o.curve_p and len(text) >= 3 else 0.0
        outline = max(1, round(float(rng.uniform(*o.outline_px)) * size_px))
        shadow = rng.random() < o.shadow_p
        reach = max(1, round(0.08 * size_px))
        offset = [int(v) for v in rng.integers(-reach, reach + 1, 2)]
        blur = round(float(rng.uniform(0, 0.06 * size_px)), 2)
        opacity = round(float(rng.uniform(0.35, 0.75)), 3)
        return {
            "text": text, "face": face, "size_px": size_px, "angle": angle, "tilt": tilt, "curve": curve,
            "outline_px": outline if rng.random() < o.outline_p else 0,
            "shadow_offset": offset if shadow else [0, 0], "shadow_blur": blur if shadow else 0.0,
            "shadow_opacity": opacity if shadow else 0.0,
            "positions": rng.random((o.positions, 2)), "candidates": colour.sample_candidates(rng),
        }

    def _text(self, rng: np.random.Generator, lang: str) -> str:
        """A run of words (English) or characters (Chinese) from a passage of the text corpus."""
        o = self.options
        for _ in range(20):  # some paragraphs are all punctuation or too short: draw again
            passage = self.texts[lang].sample(rng)
            paragraph = normalise(passage[int(rng.integers(len(passage)))])
            script = langs.script_for(lang)
            if not script.spaced:  # Chinese, Japanese: a run of characters
                units, count, joiner = list(paragraph), int(rng.integers(o.chars[0], o.chars[1] + 1)), ""
            else:
                units, count, joiner = paragraph.split(" "), int(rng.integers(o.words[0], o.words[1] + 1)), " "
            start = int(rng.integers(max(1, len(units) - count + 1)))
            text = _strip_punctuation(joiner.join(units[start:start + count]))[:MAX_CHARS].strip()
            if script.name in ("latin", "cyrillic", "greek") and rng.random() < o.upper_p:
                text = text.upper()
            if text:
                return text
        raise Reject("empty-text", "no passage gave a word")

    # -- decide where it goes, or drop it ----------------------------------------------------
    def _place(self, draft: dict[str, Any], background: np.ndarray, footprints: list[np.ndarray], focal: float,
               size: tuple[int, int]) -> tuple[dict[str, Any], np.ndarray, np.ndarray] | str:
        """The kept instance's record, mask and homography, or the reason it is dropped. A kept
        instance's footprint is appended to ``footprints``."""
        o = self.options
        face = draft["face"]
        if face is None:
            return "missing-glyph"
        raster = geometry.raster_size(draft["size_px"])
        mask = geometry.text_mask(face, raster, draft["text"], draft["curve"])
        if not mask.size or fonts.inkless(face, draft["text"]):
            return "blank-glyph"
        record = {
            "text": draft["text"], "font": face.to_meta(), "size_px": draft["size_px"], "raster_px": raster,
            "scale": round(draft["size_px"] / raster, 5), "angle": draft["angle"], "tilt": draft["tilt"],
            "curve": draft["curve"], "centre": [0.0, 0.0], "outline_px": draft["outline_px"],
            "shadow_offset": draft["shadow_offset"], "shadow_blur": draft["shadow_blur"],
            "shadow_opacity": draft["shadow_opacity"],
        }
        matrix = geometry.homography(mask.shape, record, focal)
        quad = geometry.ink_quad(matrix, mask.shape)
        text_px = raster * geometry.smallest_scale(matrix, quad)
        if text_px < o.min_text_px:
            return "too-small"
        ink = geometry.footprint(quad, draft["outline_px"] + 1)  # the outline stays in the image too
        low, high = -ink.min(axis=0), np.asarray(size) - ink.max(axis=0)
        if np.any(low > high):
            return "off-image"
        reason = "overlap"
        for u in draft["positions"]:
            record["centre"] = [round(float(v), 1) for v in low + u * (high - low)]
            matrix = geometry.homography(mask.shape, record, focal)
            quad = geometry.ink_quad(matrix, mask.shape)
            reach = geometry.footprint(quad, effects_margin(record))
            if any(geometry.overlaps(reach, other) for other in footprints):
                continue
            colours = colour.choose_colours(draft["candidates"], colour.region_levels(_pixels_in(background, quad)),
                                            bool(draft["outline_px"]), o.min_contrast)
            if colours is None:
                reason = "low-contrast"
                continue
            footprints.append(reach)
            stored = np.round(quad, 1)  # the box is of the quad as stored, so validate can recompute it
            record.update(colours, quad=stored.tolist(), box=geometry.box_1000(stored, size),
                          text_px=round(float(text_px), 1))
            return record, mask, matrix
        return reason

    def validate(self, sample: Sample) -> None:
        """Reject a target that is not the instances' texts in order, a box that is not its quad's,
        a readable-contrast record below the threshold, or a glyph the recorded font lacks."""
        meta = sample.meta
        texts = [inst["text"] for inst in meta["instances"]]
        if not texts or sample.target.split("\n") != texts:
            raise Reject("label-mismatch", f"target {sample.target[:60]!r} is not the instances {texts[:6]}")
        size = (meta["width"], meta["height"])
        for inst in meta["instances"]:
            if inst["box"] != geometry.box_1000(np.asarray(inst["quad"]), size):
                raise Reject("label-mismatch", f"box {inst['box']} is not the quad {inst['quad']} scaled")
            if inst["contrast"] < self.options.min_contrast:
                raise Reject("low-contrast", f"{inst['text']!r}: contrast {inst['contrast']}")
            face = fonts.FontFace.from_meta(inst["font"])
            missing = fonts.missing_glyphs(face, inst["text"])
            script = langs.script_for(meta["lang"])
            if script.shaped:
                missing |= shaping.notdef_chars(face, inst["text"], meta["lang"], script)
            if missing:
                raise Reject("missing-glyph", f"{inst['font']['family']} lacks {''.join(sorted(missing))!r}")


def _choice(weights: dict[str, float]) -> tuple[list[str], np.ndarray]:
    names = [k for k, v in weights.items() if v > 0]
    p = np.array([weights[k] for k in names], dtype=float)
    return names, p / p.sum()


def _draw(rng: np.random.Generator, choice: tuple[list[str], np.ndarray]) -> str:
    names, p = choice
    return names[int(rng.choice(len(names), p=p))]


def _strip_punctuation(text: str) -> str:
    start, end = 0, len(text)
    while start < end and (unicodedata.category(text[start])[0] == "P" or text[start] == " "):
        start += 1
    while end > start and (unicodedata.category(text[end - 1])[0] == "P" or text[end - 1] == " "):
        end -= 1
    return text[start:end]


def _pixels_in(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The RGB pixels of ``image`` inside ``quad`` (n, 3), every other row and column."""
    height, width = image.shape[:2]
    x0, y0 = (max(0, math.floor(v)) for v in quad.min(axis=0))
    x1, y1 = min(width, math.ceil(quad[:, 0].max()) + 1), min(height, math.ceil(quad[:, 1].max()) + 1)
    inside = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillConvexPoly(inside, np.rint(quad - [x0, y0]).astype(np.int32), 1)
    return image[y0:y1:2, x0:x1:2][inside[::2, ::2] > 0]
