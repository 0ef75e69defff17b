"""The errors every corpus shares.

Corpora, user or built-in, are read through :mod:`corpora.indexed` (and :mod:`corpora.sources`
for user files). Each raw item is handed to its corpus's ``parse`` function, which returns the item
or raises :class:`BadItem`. A bad item never stops a run: it is counted by reason with a few
``file:line`` examples, and the run reports it. A path that does not exist, cannot be read or holds
no item raises :class:`CorpusError` before any work.
"""

from __future__ import annotations

MAX_EXAMPLES = 5


class CorpusError(ValueError):
    """The corpus cannot be used at all (missing, unreadable, empty). Raised before any work."""


class BadItem(ValueError):
    """One corpus item is malformed. ``reason`` is a short kebab-case key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
