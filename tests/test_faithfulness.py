"""Every label is checked against what the back-end drew (issue 15, item 1): a tampered label (one cell,
one value, one note, one atom changed) is rejected by every renderer's ``validate``, with the real
back-ends. Each case renders a valid sample, checks it passes, changes one thing in the target (and in
the recorded plain reading where the renderer keeps one) and expects a ``Reject``."""

from __future__ import annotations

import re

import numpy as np
import pytest

from renderers import registry
from renderers.base import Reject, Sample


def first_valid(renderer, seeds=range(40)) -> Sample:
    for seed in seeds:
        try:
            sample = renderer.render(np.random.default_rng(seed))
            renderer.validate(sample)
            return sample
        except Reject:
            continue
    raise AssertionError(f"{renderer.name}: no valid sample")


def tampered(sample: Sample, target: str, plain: str | None = None) -> Sample:
    meta = dict(sample.meta)
    if plain is not None:
        meta["plain"] = plain
    return Sample(sample.images, target, meta, sample.png, sample.drawn)


def change_first(pattern: str, text: str, replace) -> str:
    changed, count = re.subn(pattern, replace, text, count=1)
    assert count == 1 and changed != text, (pattern, text[:200])
    return changed


def bump_digit(match: re.Match) -> str:
    return str((int(match.group()) + 1) % 10)


@pytest.fixture(scope="module")
def formula():
    renderer = registry.load("formula")(registry.load("formula").Options())
    yield renderer
    renderer.close()


def test_formula_with_one_atom_changed_is_rejected(formula):
    sample = first_valid(formula)
    letter = change_first(r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])", sample.target, lambda m: "w" if m.group() == "q" else "q")
    with pytest.raises(Reject, match="label-not-drawn: target"):
        formula.validate(tampered(sample, letter))
    plain = change_first(r"\w", sample.meta["plain"], lambda m: "Y" if m.group() == "Z" else "Z")
    with pytest.raises(Reject, match="label-not-drawn: plain reading"):
        formula.validate(tampered(sample, sample.target, plain))


@pytest.mark.parametrize("latex", ["a + b \\] \\text{and} \\[ c", "x \\] \\[ y"])
def test_a_formula_that_splits_into_several_display_blocks_is_rejected(tmp_path, latex):
    path = tmp_path / "formulas.txt"
    path.write_text(latex + "\n", encoding="utf-8")
    renderer = registry.load("formula")(registry.load("formula").Options(), path)
    try:
        with pytest.raises(Reject, match="several-display-blocks"):
            renderer.render(np.random.default_rng(0))
    finally:
        renderer.close()


def renderer_named(name: str, **options):
    cls = registry.load(name)
    return cls(cls.Options(**options))


def raise_a_third(match: re.Match) -> str:
    """A kern pitch (a letter repeated for the octave) two letters up, same case and octave marks."""
    run = match.group()
    letter = "abcdefg"[("abcdefg".index(run[0].lower()) + 2) % 7]
    return (letter.upper() if run[0].isupper() else letter) * len(run)


def test_sheet_music_with_one_note_changed_is_rejected():
    renderer = renderer_named("sheet-music")
    try:
        for seed in range(6):  # generated pieces and corpus excerpts alike
            sample = first_valid(renderer, range(seed * 10, seed * 10 + 10))
            lines = sample.target.split("\n")
            row = next(i for i, line in enumerate(lines)
                       if line[:1] not in ("!", "*", "=", "") and re.search(r"[A-Ga-g]", line))
            lines[row] = change_first(r"([A-Ga-g])\1*", lines[row], raise_a_third)
            with pytest.raises(Reject, match="pitch-not-drawn"):
                renderer.validate(tampered(sample, "\n".join(lines)))
    finally:
        renderer.close()


def test_molecule_with_one_atom_changed_is_rejected():
    renderer = renderer_named("molecule")
    try:
        for seed in range(5):
            sample = first_valid(renderer, range(seed * 10, seed * 10 + 10))
            bad = change_first(r"(?<![A-Za-z\[])([CNO])(?![a-z])", sample.target,
                               lambda m: {"C": "N", "N": "O", "O": "S"}[m.group()])
            with pytest.raises(Reject, match="label-not-faithful"):
                renderer.validate(tampered(sample, bad))
    finally:
        renderer.close()
