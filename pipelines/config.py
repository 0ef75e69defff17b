"""Config plumbing shared by the render config (pipelines.render.config) and the training config
(pipelines.train.config): one error, one strict base model, one reader of YAML files, one ``--set``
rule and one way to report a validation error.

The ``--set KEY=VALUE`` rule, for ``gotforge render`` and ``gotforge train`` alike:

* KEY is a dotted path into the config: ``optim.lr``, ``data.workers``; for a render run,
  ``<renderer>.<option>`` (``text-page.slice``, ``text-page.regions.box``). Missing sections on the
  way are created; a path through a value that is not a section is an error.
* VALUE is read by ``yaml.safe_load``, the reader of the config files themselves: ``true``/``false``,
  ``12``, ``0.5``, ``null`` (and an empty value), ``[1, 2]``, ``{page: 0.6, box: 0.4}``; anything
  else is a string. Quote a string that YAML would read as something else (``lang='no'``, ``id='007'``).
  The model then checks the type, so ``optim.lr=3e-4`` (a string to YAML 1.1) becomes a float
  where a float is expected and ``optim.lr=fast`` fails naming ``optim.lr``.

Every error is a :class:`ConfigError` whose message names the file (or the command line), the key and
what was expected and found.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pydantic
import yaml

Model = TypeVar("Model", bound=pydantic.BaseModel)


class ConfigError(ValueError):
    """An unusable configuration; the message names the file or option and the key to fix."""


class StrictModel(pydantic.BaseModel):
    """Base of every config section: immutable, and an unknown key is an error."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


# --- reporting validation errors ----------------------------------------------------------------


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap_optional(rest[0])
    return annotation


def _child_type(annotation: Any, part: str | int) -> Any:
    """The type found at ``part`` of a value of type ``annotation`` (a field, an item), or None."""
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (tuple, list) and args:
        return args[0]
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    return None


def _known_keys(model: type[pydantic.BaseModel] | None, section: Sequence[str | int]) -> list[str]:
    """The keys the section at ``section`` (a path from ``model``) accepts; empty when unknown."""
    annotation: Any = model
    for part in section:
        annotation = _child_type(annotation, part)
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return list(annotation.model_fields)
    return []


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_errors(
    err: pydantic.ValidationError,
    where: str,
    model: type[pydantic.BaseModel] | None = None,
    prefix: Sequence[str] = (),
    sets: Sequence[Assignment] = (),
) -> str:
    """One line per problem: ``WHERE: dotted.key: what was expected (found …)``.

    ``model`` (the validated class) lets an unknown key list the known ones; ``prefix`` is prepended to
    every key, for a model validated as part of a larger config (a renderer's options); a key that one of
    ``sets`` wrote names that option, since the file is then not where the value came from.
    """
    errors = err.errors()
    locs = [tuple(e["loc"]) for e in errors]
    lines = []
    for e, loc in zip(errors, locs):
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs):
            continue  # a section's error caused by an error inside it, which is reported
        path = (*prefix, *loc)
        key = ".".join(str(p) for p in path) or "(top level)"
        kind = e["type"]
        if kind == "missing":
            what = "required, missing"
        elif kind == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            what = "unknown key" + (f"; the known keys here: {', '.join(known)}" if known else "")
        else:
            what = e["msg"].removeprefix("Value error, ")
            if loc and not isinstance(e.get("input"), Mapping):
                what += f" (found {_found(e.get('input'))})"
        given = [a for a in sets if path[: len(a.path)] == a.path]
        if given:
            what += f" (from {given[-1].option} {given[-1].text!r})"
        lines.append(f"{where}: {key}: {what}")
    return "\n".join(lines)


def validate(model: type[Model], data: Any, where: str, prefix: Sequence[str] = (),
             sets: Sequence[Assignment] = ()) -> Model:
    """``model`` from plain data, or a :class:`ConfigError` naming ``where`` and each bad key."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        raise ConfigError(format_errors(err, where, model, prefix, sets)) from None


# --- --set KEY=VALUE --------------------------------------------------------------------------------


class Assignment(NamedTuple):
    """One parsed ``--set`` (or another option that replaces a key): the text as given and the option,
    for messages, the key path and the value."""

    text: str
    path: tuple[str, ...]
    value: Any
    option: str = "--set"


def parse_set(text: str, example: str = "optim.lr=3e-4") -> Assignment:
    """``"optim.lr=3e-4"`` → ``Assignment(text, ("optim", "lr"), "3e-4")`` (the value read as YAML)."""
    key, sep, raw = text.partition("=")
    path = tuple(part.strip() for part in key.split("."))
    if not sep or not all(path):
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE with a dotted KEY, e.g. {example}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({err}); quote it to pass a string") from None
    return Assignment(text, path, value)


def parse_sets(texts: Sequence[str], example: str = "optim.lr=3e-4") -> list[Assignment]:
    return [parse_set(text, example) for text in texts]


def apply_sets(data: Mapping[str, Any], assignments: Sequence[Assignment | str]) -> dict[str, Any]:
    """A copy of ``data`` with each assignment made, in order (later ones win)."""
    out = copy.deepcopy(dict(data))
    for item in assignments:
        text, path, value, option = parse_set(item) if isinstance(item, str) else item
        node = out
        for depth, key in enumerate(path[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                section = ".".join(path[: depth + 1])
                raise ConfigError(f"{option} {text!r}: {section} is a {type(child).__name__} ({_found(child)}), "
                                  "not a section with keys")
            node = child
        node[path[-1]] = value
    return out


# --- YAML files ---------------------------------------------------------------------------------


def read_yaml(path: str | Path, what: str, see: str | None = None) -> dict[str, Any]:
    """The mapping in YAML file ``path``; ``what`` (e.g. "training config") and ``see`` word the errors."""
    path = Path(path)
    hint = f" (see {see})" if see else ""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no {what} {path}{hint}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} is a YAML mapping of keys, found {type(data).__name__}{hint}")
    return data


def load(model: type[Model], path: str | Path, sets: Sequence[str] = (), what: str = "config",
         see: str | None = None, example: str = "optim.lr=3e-4") -> Model:
    """Read YAML file ``path``, apply ``--set`` overrides, validate as ``model``."""
    assignments = parse_sets(sets, example)
    return validate(model, apply_sets(read_yaml(path, what, see), assignments), str(path), sets=assignments)
