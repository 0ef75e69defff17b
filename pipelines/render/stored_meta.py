"""The meta the engine stores with a sample (ARCHITECTURE.md, "The sample contract").

The renderer's contract keys stay at the top level, checked (``renderers.base.META_KEYS``); the
engine fills in its own keys and GOT's query (``got_model.prompts``, which imports nothing but the
standard library, so a render worker still starts without torch); every other key a renderer set is
stored under its name, so two renderers' choices never collide in one dataset.
"""

from __future__ import annotations

from typing import Any

from got_model.prompts import query_for_meta
from renderers.base import META_KEYS, Sample, check_meta_key


def shard_meta(renderer: Any, sample: Sample, seed: int, attempt: int,
               source: dict[str, Any] | None = None) -> dict[str, Any]:
    """The meta stored with a sample: the contract keys at the top level, the engine's own filled in
    (``source`` in in-order rendering), the renderer's other keys under its name, and GOT's query."""
    own = {k: v for k, v in sample.meta.items() if k not in META_KEYS}
    meta = {k: v for k, v in sample.meta.items() if k in META_KEYS}
    if "lang" not in meta:
        raise TypeError(f"renderer {renderer.name} left out meta['lang'] (required by the sample contract)")
    meta.setdefault("task", renderer.task)
    if len(sample.images) > 1:
        meta.setdefault("pages", len(sample.images))
    meta.update(renderer=renderer.name, renderer_version=str(renderer.version), markup=renderer.markup,
                seed=seed, attempt=attempt)
    if source is not None:
        meta["source"] = source
    for key, value in meta.items():
        check_meta_key(key, value)
    meta["prompt"] = query_for_meta(meta)
    if own:
        meta[renderer.name] = own
    return meta
