"""The formula corpus (generator, user files, the normalisation rule, plain reading) and the `formula`
renderer in real Chromium (one browser shared by the module)."""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest

from corpora.base import BadItem
from corpora.formula_generator import KINDS, generate_formula
from corpora.formulas import (
    compact_latex,
    latex_to_plain,
    normalize_latex,
    parse_formula,
    user_formulas,
)
from renderers.base import Reject
from renderers.formula import FormulaRenderer
from tests.shard_helpers import good_items


@pytest.fixture(scope="module")
def renderer():
    instance = FormulaRenderer()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def generated():
    return [generate_formula(np.random.default_rng(seed)) for seed in range(400)]


def test_normalisation_rule_example_and_invariance():
    assert normalize_latex(r"x^{2}+\frac{a}{b}") == r"x ^ { 2 } + \frac { a } { b }"
    # Spacing the image cannot show does not change the target.
    assert normalize_latex(r"  x ^{2}+ \frac {a} { b }  ") == normalize_latex(r"x^{2}+\frac{a}{b}")
    assert normalize_latex(r"3.14\alpha\beta") == r"3.14 \alpha \beta"
    assert normalize_latex(r"\begin {pmatrix} a&b\\c&d \end{pmatrix}") == (
        r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}")
    # Text-mode arguments keep their words (with single spaces).
    assert normalize_latex(r"1 \text{if  x   is odd}") == r"1 \text {if x is odd}"


def test_normalisation_is_idempotent_and_generated_formulas_are_normalised(generated):
    for latex, _ in generated:
        assert normalize_latex(latex) == latex
        assert normalize_latex(compact_latex(latex)) == latex  # the compact spelling reads back the same


def test_generator_covers_the_structures(generated):
    kinds = collections.Counter(record["kind"] for _, record in generated)
    assert set(kinds) == set(KINDS)
    text = "\n".join(latex for latex, _ in generated)
    for construct in (r"\frac", r"\sum _ {", r"\int _ {", r"\lim _ {", r"\begin{cases}", r"\begin{pmatrix}",
                      r"\sqrt", r"\hat {", r"\alpha", r"\leq", r"_ {", r"^ {"):
        assert construct in text, construct
    # Scripts nest (a superscript inside a subscript or superscript).
    assert re.search(r"[_^] \{[^{}]*[_^] \{", text)
    assert max(len(latex) for latex, _ in generated) > 150  # long equations occur


def test_user_formulas_strip_delimiters_and_reject_by_reason(tmp_path):
    path = tmp_path / "formulas.txt"
    path.write_text("\\[ a+b \\]\n$$E=mc^2$$\n\\frac{1}{2\n\ncost $5\n50% off\nx_{1}\n", encoding="utf-8")
    corpus = user_formulas(path)
    assert good_items(corpus) == ["a + b", "E = m c ^ 2", "x _ { 1 }"]
    assert corpus.rejects == {"dollar-in-formula": 1, "latex-comment": 1, "unbalanced-braces": 1}
    with pytest.raises(BadItem, match="empty-formula"):
        parse_formula("   ")


def test_plain_reading_is_unicode_text():
    assert latex_to_plain(normalize_latex(r"\alpha+\beta\leq\frac{a}{b}")) == "α+β ≤ a/b"
    assert "∑" in latex_to_plain(normalize_latex(r"\sum_{i=1}^{n} x_i"))


def test_renders_the_normalised_target_with_its_plain_reading(renderer):
    sample = renderer.render(np.random.default_rng(5))
    assert normalize_latex(sample.target) == sample.target
    assert sample.meta["plain"] == latex_to_plain(sample.target)
    assert sample.png is not None and sample.images[0].size == (sample.meta["width_px"], sample.meta["height_px"])
    renderer.validate(sample)
    ink = np.asarray(sample.images[0].convert("L"))
    assert ink.min() < 100 and ink.max() > 200


def test_formula_mathjax_cannot_typeset_is_rejected_with_the_tex_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("\\frac{a}{\\nosuchmacro}\n", encoding="utf-8")
    bad = FormulaRenderer(corpus_path=path)
    try:
        with pytest.raises(Reject) as info:
            bad.render(np.random.default_rng(0))
        assert info.value.reason == "math-error"
        assert "Undefined control sequence" in info.value.detail and "nosuchmacro" in info.value.detail
        # The same browser renders the next, good formula.
        assert bad.render_item("a + b", np.random.default_rng(0))[0].target == "a + b"
    finally:
        bad.close()


def test_html_in_a_formula_is_text_and_runs_nothing(renderer):
    latex = normalize_latex(r"x = \text{<img src=x onerror=window.pwned=1><script>window.pwned=2</script>}")
    captured = renderer.page.render("renderFormula", {"latex": latex, "font_px": 20, "ink": "#000",
                                                      "paper": "#fff", "pad": 4, "max_width": 1600,
                                                      "max_height": 800})
    assert captured.png is not None
    page = renderer.page._session.page
    assert page.evaluate("document.querySelectorAll('#stage img, #stage script').length") == 0
    assert page.evaluate("typeof window.pwned") == "undefined"
    # The characters were typeset as text: the picture is about 60 characters wide.
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(captured.png)).width > 30 * 20 / 2
