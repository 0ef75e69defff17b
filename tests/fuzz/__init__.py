"""Hostile input on every renderer: hand-picked cases and Hypothesis-generated ones (:mod:`.cases`)
written as a user corpus and rendered by the real engine in coverage mode (:mod:`.harness`), in
``make test`` with a bounded budget (``test_fuzz.py``) and with many more through ``make fuzz``
(:mod:`.report`, which prints the table the README shows)."""
