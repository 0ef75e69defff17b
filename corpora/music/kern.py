"""Humdrum **kern at the text level: reading a Humdrum file into its **kern spines, and cutting
self-contained excerpts from them (the columns and tokens themselves: :mod:`.spines`).

* :func:`parse_humdrum` reads a Humdrum file: ``!!!`` reference records, ``**`` exclusive
  interpretations, ``*`` tandem interpretations, ``=`` barlines, ``!`` comments, and the spine
  splits and joins ``*^``/``*v`` (``*+``/``*x`` are rejected). Only **kern spines are kept
  (``**text``/``**silbe`` lyrics, ``**dynam`` and the rest are dropped, column by column, through
  the splits). It checks every kern token against the **kern grammar (:mod:`.tokens`) and the
  rhythm the way Verovio's Humdrum reader does (every token starts where its column's previous one
  ended), so a file Verovio would reject (or crash on: its reader aborts the process on some
  malformed files) is rejected here first.
* :meth:`KernScore.excerpt` cuts a few measures (a "system") or, in chorales, phrases ending at
  fermatas (``;``) into a self-contained **kern: the exclusive interpretations, the part, staff,
  instrument-class, clef, key signature, key and metre interpretations in force at the cut point,
  the lines of the excerpt, and ``*-``. Ties, slurs and phrase marks cut open at either end are
  removed, so the label holds only what is drawn. Cuts fall only where every column is at the same
  time and no spine is split.

Only interpretations Verovio draws from are kept (others become ``*``): expansion lists (``*>``)
would make Verovio repeat sections, and layout comments (``!LO:``) would draw text the label does
not explain, so comments are dropped too.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re

from corpora.base import BadItem
from corpora.music.spines import spine_operations, ticks
from corpora.music.tokens import check_barline, check_token

# Tandem interpretations kept in excerpts (Verovio draws from them); the rest become "*".
KEEP_INTERPRETATION = re.compile(
    r"\*(clef[A-Gv\d^]+|k\[[a-g#\-n]*\]|[A-Ga-g][#\-]?:(\w+)?|M\d+/\d+|met\([^)]*\)|I[a-z]+|"
    r"staff\d+|part\d+|\^|v|-)"
)
HEADER_ORDER = ("part", "staff", "I", "clef", "k[", "key", "M", "met")
_REFERENCE = re.compile(r"!!!\s*([^:]+?)\s*:\s*(.*)")


def interpretation_kind(token: str) -> str | None:
    """Which header slot a kept tandem interpretation fills (``None`` for ``*``, splits, joins)."""
    for prefix in ("clef", "k[", "M", "met", "staff", "part"):
        if token.startswith("*" + prefix) and (prefix != "M" or token[2:3].isdigit()):
            return prefix
    if token.startswith("*I") and token[2:3].islower():
        return "I"
    if token.endswith(":") or ":" in token[1:4]:
        return "key"
    return None


# Lines in one measure (or a stretch without barlines): Verovio lays a measure out in one piece and
# crashes the process on a few thousand notes, and a system is cut at barlines only.
MAX_MEASURE_LINES = 512
MAX_TOKEN = 48  # characters in one note of a chord: far above any real one; Verovio crashes on some long ones


@dataclasses.dataclass(frozen=True)
class KernScore:
    """The **kern spines of one Humdrum file. ``body`` holds its records of kern columns only (data,
    barlines, kept interpretations, spine splits/joins), one per line, columns tab-separated (kept
    as one string: the corpus cache then loads fast). ``cuts`` are line positions where an excerpt
    may start or end (the first data line, after each barline); ``phrase_cuts`` the positions after
    fermata lines. Cuts fall only where every column is at the same time and no spine is split."""

    name: str
    title: str
    composer: str
    spines: int
    body: str
    cuts: tuple[int, ...]
    phrase_cuts: tuple[int, ...] = ()

    @functools.cached_property
    def lines(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(line.split("\t")) for line in self.body.split("\n"))

    @functools.cached_property
    def spine_ids(self) -> tuple[tuple[int, ...], ...]:
        """The original **kern spine of each column of each line (through splits and joins)."""
        ids = list(range(self.spines))
        out = []
        for tokens in self.lines:
            out.append(tuple(ids))
            if tokens[0].startswith("*"):
                ids, _ = spine_operations(list(tokens), ids, [0] * len(ids), list(range(len(ids))), 0)
        return tuple(out)

    def header_at(self, position: int) -> list[tuple[str, ...]]:
        """The interpretation lines in force at ``position`` (one column per spine, no split)."""
        state: list[dict[str, str]] = [{} for _ in range(self.spines)]
        for tokens, ids in zip(self.lines[:position], self.spine_ids[:position]):
            if not tokens[0].startswith("*"):
                continue
            for token, spine in zip(tokens, ids):
                kind = interpretation_kind(token)
                if kind is not None:
                    state[spine][kind] = token
        return [
            tuple(s.get(kind, "*") for s in state)
            for kind in HEADER_ORDER
            if any(kind in s for s in state)
        ]

    def excerpt(self, start: int, end: int, close_ties: bool = True) -> str:
        """Self-contained **kern of ``lines[start:end]`` (both cut positions). ``close_ties=False``
        leaves ties cut open as they are: Verovio draws half a tie at the edge, as at a system break."""
        body = [list(tokens) for tokens in self.lines[start:end]]
        _close_marks(body, self.spine_ids[start:end], close_ties)
        out = ["\t".join(["**kern"] * self.spines)]
        out.extend("\t".join(line) for line in self.header_at(start))
        out.extend("\t".join(tokens) for tokens in body if not all(t == "*" for t in tokens))
        out.append("\t".join(["*-"] * self.spines))
        return "\n".join(out) + "\n"


    @functools.cached_property
    def system_cuts(self) -> tuple[int, ...]:
        """The cuts where the whole piece may be cut into consecutive parts that join back to it
        (:func:`join_kern`): the first and the last, and those where no slur or phrase mark is open
        and the next line is not an interpretation (it would otherwise land in the next part's header)."""
        cuts = set(self.cuts)
        depth: dict[tuple[int, str], int] = {}
        clean = [self.cuts[0]]
        for i, (tokens, ids) in enumerate(zip(self.lines, self.spine_ids)):
            if i in cuts and i > self.cuts[0] and not any(depth.values()) and not tokens[0].startswith("*"):
                clean.append(i)
            if tokens[0][:1] in ("*", "=", "!"):
                continue
            for token, spine in zip(tokens, ids):
                for ch in token:
                    if ch in "({":
                        depth[(spine, ch)] = depth.get((spine, ch), 0) + 1
                    elif ch in ")}":
                        key = (spine, "(" if ch == ")" else "{")
                        depth[key] = max(0, depth.get(key, 0) - 1)
        return tuple(dict.fromkeys([*clean, self.cuts[-1]]))

    def whole(self) -> str:
        """The whole piece as one **kern (ties kept as written), what its parts join back to."""
        return self.excerpt(self.cuts[0], self.cuts[-1], close_ties=False)


def join_kern(parts: list[str]) -> str:
    """Consecutive excerpts cut at :attr:`KernScore.system_cuts` (``close_ties=False``) joined back into one
    **kern: the first part as it is up to its ``*-`` line, each later part's records after its header
    (the ``**kern`` line and the interpretations in force, which open every part), then ``*-``."""
    out: list[str] = []
    for k, part in enumerate(parts):
        lines = part.rstrip("\n").split("\n")
        start = 0
        if k:
            start = 1
            while lines[start].startswith("*"):
                start += 1
        out += lines[start:-1]
    out.append(parts[-1].rstrip("\n").split("\n")[-1])
    return "\n".join(out) + "\n"


def _close_marks(body: list[list[str]], ids: tuple[tuple[int, ...], ...], close_ties: bool = True) -> None:
    """Remove slurs and phrase marks, and with ``close_ties`` ties, whose other end lies outside the
    excerpt (in place)."""
    open_ties: dict[tuple[int, str], tuple[int, int, int]] = {}
    stacks: dict[tuple[int, str], list[tuple[int, int, int]]] = {}

    def edit(where: tuple[int, int, int], old: str, new: str) -> None:
        line, column, sub = where
        parts = body[line][column].split(" ")
        parts[sub] = parts[sub].replace(old, new, 1)
        body[line][column] = " ".join(parts)

    for i, tokens in enumerate(body):
        if tokens[0][:1] in ("*", "=", "!"):
            continue
        for c, token in enumerate(tokens):
            if token == ".":
                continue
            spine = ids[i][c]
            for s, sub in enumerate(token.split(" ")):
                pitch = "".join(ch for ch in sub if ch in "abcdefgABCDEFG#-n")
                key = (spine, pitch)
                for mark, close in (("(", ")"), ("{", "}")):
                    stack = stacks.setdefault((spine, mark), [])
                    for ch in sub:
                        if ch == mark:
                            stack.append((i, c, s))
                        elif ch == close:
                            if stack:
                                stack.pop()
                            else:
                                edit((i, c, s), close, "")
                if not close_ties:
                    continue
                if "[" in sub:
                    open_ties[key] = (i, c, s)
                elif "_" in sub:
                    if key not in open_ties:
                        edit((i, c, s), "_", "[")
                    open_ties[key] = (i, c, s)
                elif "]" in sub and open_ties.pop(key, None) is None:
                    edit((i, c, s), "]", "")
    for where in open_ties.values():
        line, column, sub = where
        if "[" in body[line][column].split(" ")[sub]:
            edit(where, "[", "")
        else:
            edit(where, "_", "]")
    for (_, mark), stack in stacks.items():
        for where in reversed(stack):
            edit(where, mark, "")


def parse_humdrum(text: str, name: str = "") -> KernScore:
    """Read a Humdrum file into its **kern spines; :class:`BadItem` when it is malformed."""
    refs: dict[str, str] = {}
    active: list[int] | None = None  # original spine index of each column
    is_kern: list[bool] = []
    lines: list[tuple[str, ...]] = []
    ends: list[int] = []  # per kern column: when its current token ends (ticks)
    now = 0
    cuts: list[int] = []
    phrase_cuts: list[int] = []
    kern_index: dict[int, int] = {}
    terminated = False
    for number, raw in enumerate(text.splitlines(), start=1):
        raw = raw.rstrip("\r")
        if not raw:
            continue
        if raw.startswith("!!"):
            match = _REFERENCE.match(raw)
            if match:
                refs.setdefault(match.group(1), match.group(2).strip())
            continue
        if terminated:
            raise BadItem("data-after-end", f"line {number}: {raw[:40]!r} after all spines ended")
        fields = raw.split("\t")
        if active is None:
            if not all(f.startswith("**") for f in fields):
                raise BadItem("no-exclusive-interpretation", f"line {number}: {raw[:40]!r}")
            active = list(range(len(fields)))
            is_kern = [f == "**kern" for f in fields]
            kern_index = {spine: k for k, spine in enumerate(s for s in active if is_kern[s])}
            if not kern_index:
                raise BadItem("no-kern-spine", f"exclusive interpretations {fields}")
            ends = [0] * len(kern_index)
            continue
        if len(fields) != len(active):
            raise BadItem("field-count", f"line {number}: expected {len(active)} fields, found {len(fields)}")
        keep = [c for c, spine in enumerate(active) if is_kern[spine]]
        kept = tuple(fields[c] for c in keep)
        lead = raw[0]
        if any(f[:1] != lead and lead in "*!=" for f in fields):
            raise BadItem("mixed-record", f"line {number}: {raw[:60]!r}")
        if lead == "!":
            continue
        if lead == "*":
            if "*-" in kept and any(e != now for e in ends):
                raise BadItem("rhythm", f"line {number}: the spines end at different times")
            active, ends = spine_operations(fields, active, ends, keep, number)
            tokens = tuple(t if KEEP_INTERPRETATION.fullmatch(t) and t != "*-" else "*" for t in kept)
            if any(t in ("*^", "*v") for t in tokens) or any(t != "*" for t in tokens):
                lines.append(tokens)
            if not active:
                terminated = True
            continue
        if lead == "=":
            if any(e != now for e in ends):  # a measure is longer in one spine than another
                raise BadItem("rhythm", f"line {number}: the spines reach this barline at different times")
            for token in kept:
                check_barline(token)
            lines.append(kept)
            if len(kept) == len(kern_index):
                cuts.append(len(lines))
            continue
        if any(f == "" for f in fields) or any(t[:1] in ("*", "=", "!") for t in kept):
            raise BadItem("bad-token", f"line {number}: {raw[:60]!r}")
        if any(len(sub) > MAX_TOKEN for t in kept for sub in t.split(" ")):
            raise BadItem("bad-token", f"line {number}: a token longer than {MAX_TOKEN} characters")
        for token in kept:
            check_token(token)
        now = _advance(kept, ends, now, number)
        if all(t == "." for t in kept):
            continue
        lines.append(kept)
        if any(";" in t for t in kept) and len(kept) == len(kern_index) and all(e == now for e in ends):
            phrase_cuts.append(len(lines))
    if active is None:
        raise BadItem("no-exclusive-interpretation", "no **-line")
    if not any(not t[0][:1] in "*=" for t in lines):
        raise BadItem("no-notes", "no data line in any **kern spine")
    end = len(lines)
    if len(lines[-1]) == len(kern_index) and all(e == now for e in ends) and (not cuts or cuts[-1] != end):
        cuts.append(end)  # a last measure without a closing barline
    first = next(i for i, t in enumerate(lines) if t[0][:1] != "*")
    starts = ([] if lines[first][0].startswith("=") else [first]) + [c for c in cuts if c > first]
    if len(starts) < 2:  # a piece that ends split, with no barline across joined spines
        raise BadItem("no-cut", "no two lines where every spine is joined and at the same time to cut a system at")
    bounds = [first, *starts, end]
    longest = max(b - a for a, b in itertools.pairwise(bounds))
    if longest > MAX_MEASURE_LINES:
        raise BadItem("measure-too-long", f"{longest} lines between two barlines; at most {MAX_MEASURE_LINES}")
    return KernScore(
        name, refs.get("OTL", ""), refs.get("COM", ""), len(kern_index), "\n".join(map("\t".join, lines)),
        tuple(dict.fromkeys(starts)), tuple(p for p in phrase_cuts if p > first),
    )


def _advance(tokens: tuple[str, ...], ends: list[int], now: int, number: int) -> int:
    """Check that every token of a data line starts where its column's previous token ended, and
    that a null token stands in a column that is still sounding; the time of the next line."""
    durations = {k: ticks(t) for k, t in enumerate(tokens) if t != "."}
    if not durations:
        return now
    grace_line = not any(durations.values())  # grace notes come before the notes they lead to
    for k, token in enumerate(tokens):
        if token == ".":
            if ends[k] <= now and not grace_line:
                raise BadItem("rhythm", f"line {number}: column {k + 1} has a null token but nothing sounding")
            continue
        if ends[k] != now:
            raise BadItem("rhythm", f"line {number}: column {k + 1} starts at {ends[k]}, the line at {now}")
        ends[k] = now + durations[k]
    return min(ends)  # a grace line leaves the time where it was
