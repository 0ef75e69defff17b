"""A LaTeX run's log read back (the error mapping of :mod:`renderers.backends.latex`): each error
line, and each glyph a font lacked, blamed on the body whose page marker precedes it; an error
before every marker or a fatal stop left unexplained, a failing preamble raised.
"""

from __future__ import annotations

import dataclasses
import re

_ERROR = re.compile(r"^! (.*)$")
# XeTeX and pdfTeX log a glyph the font lacks and typeset nothing in its place.
_MISSING = re.compile(r"^Missing character: There is no (.+) in font (.+?)!?$")
_CONTEXT = re.compile(r"^l\.\d+ (.*)$")


@dataclasses.dataclass
class Run:
    """What one LaTeX run left: the PDF (if any), errors by body position, and how it ended."""

    pdf: bytes | None
    errors: dict[int, str]
    unexplained: str = ""  # an error before every marker, a fatal stop, or a timeout
    pages: int = 0
    missing: dict[int, str] = dataclasses.field(default_factory=dict)  # glyphs the font lacked, by body

    def clean(self, count: int) -> bool:
        return self.pdf is not None and not self.errors and not self.unexplained and self.pages == count


def parse_log(log: str, marker: str, engine: str) -> Run:
    """What ``engine`` logged in one run: errors and missing glyphs by the body whose ``marker`` line
    precedes them (the PDF and its page count are the caller's to add)."""
    errors: dict[int, str] = {}
    missing: dict[int, str] = {}
    unexplained = ""
    current: int | None = None
    finished = False
    lines = log.splitlines()
    for n, line in enumerate(lines):
        if line.startswith(marker + " "):
            tag = line[len(marker) + 1:].strip()
            finished = tag == "end"
            current = None if finished else int(tag)
            continue
        lost = _MISSING.match(line)
        if lost and current is not None:
            missing.setdefault(current, f"{lost.group(1)} in font {lost.group(2)}")
            continue
        match = _ERROR.match(line)
        if not match:
            continue
        detail = match.group(1).strip()
        context = next((c.group(1).strip() for c in map(_CONTEXT.match, lines[n + 1:n + 12]) if c), "")
        message = f"{detail} (at: {context})" if context else detail
        if current is None and not finished:
            raise RuntimeError(f"the LaTeX preamble of {engine} failed: {message}; run `make setup`")
        if current is None:
            unexplained = unexplained or message
        else:
            errors.setdefault(current, message)
    if not finished and not unexplained:  # a fatal stop: blame the page it stopped in
        message = _last_error(lines) or f"{engine} stopped before the end of the document"
        if current is None:
            unexplained = message
        else:
            errors.setdefault(current, message)
    return Run(None, errors, unexplained, missing=missing)


def _last_error(lines: list[str]) -> str:
    for line in reversed(lines):
        match = _ERROR.match(line)
        if match:
            return match.group(1).strip()
    return ""
