"""The render run's configuration: what to render, how much, into which shards.

Two ways in, one resolved form (:class:`RunConfig`):

* the command line: ``--renderer NAME … --samples N --shard-size M --seed S [--corpus PATH]
  [--set <renderer>.<option>=<value> …]`` (``--samples`` is per renderer);
* a YAML file (``configs/render/*.yaml``) with a weighted mix::

      seed: 0
      samples: 1000          # in all, split by weight (largest remainder)
      shard_size: 100
      renderers:
        text-page: {weight: 2, options: {slice: true}, corpus: my_texts/}
        molecule: {weight: 1}

Everything is checked before any work: unknown keys, unknown renderers, option names and types
(each renderer's own pydantic ``Options``), corpus paths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml

from renderers import registry


class ConfigError(ValueError):
    """An unusable render configuration; the message names the key or file to fix."""


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class RendererJob(_Strict):
    """One renderer's part of a run."""

    name: str
    samples: pydantic.NonNegativeInt
    options: dict[str, Any] = {}
    corpus: str | None = None


class RunConfig(_Strict):
    """The resolved run: every field here decides the bytes of the shards (workers do not)."""

    seed: int = 0
    shard_size: pydantic.PositiveInt = 1000
    png_compress_level: int = pydantic.Field(default=1, ge=0, le=9)
    renderers: tuple[RendererJob, ...]

    @pydantic.model_validator(mode="after")
    def _unique_names(self) -> RunConfig:
        names = [job.name for job in self.renderers]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"renderer {', '.join(doubled)} listed twice; list each renderer once")
        if not names:
            raise ValueError("no renderer given; name at least one")
        return self


class _MixEntry(_Strict):
    weight: pydantic.PositiveFloat = 1.0
    options: dict[str, Any] = {}
    corpus: str | None = None


class _MixFile(_Strict):
    seed: int = 0
    samples: pydantic.PositiveInt
    shard_size: pydantic.PositiveInt = 1000
    png_compress_level: int = pydantic.Field(default=1, ge=0, le=9)
    out: str | None = None
    workers: pydantic.PositiveInt | None = None
    renderers: dict[str, _MixEntry]


def split_by_weight(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` samples by ``weights`` (largest remainder, ties to the earlier entry)."""
    norm = sum(weights)
    exact = [total * w / norm for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def parse_assignments(assignments: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["text-page.slice=true"]`` → ``{"text-page": {"slice": "true"}}`` (values typed later)."""
    parsed: dict[str, dict[str, Any]] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        name, dot, option = key.partition(".")
        if not sep or not dot or not name or not option:
            raise ConfigError(f"--set {item!r}: expected <renderer>.<option>=<value>, e.g. text-page.slice=true")
        parsed.setdefault(name, {})[option] = yaml.safe_load(value) if value else value
    return parsed


def _pydantic_message(err: pydantic.ValidationError, where: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top)"
        lines.append(f"{where}: {loc}: {e['msg']}")
    return "\n".join(lines)


def check_options(job: RendererJob) -> Any:
    """Validate a job's options against its renderer's ``Options``; returns the parsed model."""
    cls = registry.load(job.name)
    try:
        return cls.Options(**job.options)
    except pydantic.ValidationError as err:
        known = ", ".join(cls.Options.model_fields)
        raise ConfigError(_pydantic_message(err, f"options of renderer {job.name}") + f"\n(known options: {known})")


def check_run(config: RunConfig) -> None:
    """Fail before any work on unknown renderers, bad options or missing corpus paths."""
    for job in config.renderers:
        registry.get_entry(job.name)
        check_options(job)
        if job.corpus is not None and not Path(job.corpus).exists():
            raise ConfigError(f"corpus path {job.corpus} (renderer {job.name}) does not exist")


def from_args(
    renderers: Sequence[str],
    samples: int,
    shard_size: int,
    seed: int,
    corpus: str | None,
    assignments: Sequence[str],
) -> RunConfig:
    """The command-line form: ``samples`` per renderer, ``--set`` options per renderer."""
    options = parse_assignments(assignments)
    stray = sorted(set(options) - set(renderers))
    if stray:
        raise ConfigError(f"--set names renderer {', '.join(stray)}, which is not in --renderer {' '.join(renderers)}")
    try:
        config = RunConfig(
            seed=seed,
            shard_size=shard_size,
            renderers=tuple(
                RendererJob(name=n, samples=samples, options=options.get(n, {}), corpus=corpus) for n in renderers
            ),
        )
    except pydantic.ValidationError as err:
        raise ConfigError(_pydantic_message(err, "command line")) from None
    check_run(config)
    return config


def load_mix(path: str | Path, assignments: Sequence[str] = ()) -> tuple[RunConfig, dict[str, Any]]:
    """The YAML form. Returns the run and the file's run settings (``out``, ``workers``)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read render config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"render config {path} is not valid YAML: {err}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"render config {path} must be a mapping with samples and renderers")
    try:
        mix = _MixFile(**raw)
    except pydantic.ValidationError as err:
        raise ConfigError(_pydantic_message(err, str(path))) from None
    names = list(mix.renderers)
    overrides = parse_assignments(assignments)
    counts = split_by_weight(mix.samples, [e.weight for e in mix.renderers.values()])
    base = path.parent

    def corpus_path(value: str | None) -> str | None:
        if value is None:
            return None
        p = Path(value)
        return str(p if p.is_absolute() or p.exists() else base / p)

    try:
        config = RunConfig(
            seed=mix.seed,
            shard_size=mix.shard_size,
            png_compress_level=mix.png_compress_level,
            renderers=tuple(
                RendererJob(
                    name=n,
                    samples=c,
                    options={**e.options, **overrides.get(n, {})},
                    corpus=corpus_path(e.corpus),
                )
                for (n, e), c in zip(mix.renderers.items(), counts)
            ),
        )
    except pydantic.ValidationError as err:
        raise ConfigError(_pydantic_message(err, str(path))) from None
    stray = sorted(set(overrides) - set(names))
    if stray:
        raise ConfigError(f"--set names renderer {', '.join(stray)}, which {path} does not list")
    check_run(config)
    return config, {"out": mix.out, "workers": mix.workers}
