"""New **kern pieces from random choices: 1 or 2 staves (a braced grand staff), keys with up to 7
sharps or flats, major or minor, simple and compound metres (``*met(c)`` for common time),
durations from whole to 16th with dots and triplets, rests, chords, ties, beams, accidentals.

All randomness comes from the generator passed in; :func:`generate` also returns the record of
its choices.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from corpora.music.spines import RECIP, is_note

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
            duration_b = RECIP.match(b).group(0)
            beams = "".join(ch for ch in b if ch in "LJ")
            events[i] = (t, "[" + a)
            events[i + 1] = (u, f"{duration_b}{pitch}]{beams}")
