"""The pitches a **kern label writes and the pitches Verovio drew, as comparable multisets, for
``sheet-music``'s ``validate`` (ARCHITECTURE.md, "The renderer contract").

A **kern data token writes a sounding pitch: a letter repeated for the octave (``c`` is middle C,
``cc`` the octave above, ``C`` the octave below) and explicit accidentals (``#``, ``-``, ``n``; a key
signature implies none). Verovio's MEI of the loaded score gives each note's ``pname``, its octave
(``oct.ges`` where the sounding octave differs from the written one, as under a tenor's ``*clefGv2``)
and its sounding accidental (``accid.ges`` from the key, else the written ``accid``). Both sides
become ``(letter, octave, semitones)`` counts; invisible notes (``yy``, ``visible="false"``) are on
neither side.
"""

from __future__ import annotations

import collections
import re

from corpora.music.spines import kern_notes

Pitch = tuple[str, int, int]  # (letter a-g, octave, semitones from the natural)

_KERN_PITCH = re.compile(r"([A-Ga-g])\1*")
_KERN_ALTER = re.compile(r"#+|-+|n")
_MEI_NOTE = re.compile(r"<note\b([^>]*?)(/>|>(.*?)</note>)", re.DOTALL)
_ATTRIBUTE = re.compile(r'([\w.:]+)="([^"]*)"')
_MEI_ALTER = {"n": 0, "s": 1, "ss": 2, "x": 2, "f": -1, "ff": -2, "ts": 3, "tf": -3}


def label_pitches(kern: str) -> collections.Counter[Pitch]:
    """The visible notes of the **kern columns of ``kern`` (chord notes each), by pitch."""
    return collections.Counter(_kern_pitch(sub) for sub in kern_notes(kern) if "yy" not in sub)


def _kern_pitch(sub: str) -> Pitch:
    match = _KERN_PITCH.search(sub)
    assert match is not None  # is_note found a letter
    letters = match.group()
    octave = 3 + len(letters) if letters[0].islower() else 4 - len(letters)
    alter = _KERN_ALTER.match(sub, match.end())
    semitones = 0 if alter is None or alter.group() == "n" else len(alter.group()) * (1 if alter.group()[0] == "#" else -1)
    return letters[0].lower(), octave, semitones


def drawn_pitches(mei: str) -> collections.Counter[Pitch]:
    """The visible notes of Verovio's MEI (``toolkit.getMEI()``), by sounding pitch."""
    pitches: collections.Counter[Pitch] = collections.Counter()
    for match in _MEI_NOTE.finditer(mei):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        if attributes.get("visible") == "false" or "pname" not in attributes:
            continue
        inner = dict(_ATTRIBUTE.findall(match.group(3) or ""))  # an <accid> child, when written so
        accidental = (attributes.get("accid.ges") or inner.get("accid.ges") or attributes.get("accid")
                      or inner.get("accid") or "n")
        octave = int(attributes.get("oct.ges") or attributes["oct"])
        pitches[attributes["pname"], octave, _MEI_ALTER.get(accidental, 0)] += 1
    return pitches
