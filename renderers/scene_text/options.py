"""The scene-text renderer's options: the ranges every image and text instance is drawn from."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from corpora.text import LANGS
from renderers.base import PositiveIntRange, PositiveRange, RendererOptions, SubsetOf
from renderers.scene_text.backgrounds import BUILTIN_PHOTOS, TEXTURES

Probability = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]


def _weights(value: dict[str, float]) -> dict[str, float]:
    if not value or min(value.values()) < 0 or sum(value.values()) <= 0:
        raise ValueError(f"expected non-negative weights with a positive sum, found {value}")
    return value


class Options(RendererOptions):
    # "mix" (English or Chinese by zh_prob), a language of the built-in text (corpora.text.LANGS), or
    # such languages by weight ({en: 1, ar: 0.3, ru: 0.3}); the language is drawn per image.
    lang: str | dict[str, float] = "mix"
    zh_prob: Probability = 0.4  # for lang "mix": chance an image's text is Chinese
    width: PositiveIntRange = (512, 1024)
    height: PositiveIntRange = (512, 1024)
    # Where the background comes from: a photo (scikit-image's, or the user's folder given as the
    # corpus) or a procedural texture.
    backgrounds: dict[Literal["photo", "texture"], float] = pydantic.Field(
        default_factory=lambda: {"photo": 0.65, "texture": 0.35})
    photos: SubsetOf(BUILTIN_PHOTOS) = BUILTIN_PHOTOS  # type: ignore[valid-type]
    textures: dict[Literal[TEXTURES], float] = pydantic.Field(  # type: ignore[valid-type]
        default_factory=lambda: dict.fromkeys(TEXTURES, 1.0))
    tint_p: Probability = 0.4  # a grey photo multiplied by a colour
    instances: PositiveIntRange = (1, 6)  # text instances drawn per image, before drops
    words: PositiveIntRange = (1, 4)  # English words in an instance
    chars: PositiveIntRange = (2, 8)  # Chinese characters in an instance
    upper_p: Probability = 0.2  # English in capitals, as on signs
    text_size: PositiveRange = (0.035, 0.13)  # text height (px) / the image's shorter side
    styles: dict[Literal["serif", "sans", "mono", "hand"], float] = pydantic.Field(  # hand: handwriting faces
        default_factory=lambda: {"serif": 0.35, "sans": 0.55, "mono": 0.1})
    rotation: float = pydantic.Field(20.0, ge=0, le=90)  # degrees either way, in the image plane
    tilt: float = pydantic.Field(35.0, ge=0, le=60)  # degrees either way about each axis: perspective
    perspective_p: Probability = 0.5
    curve_p: Probability = 0.2  # text on an arc (curved baseline)
    curve: PositiveRange = (0.4, 1.4)  # the arc's angle in radians, bent up or down
    outline_p: Probability = 0.25
    outline_px: PositiveRange = (0.04, 0.1)  # outline width / text height
    shadow_p: Probability = 0.25
    min_contrast: float = pydantic.Field(3.0, ge=1.0, le=21.0)  # WCAG ratio, 3 = AA for large text
    min_text_px: float = pydantic.Field(10.0, gt=0)  # text drawn smaller than this is dropped
    positions: int = pydantic.Field(3, ge=1, le=20)  # places tried per instance before it is dropped

    @pydantic.field_validator("lang")
    @classmethod
    def _lang(cls, value: str | dict[str, float]) -> str | dict[str, float]:
        codes = [value] if isinstance(value, str) else list(value)
        unknown = [c for c in codes if c not in LANGS and not (c == "mix" and isinstance(value, str))]
        if unknown:
            raise ValueError(f"no built-in text in {unknown[0]!r}: expected 'mix' or languages among {list(LANGS)}")
        return value if isinstance(value, str) else _weights(value)

    @pydantic.field_validator("backgrounds", "textures", "styles")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        return _weights(value)
