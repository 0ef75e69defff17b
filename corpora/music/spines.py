"""The columns of **kern and what their tokens hold: a token's duration (:func:`ticks`), whether a
sub-token is a pitched note, the columns after a line of spine splits, joins and ends (``*^``,
``*v``, ``*-``), and the notes of a **kern text counted. Shared by the Humdrum reader (:mod:`.kern`),
the generator and the pitch read-back (:func:`kern_notes`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from fractions import Fraction

from corpora.base import BadItem

# A **kern duration: digits (0 = breve), an optional ratio (%n), dots.
RECIP = re.compile(r"(\d+)(%\d+)?(\.*)")
_PITCH = re.compile(r"[A-Ga-g]")
TICKS = 2**8 * 3**2 * 5 * 7 * 11 * 13  # per whole note: exact for every common tuplet


@functools.lru_cache(maxsize=4096)
def ticks(token: str) -> int:
    """Duration of a **kern note, chord or rest token in ``TICKS`` per whole note (grace notes: 0)."""
    if "q" in token or "Q" in token:
        return 0
    first = token.split(" ")[0]
    match = RECIP.search(first)
    if match is None:
        raise BadItem("no-duration", f"token {token!r} has no duration")
    digits, ratio, dots = match.groups()
    value = Fraction(2 ** len(digits)) if set(digits) == {"0"} else Fraction(1, int(digits))  # 0 = breve
    if ratio:
        value *= int(ratio[1:])
    value *= 2 - Fraction(1, 2 ** len(dots))
    if (value * TICKS).denominator != 1:
        raise BadItem("odd-duration", f"token {token!r}")
    return int(value * TICKS)


def is_note(subtoken: str) -> bool:
    """A pitched note (not a rest, not a null token)."""
    return "r" not in subtoken and _PITCH.search(subtoken) is not None


def spine_operations(
    fields: list[str], active: list[int], ends: list[int], keep: list[int], number: int
) -> tuple[list[int], list[int]]:
    """Apply ``*^``, ``*v`` and ``*-`` to the column list (and the kern columns' end times)."""
    new_active: list[int] = []
    new_ends: list[int] = []
    kern_column = {c: k for k, c in enumerate(keep)}
    c = 0
    while c < len(fields):
        field = fields[c]
        if field in ("*+", "*x") or field.startswith("**"):
            raise BadItem("unsupported-spine-operation", f"line {number}: {field}")
        if field == "*v":
            j = c
            while j < len(fields) and fields[j] == "*v":
                j += 1
            if j - c < 2 or len(set(active[c:j])) != 1:
                raise BadItem("bad-spine-join", f"line {number}: *v joins columns {c + 1}-{j}")
            new_active.append(active[c])
            if c in kern_column:
                if len({ends[kern_column[k]] for k in range(c, j)}) != 1:
                    raise BadItem("rhythm", f"line {number}: joined sub-spines end at different times")
                new_ends.append(ends[kern_column[c]])
            c = j
            continue
        copies = 2 if field == "*^" else 0 if field == "*-" else 1
        new_active.extend([active[c]] * copies)
        if c in kern_column:
            new_ends.extend([ends[kern_column[c]]] * copies)
        c += 1
    return new_active, new_ends


def count_notes(kern: str) -> int:
    """Notes in a **kern text: pitched sub-tokens of data tokens (each chord note counts; rests and
    null tokens do not). Only **kern columns are counted."""
    return sum(1 for _ in kern_notes(kern))


def kern_notes(kern: str) -> Iterator[str]:
    """The pitched sub-tokens of the **kern columns' data tokens, in reading order (a chord's notes
    each; rests, null tokens and the other spines' tokens skipped)."""
    columns: list[bool] | None = None
    for line in kern.splitlines():
        if not line or line.startswith("!"):
            continue
        fields = line.split("\t")
        if columns is None:
            if line.startswith("**"):
                columns = [f == "**kern" for f in fields]
            continue
        if line[0] == "*":
            columns = columns_after(fields, columns)
            continue
        if line[0] == "=":
            continue
        for field, kern_column in zip(fields, columns):
            if kern_column and field != ".":
                yield from (sub for sub in field.split(" ") if is_note(sub))


def columns_after(fields: list[str], columns: list[bool]) -> list[bool]:
    out: list[bool] = []
    c = 0
    while c < len(fields) and c < len(columns):
        if fields[c] == "*v":
            j = c
            while j < len(fields) and fields[j] == "*v":
                j += 1
            out.append(columns[c])
            c = j
            continue
        out.extend([columns[c]] * (2 if fields[c] == "*^" else 0 if fields[c] == "*-" else 1))
        c += 1
    return out
