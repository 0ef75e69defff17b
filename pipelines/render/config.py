"""The render run's configuration: what to render, how much, into which shards.

Two ways in, one resolved form (:class:`RunConfig`):

* the command line: ``--renderer NAME … --samples N --shard-size M --seed S [--corpus PATH]
  [--set <renderer>.<option>=<value> …]`` (``--samples`` is per renderer);
* a YAML file (``configs/render/*.yaml``) with a weighted mix::

      seed: 0
      samples: 1000          # in all, split by weight (largest remainder) among sampling renderers
      shard_size: 100
      renderers:
        text-page: {weight: 2, options: {slice: true}, split: {train: 0.98, heldout: 0.02}, use_split: train}
        molecule: {weight: 1}
        formula: {corpus: my_formulas.txt, passes: 2}    # covers the corpus: every item, twice

How a job draws its corpus (:class:`CorpusUse`, beside ``options``; on the command line through
``--set <renderer>.<key>=<value>`` too): ``order`` (``cover``: every item in order, the default with a
user corpus, :mod:`pipelines.render.coverage`; ``sample``: at random with replacement, the default
otherwise), ``passes`` (renderings of each item when covering), ``split`` with ``use_split``, and
``dedupe`` (:mod:`corpora.split`). A covering job renders all its items × passes; on the command
line, ``--samples`` asks for the first units only (in a file, ``samples`` is for sampling renderers).

Everything is checked before any work: unknown keys, unknown renderers, option names and types
(each renderer's own pydantic ``Options``), corpus paths. ``--set`` follows the one rule of
pipelines.config (the value read as YAML); with a file, ``--set`` may name only renderers it lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pydantic

from pipelines.config import Assignment, ConfigError, StrictModel, apply_sets, parse_sets, read_yaml, validate
from renderers import registry

SET_EXAMPLE = "text-page.slice=true"
DEFAULT_SAMPLES = 100  # per renderer drawn at random, when the command line gives no --samples


class CorpusUse(StrictModel):
    """How a job draws its corpus (module docstring); the renderer's own options stay in ``options``."""

    order: Literal["cover", "sample"] | None = None  # None: cover a user corpus, else sample
    passes: pydantic.PositiveInt = 1
    split: dict[str, pydantic.PositiveFloat] | None = None
    use_split: str | None = None
    dedupe: bool = False

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> CorpusUse:
        if self.split is not None:
            if abs(sum(self.split.values()) - 1.0) > 1e-6:
                raise ValueError(f"split fractions must sum to 1, found {self.split}")
            if self.use_split not in self.split:
                raise ValueError(f"use_split must name one of the splits {sorted(self.split)}, found {self.use_split!r}")
        elif self.use_split is not None:
            raise ValueError(f"use_split {self.use_split!r} needs split: {{name: fraction, ...}}")
        if self.passes > 1 and self.order == "sample":
            raise ValueError("passes counts the renderings of each item in order: cover; leave it out with order: sample")
        return self


CORPUS_KEYS = tuple(CorpusUse.model_fields)


class RendererJob(CorpusUse):
    """One renderer's part of a run. ``samples``: how many to draw; None for a covering job: all its units."""

    name: str
    samples: pydantic.NonNegativeInt | None = None
    options: dict[str, Any] = pydantic.Field(default_factory=dict)
    corpus: str | None = None
    # Degradation presets by weight (renderers.augment), applied by the engine after validate.
    augment: dict[str, float] = pydantic.Field(default_factory=dict)

    @pydantic.field_validator("augment")
    @classmethod
    def _known_presets(cls, value: dict[str, float]) -> dict[str, float]:
        if value:
            from renderers.augment import check_weights

            check_weights(value)
        return value

    @property
    def covers(self) -> bool:
        """Whether the job renders its corpus in order (pipelines.render.coverage)."""
        return self.order == "cover" or (self.order is None and self.corpus is not None)

    @pydantic.model_validator(mode="after")
    def _counted(self) -> RendererJob:
        if self.samples is None and not self.covers:
            raise ValueError(f"renderer {self.name} draws at random: give samples")
        return self


class RunConfig(StrictModel):
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


class _MixEntry(CorpusUse):
    weight: pydantic.PositiveFloat = 1.0
    options: dict[str, Any] = pydantic.Field(default_factory=dict)
    corpus: str | None = None
    augment: dict[str, float] = pydantic.Field(default_factory=dict)


class _MixFile(StrictModel):
    seed: int = 0
    samples: pydantic.PositiveInt | None = None  # None when every renderer covers its corpus
    shard_size: pydantic.PositiveInt = 1000
    png_compress_level: int = pydantic.Field(default=1, ge=0, le=9)
    out: str | None = None
    workers: pydantic.PositiveInt | None = None
    # Where the shards are made (pipelines.render.distribute); like workers, never what they hold.
    distributor: str = "local"
    ray_address: str | None = None  # with distributor ray: the cluster to join (None: Ray's default)
    renderers: dict[str, _MixEntry]


def _covers(entry: _MixEntry) -> bool:
    return entry.order == "cover" or (entry.order is None and entry.corpus is not None)


def split_by_weight(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` samples by ``weights`` (largest remainder, ties to the earlier entry)."""
    norm = sum(weights)
    exact = [total * w / norm for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _job_path(path: tuple[str, ...]) -> tuple[str, ...]:
    """Where ``--set name.key…`` goes in a job: a corpus key of the job itself, or its options."""
    return (path[0], *path[1:]) if path[1] in CORPUS_KEYS else (path[0], "options", *path[1:])


def renderer_sets(texts: Sequence[str]) -> list[Assignment]:
    """``["text-page.slice=true"]`` parsed by the one ``--set`` rule; each key names a renderer first."""
    assignments = parse_sets(texts, SET_EXAMPLE)
    for item in assignments:
        if len(item.path) < 2:
            raise ConfigError(f"--set {item.text!r}: expected <renderer>.<option>=<value>, e.g. {SET_EXAMPLE}")
    return assignments


def check_options(job: RendererJob, where: str = "render config", prefix: Sequence[str] | None = None,
                  sets: Sequence[Assignment] = ()) -> Any:
    """Validate a job's options against its renderer's ``Options``; returns the parsed model.

    Errors name ``where`` and each key under ``prefix`` (default: ``<renderer>.``, as ``--set`` spells it),
    and the ``--set`` among ``sets`` that gave a bad value.
    """
    cls = registry.load(job.name)
    return validate(cls.Options, job.options, where, (job.name,) if prefix is None else prefix, sets)


def check_run(config: RunConfig, source: Path | None = None, sets: Sequence[Assignment] = ()) -> None:
    """Fail before any work on unknown renderers, bad options or missing corpus paths.

    ``source``: the render config file the run came from (named in errors), or None for the command line;
    ``sets``: the ``--set`` assignments, with their paths in the file's terms.
    """
    for job in config.renderers:
        registry.get_entry(job.name)
        if source is None:
            check_options(job, "command line (--set)")
        else:
            check_options(job, str(source), ("renderers", job.name, "options"), sets)
        if job.corpus is not None and not Path(job.corpus).exists():
            where = "--corpus" if source is None else f"{source}: renderers.{job.name}.corpus"
            raise ConfigError(f"{where}: corpus path {job.corpus} (renderer {job.name}) does not exist")


def from_args(
    renderers: Sequence[str],
    samples: int | None,
    shard_size: int,
    seed: int,
    corpus: str | None,
    assignments: Sequence[str],
) -> RunConfig:
    """The command-line form: ``samples`` per renderer (None: :data:`DEFAULT_SAMPLES` drawn at random, or
    a covering renderer's every unit), ``--set`` options per renderer, and its corpus keys
    (:data:`CORPUS_KEYS`)."""
    sets = renderer_sets(assignments)
    stray = sorted({item.path[0] for item in sets} - set(renderers))
    if stray:
        raise ConfigError(f"--set names renderer {', '.join(stray)}, which is not in --renderer {' '.join(renderers)}")
    sets = [item._replace(path=_job_path(item.path)) for item in sets]
    jobs = apply_sets({n: {"name": n, "samples": samples, "corpus": corpus} for n in renderers}, sets)
    for job in jobs.values():
        if job["samples"] is None and not _covers(_MixEntry(**{k: job.get(k) for k in ("order", "corpus")})):
            job["samples"] = DEFAULT_SAMPLES
    config = validate(RunConfig, {"seed": seed, "shard_size": shard_size, "renderers": list(jobs.values())},
                      "command line")
    check_run(config)
    return config


def load_mix(path: str | Path, assignments: Sequence[str] = (), replace: Mapping[str, Any] | None = None,
             ) -> tuple[RunConfig, dict[str, Any]]:
    """The YAML form. Returns the run and the file's run settings (``out``, ``workers``,
    ``distributor``, ``ray_address``).

    ``assignments`` (``--set``) override options of renderers the file lists; ``replace`` replaces
    top-level keys of the file (the command line's ``--samples``, ``--shard-size``, ``--seed``;
    ``samples`` stays the total, split by weight).
    """
    path = Path(path)
    raw = read_yaml(path, "render config", "configs/render/")
    sets = renderer_sets(assignments)
    listed = raw.get("renderers") if isinstance(raw.get("renderers"), dict) else {}
    stray = sorted({item.path[0] for item in sets} - set(listed))
    if stray:
        raise ConfigError(f"--set names renderer {', '.join(stray)}, which {path} does not list")
    sets = [item._replace(path=("renderers", *_job_path(item.path))) for item in sets]
    sets += [Assignment(str(v), (k,), v, "--" + k.replace("_", "-")) for k, v in (replace or {}).items()]
    raw = apply_sets(raw, sets)
    mix = validate(_MixFile, raw, str(path), sets=sets)
    drawn = {n: e for n, e in mix.renderers.items() if not _covers(e)}
    if drawn and mix.samples is None:
        raise ConfigError(f"{path}: samples: give the samples to draw at random for {', '.join(drawn)}")
    counts = dict(zip(drawn, split_by_weight(mix.samples or 0, [e.weight for e in drawn.values()])))
    base = path.parent

    def corpus_path(value: str | None) -> str | None:
        """Relative paths that do not exist from here are taken from the config file's folder."""
        if value is None:
            return None
        p = Path(value)
        return str(p if p.is_absolute() or p.exists() else base / p)

    config = validate(RunConfig, {
        "seed": mix.seed,
        "shard_size": mix.shard_size,
        "png_compress_level": mix.png_compress_level,
        "renderers": [{"name": n, "samples": counts.get(n), "options": e.options, "corpus": corpus_path(e.corpus),
                       "augment": e.augment, **e.model_dump(include=set(CORPUS_KEYS))}
                      for n, e in mix.renderers.items()],
    }, str(path))
    check_run(config, path, sets)
    return config, {"out": mix.out, "workers": mix.workers, "distributor": mix.distributor,
                    "ray_address": mix.ray_address}
