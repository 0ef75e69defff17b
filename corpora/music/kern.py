"""Music as Humdrum **kern, offline: excerpts of the **kern files music21's corpus ships, a
procedural **kern generator, and user folders of ``.krn`` files.

GOT (Wei et al. 2024, "General OCR Theory", its OCR-2.0 data engine) renders **kern with Verovio
and cuts scores into single systems. This module does the text-level half of that:

* :func:`parse_humdrum` reads a Humdrum file at the text level: ``!!!`` reference records, ``**``
  exclusive interpretations, ``*`` tandem interpretations, ``=`` barlines, ``!`` comments, and the
  spine splits and joins ``*^``/``*v`` (``*+``/``*x`` are rejected). Only **kern spines are kept
  (``**text``/``**silbe`` lyrics, ``**dynam`` and the rest are dropped, column by column, through
  the splits). It checks the rhythm the way Verovio's Humdrum reader does (every token starts
  where its column's previous one ended), so a file Verovio would reject (or crash on: its reader
  aborts the process on some malformed files) is rejected here first.
* :meth:`KernScore.excerpt` cuts a few measures (a "system") or, in chorales, phrases ending at
  fermatas (``;``) into a self-contained **kern: the exclusive interpretations, the part, staff,
  instrument-class, clef, key signature, key and metre interpretations in force at the cut point,
  the lines of the excerpt, and ``*-``. Ties, slurs and phrase marks cut open at either end are
  removed, so the label holds only what is drawn. Cuts fall only where every column is at the same
  time and no spine is split.
* :func:`generate` writes new pieces: 1 or 2 staves (a braced grand staff), keys with up to 7
  sharps or flats, major or minor, simple and compound metres (``*met(c)`` for common time),
  durations from whole to 16th with dots and triplets, rests, chords, ties, beams, accidentals.

Only interpretations Verovio draws from are kept (others become ``*``): expansion lists (``*>``)
would make Verovio repeat sections, and layout comments (``!LO:``) would draw text the label does
not explain, so comments are dropped too.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import tempfile
from fractions import Fraction
from importlib import metadata
from pathlib import Path

import numpy as np

from corpora.base import BadItem, Corpus, CorpusError, build_corpus, fingerprint_of, read_user_corpus

USER_SUFFIXES = (".krn",)
# Tandem interpretations kept in excerpts (Verovio draws from them); the rest become "*".
KEEP_INTERPRETATION = re.compile(
    r"\*(clef[A-Gv\d^]+|k\[[a-g#\-n]*\]|[A-Ga-g][#\-]?:(\w+)?|M\d+/\d+|met\([^)]*\)|I[a-z]+|"
    r"staff\d+|part\d+|\^|v|-)"
)
HEADER_ORDER = ("part", "staff", "I", "clef", "k[", "key", "M", "met")
_RECIP = re.compile(r"(\d+)(%\d+)?(\.*)")
_PITCH = re.compile(r"[A-Ga-g]")
_REFERENCE = re.compile(r"!!!\s*([^:]+?)\s*:\s*(.*)")


# -- reading Humdrum ------------------------------------------------------------------------------
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


TICKS = 2**8 * 3**2 * 5 * 7 * 11 * 13  # per whole note: exact for every common tuplet


@functools.lru_cache(maxsize=4096)
def ticks(token: str) -> int:
    """Duration of a **kern note, chord or rest token in ``TICKS`` per whole note (grace notes: 0)."""
    if "q" in token or "Q" in token:
        return 0
    first = token.split(" ")[0]
    match = _RECIP.search(first)
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
                ids, _ = _spine_operations(list(tokens), ids, [0] * len(ids), list(range(len(ids))), 0)
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

    def excerpt(self, start: int, end: int) -> str:
        """Self-contained **kern of ``lines[start:end]`` (both cut positions)."""
        body = [list(tokens) for tokens in self.lines[start:end]]
        _close_marks(body, self.spine_ids[start:end])
        out = ["\t".join(["**kern"] * self.spines)]
        out.extend("\t".join(line) for line in self.header_at(start))
        out.extend("\t".join(tokens) for tokens in body if not all(t == "*" for t in tokens))
        out.append("\t".join(["*-"] * self.spines))
        return "\n".join(out) + "\n"


def _close_marks(body: list[list[str]], ids: tuple[tuple[int, ...], ...]) -> None:
    """Remove ties, slurs and phrase marks whose other end lies outside the excerpt (in place)."""
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
            active, ends = _spine_operations(fields, active, ends, keep, number)
            tokens = tuple(t if KEEP_INTERPRETATION.fullmatch(t) and t != "*-" else "*" for t in kept)
            if any(t in ("*^", "*v") for t in tokens) or any(t != "*" for t in tokens):
                lines.append(tokens)
            if not active:
                terminated = True
            continue
        if lead == "=":
            if any(e != now for e in ends):  # a measure is longer in one spine than another
                raise BadItem("rhythm", f"line {number}: the spines reach this barline at different times")
            lines.append(kept)
            if len(kept) == len(kern_index):
                cuts.append(len(lines))
            continue
        if any(f == "" for f in fields) or any(t[:1] in ("*", "=", "!") for t in kept):
            raise BadItem("bad-token", f"line {number}: {raw[:60]!r}")
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
    return KernScore(
        name, refs.get("OTL", ""), refs.get("COM", ""), len(kern_index), "\n".join(map("\t".join, lines)),
        tuple(dict.fromkeys(starts)), tuple(p for p in phrase_cuts if p > first),
    )


def _spine_operations(
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


def count_notes(kern: str) -> int:
    """Notes in a **kern text: pitched sub-tokens of data tokens (each chord note counts; rests and
    null tokens do not). Only **kern columns are counted."""
    columns: list[bool] | None = None
    total = 0
    for line in kern.splitlines():
        if not line or line.startswith("!"):
            continue
        fields = line.split("\t")
        if columns is None:
            if line.startswith("**"):
                columns = [f == "**kern" for f in fields]
            continue
        if line[0] == "*":
            columns = _columns_after(fields, columns)
            continue
        if line[0] == "=":
            continue
        total += sum(
            is_note(sub)
            for field, kern_column in zip(fields, columns)
            if kern_column and field != "."
            for sub in field.split(" ")
        )
    return total


def _columns_after(fields: list[str], columns: list[bool]) -> list[bool]:
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


# -- corpora --------------------------------------------------------------------------------------
def music21_krn_paths() -> list[Path]:
    """The **kern files of music21's core corpus (Palestrina masses, Bach chorales, Beethoven,
    Chopin), found through ``music21.corpus``; no network."""
    from music21 import corpus  # music21 is imported only to find its corpus folder

    return sorted(Path(p) for p in corpus.getCorePaths(fileExtensions=("krn",)))


def _read_krn(path: Path) -> str:
    """A shipped .krn file: UTF-8, or Latin-1 (some older Humdrum files are)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parse_file(raw: tuple[str, str]) -> KernScore:
    name, text = raw
    return parse_humdrum(text, name)


PARSER_VERSION = 4  # bump when parse_humdrum's output changes: the cache is keyed on it


def cache_path() -> Path:
    """Where the parsed default corpus is kept (XDG base directory convention)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "gotforge" / f"music21-{metadata.version('music21')}-krn-v{PARSER_VERSION}.json"


def build_default() -> Corpus[KernScore]:
    """Parse every **kern file music21 ships (about 8 s; see the cache)."""
    import music21

    paths = music21_krn_paths()
    if not paths:
        raise CorpusError("music21's corpus holds no .krn file; reinstall music21 or pass --corpus with .krn files")
    root = Path(music21.__file__).parent / "corpus"
    raw = ((str(p), (str(p.relative_to(root)), _read_krn(p))) for p in paths)
    version = f"music21-{music21.__version__}-krn-v{PARSER_VERSION}"
    return build_corpus(version, raw, _parse_file, fingerprint=version)


def _write_cache(path: Path, corpus: Corpus[KernScore]) -> None:
    data = {
        "source": corpus.source, "fingerprint": corpus.fingerprint, "rejects": corpus.rejects,
        "examples": list(corpus.examples),
        "items": [[i.name, i.title, i.composer, i.spines, i.body, i.cuts, i.phrase_cuts] for i in corpus.items],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
            json.dump(data, tmp, ensure_ascii=False, separators=(",", ":"))
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)  # atomic: concurrent workers never see half a file
    except OSError:
        pass  # a read-only home only costs the rebuild next time


def _read_cache(path: Path) -> Corpus[KernScore] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = [
            KernScore(name, title, composer, spines, body, tuple(cuts), tuple(phrases))
            for name, title, composer, spines, body, cuts, phrases in data["items"]
        ]
        return Corpus(data["source"], items, data["rejects"], tuple(data["examples"]), data["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError, CorpusError):
        return None


@functools.lru_cache(maxsize=1)
def default_scores() -> Corpus[KernScore]:
    """The built-in corpus: music21's **kern files, parsed once and cached (files that do not parse
    are counted in ``rejects``, not fatal)."""
    path = cache_path()
    corpus = _read_cache(path)
    if corpus is None:
        corpus = build_default()
        _write_cache(path, corpus)
    return corpus


def user_scores(path: str | Path) -> Corpus[KernScore]:
    """A user folder of ``.krn`` files (one piece per file), or one ``.krn`` file."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in USER_SUFFIXES:  # one piece, not one item per line
        text = path.read_text(encoding="utf-8")
        return build_corpus(str(path), [(str(path), (path.name, text))], _parse_file, fingerprint_of(path))

    def parse(text: str) -> KernScore:
        return parse_humdrum(text, "")

    return read_user_corpus(path, parse, suffixes=USER_SUFFIXES)


def scores(corpus_path: str | Path | None) -> Corpus[KernScore]:
    return user_scores(corpus_path) if corpus_path is not None else default_scores()


# -- the generator ----------------------------------------------------------------------------------
SHARPS = "fcgdaeb"
MAJOR_TONICS = {-7: "C-", -6: "G-", -5: "D-", -4: "A-", -3: "E-", -2: "B-", -1: "F", 0: "C",
                1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
MINOR_TONICS = {-7: "a-", -6: "e-", -5: "b-", -4: "f", -3: "c", -2: "g", -1: "d", 0: "a",
                1: "e", 2: "b", 3: "f#", 4: "c#", 5: "g#", 6: "d#", 7: "a#"}
METERS = ("4/4", "3/4", "2/4", "2/2", "6/8", "3/8", "9/8", "12/8", "5/4", "3/2")
CLEFS = {  # clef: (interpretation, lowest and highest diatonic step drawn, counted from C4 = 28)
    "treble": ("*clefG2", 28, 42),
    "bass": ("*clefF4", 16, 30),
    "alto": ("*clefC3", 22, 36),
    "tenor": ("*clefC4", 20, 34),
    "treble-8vb": ("*clefGv2", 21, 35),
}
TITLE_WORDS = (
    "Minuet", "Chorale", "Prelude", "Study", "Air", "Gavotte", "Sarabande", "Canon", "Song", "Waltz",
    "Invention", "March", "Bourrée", "Intermezzo", "Lied", "Romance",
)
COMPOSERS = ("Anon.", "J. Doe", "M. Rossi", "A. Schmidt", "L. Martin", "K. Tanaka", "E. Novák", "S. Li")


def kern_pitch(step: int, alter: int) -> str:
    """Diatonic step (C4 = 28, one per letter) and alteration → a **kern pitch (``cc#``, ``BB-``)."""
    octave, letter_index = divmod(step, 7)
    letter = "cdefgab"[letter_index]
    name = letter * (octave - 3) if octave >= 4 else letter.upper() * (4 - octave)
    return name + ("#" * alter if alter > 0 else "-" * -alter if alter < 0 else "")


def recip(value: Fraction) -> str | None:
    """A **kern duration for ``value`` whole notes (plain, dotted or triplet), or ``None``."""
    for dots in (0, 1, 2):
        base = value / (2 - Fraction(1, 2**dots))
        if base.numerator == 1 and base.denominator in (1, 2, 4, 8, 16, 32):
            return f"{base.denominator}{'.' * dots}"
        if dots == 0 and base == 2:
            return "0"
    if value.numerator == 1 and value.denominator in (3, 6, 12, 24):
        return str(value.denominator)
    return None


@dataclasses.dataclass(frozen=True)
class GeneratorSettings:
    measures: tuple[int, int] = (2, 5)
    two_staves_p: float = 0.45
    rest_p: float = 0.12
    chord_p: float = 0.2
    tie_p: float = 0.08
    accidental_p: float = 0.08
    triplet_p: float = 0.08
    dot_p: float = 0.2


def generate(rng: np.random.Generator, settings: GeneratorSettings = GeneratorSettings()) -> tuple[str, dict]:
    """A new piece as **kern text, and the record of its choices."""
    fifths = int(rng.integers(-7, 8)) if rng.random() < 0.8 else int(rng.integers(-3, 4))
    minor = bool(rng.random() < 0.35)
    meter = METERS[int(rng.integers(len(METERS)))]
    measures = int(rng.integers(settings.measures[0], settings.measures[1] + 1))
    staves = 2 if rng.random() < settings.two_staves_p else 1
    if staves == 2:
        clefs = ["bass", "treble"]  # Humdrum spines run from the lowest staff up
    else:
        clefs = [("treble", "bass", "alto", "tenor", "treble-8vb")[int(rng.choice(5, p=[0.6, 0.2, 0.08, 0.04, 0.08]))]]
    signature = (SHARPS[:fifths] if fifths > 0 else SHARPS[::-1][:-fifths])
    accidental = "#" if fifths > 0 else "-"
    key_alter = {letter: (1 if fifths > 0 else -1) for letter in signature}
    tonic = (MINOR_TONICS if minor else MAJOR_TONICS)[fifths]
    numerator, denominator = (int(x) for x in meter.split("/"))
    bar = Fraction(numerator, denominator)
    compound = denominator == 8 and numerator % 3 == 0 and numerator > 3
    beat = Fraction(3, 8) if compound else Fraction(1, denominator)
    columns: list[list[tuple[Fraction, str]]] = []
    for clef in clefs:
        _, low, high = CLEFS[clef]
        events: list[tuple[Fraction, str]] = []
        step = int(rng.integers(low + 2, high - 2))
        for m in range(measures):
            for onset, token in _measure(rng, settings, bar, beat, step, low, high, key_alter):
                events.append((m * bar + onset, token))
                step = _last_step(token, step)
        _ties(rng, settings, events)
        columns.append(events)
    header = ["\t".join(["**kern"] * staves)]
    if staves == 2:
        header += ["\t".join(["*part1"] * 2), "*staff2\t*staff1"]
    header.append("\t".join(CLEFS[c][0] for c in clefs))
    header.append("\t".join([f"*k[{''.join(ch + accidental for ch in signature)}]"] * staves))
    header.append("\t".join([f"*{tonic}:"] * staves))
    header.append("\t".join([f"*M{meter}"] * staves))
    symbol = {"4/4": "c", "2/2": "c|"}.get(meter) if rng.random() < 0.5 else None
    if symbol:
        header.append("\t".join([f"*met({symbol})"] * staves))
    body = []
    onsets = sorted({t for events in columns for t, _ in events} | {m * bar for m in range(1, measures + 1)})
    by_column = [dict(events) for events in columns]
    for t in onsets:
        if t > 0 and t % bar == 0:
            barline = "==" if t == measures * bar else f"={int(t / bar) + 1}"
            body.append("\t".join([barline] * staves))
            if t == measures * bar:
                break
        body.append("\t".join(col.get(t, ".") for col in by_column))
    text = "\n".join(header + body + ["\t".join(["*-"] * staves)]) + "\n"
    record = {
        "key_fifths": fifths, "mode": "minor" if minor else "major", "meter": meter,
        "meter_symbol": symbol, "measures": measures, "clefs": clefs,
        "title": f"{TITLE_WORDS[int(rng.integers(len(TITLE_WORDS)))]} No. {int(rng.integers(1, 13))}",
        "composer": COMPOSERS[int(rng.integers(len(COMPOSERS)))],
    }
    return text, record


def _last_step(token: str, step: int) -> int:
    pitches = [p for p in token.split(" ") if is_note(p)]
    if not pitches:
        return step
    letters = "".join(ch for ch in pitches[0] if ch in "abcdefgABCDEFG")
    index = "cdefgab".index(letters[0].lower())
    octave = 3 + len(letters) if letters[0].islower() else 4 - len(letters)
    return octave * 7 + index


def _measure(
    rng: np.random.Generator, s: GeneratorSettings, bar: Fraction, beat: Fraction, step: int,
    low: int, high: int, key_alter: dict[str, int],
) -> list[tuple[Fraction, str]]:
    """One measure of one staff: ``(onset, token)`` pairs filling ``bar`` exactly, beams within beats."""
    events: list[tuple[Fraction, str, Fraction]] = []
    t = Fraction(0)
    while t < bar:
        room_in_beat = beat - (t % beat)
        if rng.random() < s.triplet_p and room_in_beat == beat and beat in (Fraction(1, 4), Fraction(1, 2)):
            value = beat / 3
            group = [value] * 3
        else:
            choices = [Fraction(1, d) for d in (1, 2, 4, 8, 16)]
            choices += [c * Fraction(3, 2) for c in choices[1:4]] if rng.random() < s.dot_p else []
            fits = [c for c in choices if c <= bar - t and (c <= room_in_beat or (t % beat == 0 and c % beat == 0))]
            weights = np.array([{1: 0.5, 2: 1.5, 4: 3, 8: 3, 16: 1}.get(c.denominator, 1.0) for c in fits])
            group = [fits[int(rng.choice(len(fits), p=weights / weights.sum()))]]
        for value in group:
            if rng.random() < s.rest_p:
                events.append((t, f"{recip(value)}r", value))
            else:
                step = int(np.clip(step + int(rng.choice([-3, -2, -1, 0, 1, 1, 2, 3])), low, high))
                events.append((t, _chord(rng, s, recip(value) or "4", step, high, key_alter), value))
            t += value
    return _beam(events, beat)


def _chord(rng: np.random.Generator, s: GeneratorSettings, dur: str, step: int, high: int,
           key_alter: dict[str, int]) -> str:
    steps = [step]
    if rng.random() < s.chord_p:
        shapes = ((2,), (4,), (2, 4), (2, 5), (7,), (2, 4, 7))  # third, fifth, triad, sixth chord, octave, ...
        for interval in shapes[int(rng.integers(len(shapes)))]:
            if step + interval <= high + 3:
                steps.append(step + int(interval))
    notes = []
    for st in steps:
        alter = key_alter.get("cdefgab"[st % 7], 0)
        if rng.random() < s.accidental_p:
            alter = int(rng.choice([a for a in (-1, 0, 1) if a != alter]))
        notes.append(f"{dur}{kern_pitch(st, alter)}")
    return " ".join(notes)


def _beam(events: list[tuple[Fraction, str, Fraction]], beat: Fraction) -> list[tuple[Fraction, str]]:
    """Beam runs of two or more equal eighths or sixteenths (notes, not rests) inside one beat."""
    out = [[t, tok] for t, tok, _ in events]
    i = 0
    while i < len(events):
        t, token, value = events[i]
        j = i
        if value in (Fraction(1, 8), Fraction(1, 16), Fraction(1, 12)) and "r" not in token:
            while (j + 1 < len(events) and events[j + 1][2] == value and "r" not in events[j + 1][1]
                   and events[j + 1][0] // beat == t // beat):
                j += 1
        if j > i:
            marks = ("LL", "JJ") if value == Fraction(1, 16) else ("L", "J")
            out[i][1] = out[i][1].replace(" ", marks[0] + " ", 1) if " " in out[i][1] else out[i][1] + marks[0]
            out[j][1] = out[j][1].replace(" ", marks[1] + " ", 1) if " " in out[j][1] else out[j][1] + marks[1]
        i = j + 1
    return [(t, tok) for t, tok in out]


def _ties(rng: np.random.Generator, s: GeneratorSettings, events: list[tuple[Fraction, str]]) -> None:
    """Tie a single note to the next event by repeating its pitch there (in place)."""
    for i in range(len(events) - 1):
        (t, a), (u, b) = events[i], events[i + 1]
        if " " in a or " " in b or not is_note(a) or not is_note(b) or "]" in a or "[" in b:
            continue
        if rng.random() < s.tie_p:
            pitch = "".join(ch for ch in a if ch in "abcdefgABCDEFG#-n")
            duration_b = _RECIP.match(b).group(0)
            beams = "".join(ch for ch in b if ch in "LJ")
            events[i] = (t, "[" + a)
            events[i + 1] = (u, f"{duration_b}{pitch}]{beams}")
