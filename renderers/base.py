"""The renderer contract (ARCHITECTURE.md, "The renderer contract").

A renderer is a small class. It declares:

* ``name``     unique kebab-case name, no dots (``molecule``, ``text-page``)
* ``markup``   what the target is (``text``, ``smiles``, ``chart-json``, ...)
* ``task``     GOT's prompt family for its samples: one of :data:`renderers.tasks.TASKS`
* ``version``  bumped whenever its output changes for the same seed
* ``Options``  a pydantic model of its options (defaults, types, unknown keys rejected)

and is built as ``Renderer(options, corpus_path)``, where ``corpus_path`` is a user corpus or
``None`` for the built-in offline default. ``render(rng)`` must be a pure function of the
``numpy.random.Generator`` it is given (and the corpus): no global RNG, no clock, no state carried
from one sample to the next; it may raise :class:`Reject`.

The optional hooks have defaults in :class:`RendererDefaults`. A renderer may inherit it or not:
the registry completes a class that leaves hooks out, so callers never ask whether a hook exists.

* ``validate(sample)`` raises :class:`Reject` when the pair is not faithful.
* ``close()`` frees back-ends (browser, LaTeX, toolkits).
* ``corpus``: the :class:`corpora.indexed.IndexedCorpus` the renderer draws from (a user corpus,
  or a built-in one), or ``None`` for generated content only. Splits, deduplication and in-order
  rendering need it.
* ``use_split(selection)``: draw only the items of a :class:`corpora.split.Selection` (a split's,
  deduplicated) from now on. The engine calls it once, right after building the renderer and before
  any sample, when a run asks for ``split`` or ``dedupe``; the default replaces ``corpus`` by
  ``corpus.subset(selection.indices)``. A renderer that cuts smaller content from an item (a line
  from a passage) may also keep only pieces the selection ``holds``.
* In-order rendering of a corpus (``order: cover``: every item, ``passes`` times):
  ``render_item(item, rng) -> list[Sample]``, the parts that together draw one corpus item whole,
  in order: one part, or consecutive pages, systems or slices, whose targets joined by the markup's
  joiner are the item's target. It is a pure function of the item and the generator, may raise
  :class:`Reject` (the engine then draws the whole item again with its next attempt's generator),
  and never drops part of the item: what cannot be drawn is a ``Reject``. The default refuses
  (:func:`covers_items` is false): such a renderer renders corpora by ``order: sample`` only.
  ``render_items(items, rngs)`` is its batch, as ``render_batch`` is ``render``'s.
* Batching, for back-ends with a large fixed cost per call (one LaTeX run): ``batch_size`` and
  ``render_batch(rngs) -> list[Sample | Reject]``, one result per generator, in order, a rejected
  sample returned (not raised). The engine hands it the generators of the next ``batch_size``
  samples of a shard at once. Result ``i`` must be exactly what ``render(rngs[i])`` gives: a pure
  function of that generator, never of its batch-mates, so batching changes speed, never bytes.

A sample's meta: the keys in :data:`META_KEYS` are the ones gotforge itself reads or writes; they
stay at the top level of the meta stored in a shard. Every other key a renderer puts in its meta
is its own, and the engine stores those under the renderer's name
(:func:`pipelines.render.stored_meta.shard_meta`), so two renderers' choices never collide in one
dataset: ``meta["text-page"]["font"]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pydantic
from PIL import Image

from renderers.tasks import check_box, check_color, check_task


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
    instead of encoding ``images`` again (``images`` are then those files opened with PIL).

    ``drawn`` is what the back-end reports it drew (a PDF page's text, the boxes of a chart's labels,
    the glyphs of a formula): ``validate`` checks the label against it. It is never written to a
    shard, so it may be large; a sample that lacks what ``validate`` needs is rejected."""

    images: list[Image.Image]
    target: str
    meta: dict[str, Any]
    png: list[bytes] | None = None
    drawn: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class MetaKey:
    """A meta key that gotforge reads or writes: its type, who sets it, and what it means."""

    type: type | tuple[type, ...]
    set_by: str  # "renderer" (required), "renderer, optional", or "engine"
    meaning: str
    check: Callable[[Any], None] | None = None


def _check_pages(value: int) -> None:
    if value < 2:
        raise ValueError(f"pages counts the images of a multi-page sample (2 or more), found {value}")


SOURCE_FIELDS = {"file": (str,), "line": (int, type(None)), "row": (int, type(None)), "item": (int,), "pass": (int,),
                 "part": (int,), "parts": (int,)}


def _check_source(value: dict[str, Any]) -> None:
    if set(value) != set(SOURCE_FIELDS):
        raise ValueError(f"source holds {sorted(SOURCE_FIELDS)}, found {sorted(value)}")
    for key, types in SOURCE_FIELDS.items():
        if isinstance(value[key], bool) or not isinstance(value[key], types):
            raise TypeError(f"source[{key!r}] must be {' or '.join(t.__name__ for t in types)}, found {value[key]!r}")
    if not 0 <= value["part"] < value["parts"]:
        raise ValueError(f"source part {value['part']} is not one of {value['parts']} parts")


def _check_crops(value: int) -> None:
    if value < 1:
        raise ValueError(f"crops is the most tiles the trainer cuts (1 or more), found {value}")


META_KEYS: dict[str, MetaKey] = {
    "lang": MetaKey(str, "renderer", "language of the target, ISO 639-1 (en, zh, ...)"),
    "task": MetaKey(str, "renderer, optional", "GOT's prompt family of this sample; default: the class's task",
                    check_task),
    "box": MetaKey(list, "renderer, optional", "box-guided OCR: [x1, y1, x2, y2] on a 0-1000 scale of the image",
                   check_box),
    "color": MetaKey(str, "renderer, optional", "colour-guided OCR: the frame's colour (red, green, blue)",
                     check_color),
    "crops": MetaKey(int, "renderer, optional", "multi-crop: the most tiles the trainer cuts, plus a thumbnail",
                     _check_crops),
    "pages": MetaKey(int, "engine", "multi-page: the number of page images (set when there are several)",
                     _check_pages),
    "renderer": MetaKey(str, "engine", "the renderer's registered name"),
    "renderer_version": MetaKey(str, "engine", "the renderer's version"),
    "markup": MetaKey(str, "engine", "what the target is (the renderer's markup)"),
    "seed": MetaKey(int, "engine", "the sample's seed: numpy.random.default_rng(seed) replays it"),
    "attempt": MetaKey(int, "engine", "rejected attempts before this sample (each attempt has its own seed)"),
    "prompt": MetaKey(str, "engine", "GOT's query for this sample (got_model.prompts.query_for_meta)"),
    "augment": MetaKey(dict, "engine", "the degradation applied (renderers.augment): preset, operations, parameters"),
    "source": MetaKey(dict, "engine", "in-order rendering: the corpus item drawn (file, line or row, item, pass) "
                      "and which part of it (part k of parts)", _check_source),
}


def check_meta_key(key: str, value: Any) -> None:
    """Raise ``TypeError``/``ValueError`` when a contract key holds a value of the wrong type or range."""
    spec = META_KEYS[key]
    if isinstance(value, bool) or not isinstance(value, spec.type):
        raise TypeError(f"meta[{key!r}] must be {spec.type}, found {type(value).__name__} {value!r}")
    if spec.check is not None:
        spec.check(value)


class RendererDefaults:
    """Defaults of the optional hooks (module docstring); a renderer overrides what it needs."""

    batch_size: ClassVar[int] = 1
    corpus: Any = None

    def validate(self, sample: Sample) -> None:
        """Nothing beyond the engine's own checks."""

    def close(self) -> None:
        """No back-end to free."""

    def render_batch(self, rngs: Sequence[np.random.Generator]) -> list[Sample | Reject]:
        results: list[Sample | Reject] = []
        for rng in rngs:
            try:
                results.append(self.render(rng))  # type: ignore[attr-defined]
            except Reject as reject:
                results.append(reject)
        return results

    def use_split(self, selection: Any) -> None:
        """Draw only the selection's items of ``corpus`` from now on."""
        self.corpus = self.corpus.subset(selection.indices)

    def render_item(self, item: Any, rng: np.random.Generator) -> list[Sample]:
        """Refuses: this renderer draws corpora only at random (``order: sample``)."""
        raise TypeError(f"renderer {getattr(self, 'name', type(self).__name__)} cannot render a corpus "
                        f"item by item (it has no render_item); set order: sample")

    def render_items(self, items: Sequence[Any], rngs: Sequence[np.random.Generator]) -> list[list[Sample] | Reject]:
        results: list[list[Sample] | Reject] = []
        for item, rng in zip(items, rngs, strict=True):
            try:
                results.append(self.render_item(item, rng))
            except Reject as reject:
                results.append(reject)
        return results


def covers_items(renderer: Any) -> bool:
    """Whether ``renderer`` renders a corpus item by item (it has its own ``render_item``)."""
    return type(renderer).render_item is not RendererDefaults.render_item


def with_defaults(cls: type) -> type:
    """``cls`` itself when it inherits :class:`RendererDefaults`, else a subclass that adds the
    default hooks it leaves out (its own methods win)."""
    if issubclass(cls, RendererDefaults):
        return cls
    return type(cls.__name__, (cls, RendererDefaults), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})


@runtime_checkable
class Renderer(Protocol):
    """What callers may use of a renderer built from a registry class."""

    name: ClassVar[str]
    markup: ClassVar[str]
    task: ClassVar[str]
    version: ClassVar[str]
    Options: ClassVar[type[RendererOptions]]
    batch_size: ClassVar[int]
    corpus: Any

    def render(self, rng: np.random.Generator) -> Sample: ...

    def render_batch(self, rngs: Sequence[np.random.Generator]) -> list[Sample | Reject]: ...

    def render_item(self, item: Any, rng: np.random.Generator) -> list[Sample]: ...

    def render_items(self, items: Sequence[Any], rngs: Sequence[np.random.Generator]) -> list[list[Sample] | Reject]: ...

    def use_split(self, selection: Any) -> None: ...

    def validate(self, sample: Sample) -> None: ...

    def close(self) -> None: ...


def render_one(renderer: Any, rng: np.random.Generator) -> Sample:
    """``render`` for a renderer whose real work is ``render_batch``: a batch of one."""
    result = renderer.render_batch([rng])[0]
    if isinstance(result, Reject):
        raise result
    return result


def render_one_item(renderer: Any, item: Any, rng: np.random.Generator) -> list[Sample]:
    """``render_item`` for a renderer whose real work is ``render_items``: a batch of one."""
    result = renderer.render_items([item], [rng])[0]
    if isinstance(result, Reject):
        raise result
    return result
