"""The grammar of a **kern data token and a barline, checked before Verovio reads them.

Verovio's Humdrum reader frees memory it does not own on some malformed notes and takes the
process down with it: a note that names several pitches (``4cdcdcdc``, a chord note
``gfgefed``) aborts or segfaults it, sometimes only on a later piece in the same toolkit. So a
data token is read the way the Humdrum **kern reference writes one: ``.`` (null), or sub-tokens
separated by single spaces (a chord of notes: a rest in one aborts Verovio, ``2E r 4r``), each
holding

* at most one duration: digits, an optional ratio ``%n``, then augmentation dots;
* exactly one pitch, a letter ``a``-``g`` or ``A``-``G`` repeated for the octave, with its
  accidental right after it (``#``, ``##``, ``-``, ``--`` or ``n``; a triple one aborts Verovio
  under a turn, ``S2a###``); or a rest ``r`` (``rr``), which may carry one pitch for where it is
  drawn;
* any of the other signifiers the reference defines (ties, slurs, phrases, beams, stems, grace
  notes, articulations, ornaments, editorial marks) and its user-definable ones.

A barline is ``=`` (``==`` the final one), an optional measure number with a letter, and the
barline style characters.
"""

from __future__ import annotations

import re

from corpora.base import BadItem

DURATION = re.compile(r"\d+(?:%\d+)?\.*")
PITCH = re.compile(r"([A-Ga-g])\1*(?:#{1,2}|-{1,2}|n)?")
REST = re.compile(r"rr?")
# Every other **kern signifier: ties, slurs (with elision), phrases, fermata, breath, articulations,
# ornaments, bowing, harmonics, beams, stems, grace notes, appoggiaturas, editorial and hiding marks,
# glissandos, and the user-definable ones.
SIGNIFIERS = frozenset("[]_(){}&;,'\"`~^:vuoOMmWwTtSR$zsLJKk/\\qQPpxXyYHhijlNUVZ@|<>+")
BARLINE = re.compile(r"=+(?:\d+[a-z]?)?[|!:'`\-.;,]*")


def check_token(token: str) -> None:
    """Raise :class:`BadItem` (``bad-token``) unless ``token`` is a well-formed **kern data token."""
    if token == ".":
        return
    subtokens = token.split(" ")
    if any(not sub for sub in subtokens):
        raise BadItem("bad-token", f"token {token[:60]!r}: an empty chord note")
    if len(subtokens) > 1 and any(REST.search(sub) for sub in subtokens):
        raise BadItem("bad-token", f"token {token[:60]!r}: a rest in a chord")
    for sub in subtokens:
        problem = _subtoken_problem(sub)
        if problem:
            raise BadItem("bad-token", f"token {token[:60]!r}: {problem}")


def check_barline(token: str) -> None:
    """Raise :class:`BadItem` (``bad-token``) unless ``token`` is a well-formed barline."""
    if not BARLINE.fullmatch(token):
        raise BadItem("bad-token", f"barline {token[:60]!r}")


def _subtoken_problem(sub: str) -> str | None:
    """What is wrong with one note or rest of a token, or None."""
    durations = DURATION.findall(sub)
    if len(durations) > 1:
        return f"{sub[:30]!r} has {len(durations)} durations"
    left = DURATION.sub("", sub, count=1)
    if "%" in left or "." in left:
        return f"{sub[:30]!r}: a ratio or dot away from its duration"
    rests = REST.findall(left)
    if len(rests) > 1:
        return f"{sub[:30]!r} has {len(rests)} rests"
    left = REST.sub("", left, count=1)
    pitches = PITCH.findall(left)
    if len(pitches) > 1 or (not pitches and not rests):
        return f"{sub[:30]!r} names {len(pitches)} pitches"
    left = PITCH.sub("", left, count=1)
    stray = sorted(set(left) - SIGNIFIERS)
    if stray:
        return f"{sub[:30]!r}: {''.join(stray)[:10]!r} is no **kern signifier here"
    return None
