"""The renderer contract (ARCHITECTURE.md, "A renderer").

A renderer is a small class, not a subclass of anything here. It declares:

* ``name``     unique kebab-case name, no dots (``molecule``, ``text-page``)
* ``markup``   what the target is (``text``, ``smiles``, ``chart-json``, ...)
* ``task``     GOT's prompt family for its samples: ``ocr`` or ``format``
* ``version``  bumped whenever its output changes for the same seed
* ``Options``  a pydantic model of its options (defaults, types, unknown keys rejected)

and is built as ``Renderer(options, corpus_path)``, where ``corpus_path`` is a user corpus or
``None`` for the built-in offline default. ``render(rng)`` must be a pure function of the
``numpy.random.Generator`` it is given (and the corpus): no global RNG, no clock, no state carried
from one sample to the next. ``validate(sample)`` (optional) raises :class:`Reject` when the pair
is not faithful; ``render`` may raise :class:`Reject` too. ``close()`` (optional) frees back-ends.
A renderer may expose ``corpus`` (a :class:`corpora.base.Corpus`) so the engine can report the
corpus lines it rejected while loading.

Batching (optional, for back-ends with a large fixed cost per call, such as one LaTeX run): a
renderer may also declare ``batch_size`` (int) and ``render_batch(rngs) -> list[Sample | Reject]``,
one result per generator, in order, a rejected sample returned (not raised) as its :class:`Reject`.
The engine (``pipelines.render.shard.render_valid``) then hands it the generators of the next
``batch_size`` samples of a shard at once; a rejected sample is retried with its next attempt's seed
in a later batch. Result ``i`` must be exactly what ``render(rngs[i])`` gives: a pure function of
that generator, never of its batch-mates, so batching changes speed, never bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pydantic
from PIL import Image

TASKS = ("ocr", "format")


class Reject(Exception):
    """A sample that must not be written. ``reason`` is a short kebab-case key counted in stats;
    ``detail`` is free text for logs (e.g. the LaTeX error line)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class RendererOptions(pydantic.BaseModel):
    """Base for a renderer's ``Options``: immutable, and an unknown key is an error."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def _positive_range(value: tuple[float, float]) -> tuple[float, float]:
    if not 0 < value[0] <= value[1]:
        raise ValueError(f"expected a range 0 < low <= high, found {list(value)}")
    return value


# Option types for ``(low, high)`` ranges sampled per sample, checked once when options are parsed.
PositiveRange = Annotated[tuple[float, float], pydantic.AfterValidator(_positive_range)]
PositiveIntRange = Annotated[tuple[int, int], pydantic.AfterValidator(_positive_range)]


def SubsetOf(known: Sequence[str]) -> Any:
    """Option type for a non-empty tuple drawn from ``known`` (kinds, themes, fonts, ...)."""
    allowed = tuple(dict.fromkeys(known))

    def check(values: tuple[str, ...]) -> tuple[str, ...]:
        if not values or any(v not in allowed for v in values):
            raise ValueError(f"expected a non-empty subset of {list(allowed)}, found {list(values)}")
        return values

    return Annotated[tuple[str, ...], pydantic.AfterValidator(check)]


@dataclasses.dataclass
class Sample:
    """One rendered pair. ``images`` holds one PIL image (several for multi-page);
    ``meta`` records every random choice and must be JSON-serialisable. A renderer may set
    ``meta["task"]`` to override its class ``task`` for one sample (fine-grained tasks).

    ``png`` is optional: when the back-end already produced PNG files (RDKit, browser screenshots),
    the renderer passes their bytes here, one per image, and the engine writes them as they are
    instead of encoding ``images`` again (``images`` are then those files opened with PIL)."""

    images: list[Image.Image]
    target: str
    meta: dict[str, Any]
    png: list[bytes] | None = None


@runtime_checkable
class Renderer(Protocol):
    name: ClassVar[str]
    markup: ClassVar[str]
    task: ClassVar[str]
    version: ClassVar[str]
    Options: ClassVar[type[RendererOptions]]

    def render(self, rng: np.random.Generator) -> Sample: ...


def render_one(renderer: Any, rng: np.random.Generator) -> Sample:
    """``render`` for a renderer whose real work is ``render_batch``: a batch of one."""
    result = renderer.render_batch([rng])[0]
    if isinstance(result, Reject):
        raise result
    return result
