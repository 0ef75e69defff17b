"""The renderer registry: names from the ``gotforge.renderers`` entry-point group, loaded lazily.

Listing names reads package metadata only; a renderer module is imported when its name is used, so
a broken optional back-end never breaks the others (timm/fsspec style).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from importlib import metadata

from renderers.base import with_defaults
from renderers.tasks import TASKS

GROUP = "gotforge.renderers"
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RegistryError(LookupError):
    """An unknown renderer name, a name claimed twice, or a class that breaks the contract."""


@dataclasses.dataclass(frozen=True)
class RendererEntry:
    name: str
    target: str  # "module:Class"
    package: str  # the distribution that registered it

    def load(self) -> type:
        entry = metadata.EntryPoint(self.name, self.target, GROUP)
        cls = entry.load()
        check_renderer_class(cls, self)
        return with_defaults(cls)


def check_renderer_class(cls: type, entry: RendererEntry) -> None:
    missing = [a for a in ("name", "markup", "task", "version", "Options", "render") if not hasattr(cls, a)]
    if missing:
        raise RegistryError(f"renderer {entry.target} (package {entry.package}) lacks {', '.join(missing)}")
    if cls.name != entry.name:
        raise RegistryError(
            f"{entry.target} declares name {cls.name!r} but is registered as {entry.name!r} "
            f"by package {entry.package}"
        )
    if cls.task not in TASKS:
        raise RegistryError(f"renderer {entry.name}: task must be one of {list(TASKS)}, found {cls.task!r}")


@functools.lru_cache(maxsize=1)
def entries() -> dict[str, RendererEntry]:
    """All registered renderers by name. Two packages claiming one name is an error naming both."""
    found: dict[str, RendererEntry] = {}
    for ep in metadata.entry_points(group=GROUP):
        package = ep.dist.name if ep.dist is not None else "unknown"
        entry = RendererEntry(ep.name, ep.value, package)
        if not NAME_PATTERN.match(ep.name):
            raise RegistryError(f"package {package} registers renderer {ep.name!r}: names are kebab-case, no dots")
        previous = found.get(ep.name)
        if previous is not None and previous != entry:
            raise RegistryError(
                f"renderer name {ep.name!r} is claimed twice: by package {previous.package} "
                f"({previous.target}) and by package {package} ({ep.value}); uninstall one of them"
            )
        found[ep.name] = entry
    return dict(sorted(found.items()))


def names() -> list[str]:
    return list(entries())


def get_entry(name: str) -> RendererEntry:
    known = entries()
    if name not in known:
        raise RegistryError(f"unknown renderer {name!r}; known renderers: {', '.join(known) or '(none)'}")
    return known[name]


def load(name: str) -> type:
    """The renderer class registered as ``name``, its missing optional hooks filled in
    (:func:`renderers.base.with_defaults`)."""
    return get_entry(name).load()


def browser_renderers(names: list[str] | None = None) -> list[str]:
    """The registered renderers (of ``names``, else all) that draw in the browser back-end: their
    options extend :class:`renderers.backends.browser.BrowserOptions`."""
    from renderers.backends.browser import BrowserOptions  # only when asked: it imports Playwright

    return [name for name in (names or list(entries())) if issubclass(load(name).Options, BrowserOptions)]
