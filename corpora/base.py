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


# Characters no image shows: controls (but line breaks and tabs), format characters (zero-width
# joiners, bidi marks, BOM), private-use, unassigned and surrogate code points. A label holding one
# would teach the model to write what it cannot see.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs"})
LAYOUT_CONTROLS = frozenset("\n\t")


def check_visible(text: str) -> None:
    """Raise :class:`BadItem` (``invisible-characters``) when ``text`` holds a character no image shows."""
    import unicodedata

    hidden = sorted({c for c in text if c not in LAYOUT_CONTROLS and unicodedata.category(c) in INVISIBLE_CATEGORIES})
    if hidden:
        raise BadItem("invisible-characters", " ".join(f"U+{ord(c):04X}" for c in hidden[:8]))
