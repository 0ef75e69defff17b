"""Hostile input on every renderer with a user corpus, a bounded budget for ``make test``: each
renderer's hand-picked cases and a few Hypothesis-generated items go through the real engine in
coverage mode; none may crash the run, hang it or be written as an unfaithful pair, and every item
is drawn or missed with a reason (:mod:`tests.fuzz.harness`). ``make fuzz`` runs many more."""

from __future__ import annotations

import pytest

from renderers import registry
from tests.fuzz.cases import NO_USER_CORPUS, SPECS
from tests.fuzz.harness import Tally, fuzz, generated

EXAMPLES = 5  # generated items per renderer here


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hostile_items_are_drawn_or_counted_never_a_crash_a_hang_or_an_unfaithful_pair(name, tmp_path):
    spec, tally = SPECS[name], Tally(name)
    fuzz(name, spec, [*spec.picked, *generated(spec.strategy, EXAMPLES, seed=0)], tmp_path, tally)
    assert tally.crashes == [] and tally.hangs == [] and tally.unfaithful == []
    assert tally.inputs == len(spec.picked) + EXAMPLES
    assert tally.outcomes["drawn"] > 0 and set(tally.outcomes) - {"drawn"}, dict(tally.outcomes)  # some of each


def test_every_renderer_with_a_user_corpus_is_fuzzed():
    assert set(registry.names()) - set(NO_USER_CORPUS) <= set(SPECS) | {"faults"}
