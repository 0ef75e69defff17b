"""Display formulas rendered by MathJax (through mathpix-markdown-it) in headless Chromium, with the
formula's LaTeX as the target: GOT's formula data (GOT paper, section 3.3, "math formulas": LaTeX
rendered to images, Mathpix-format targets).

Content: :func:`corpora.formula_generator.generate_formula` (fractions, big operators with limits, integrals,
limits, matrices, ``cases``, accents, Greek, nested scripts, long equations) or a user file of one
formula per line (:func:`corpora.formulas.user_formulas`). Every target is in the normalised spelling
of :func:`corpora.formulas.normalize_latex`, and that exact text is what the page renders (inside
``\\[ … \\]``). A formula MathJax cannot typeset is rejected with its TeX error (``math-error``); one
wider or taller than the page, ``too-large``; one that closes its display and opens another
(``\\]…\\[``), of which the image would show only part, ``several-display-blocks``. ``validate``
compares the letters and digits of the target, and of ``meta["plain"]``, with the glyphs MathJax
drew (the page returns them in ``Sample.drawn``).

GOT asks for LaTeX with the formatted prompt, so ``task`` is ``format``; ``meta["plain"]`` holds the
formula read as Unicode text (pylatexenc), so the trainer can ask ``OCR: `` of the same image.

Look (all in ``meta``): font size, ink colour, paper colour, padding. The browser back-end is
:mod:`renderers.backends.browser` (one pooled Chromium per worker, launched on the first sample).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from corpora.formula_generator import generate_formula
from corpora.formulas import latex_to_plain, user_formulas
from corpora.indexed import IndexedCorpus
from renderers.backends.browser import JS_DIR, BrowserOptions, BrowserPage
from renderers.base import Reject, Sample
from renderers.readback import count_difference, word_counts

PAPERS = ("#ffffff", "#ffffff", "#ffffff", "#fbf8ef", "#f4f4f4", "#fdfdf8")
INKS = ("#000000", "#000000", "#111111", "#1a1a2e", "#202020", "#0b2545", "#3a1f04")
VIEWPORT = (2000, 1000)
MAX_SIZE = (1600, 800)  # a formula image larger than this is rejected (too-large)


class Options(BrowserOptions):
    font_px: tuple[int, int] = (18, 40)
    pad_px: tuple[int, int] = (6, 32)


class FormulaRenderer:
    name: ClassVar[str] = "formula"
    markup: ClassVar[str] = "latex"
    task: ClassVar[str] = "format"
    version: ClassVar[str] = "4"
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: Options | None = None, corpus_path: Path | None = None) -> None:
        self.options = options or Options()
        self.corpus: IndexedCorpus[str] | None = user_formulas(corpus_path) if corpus_path is not None else None
        self.page = BrowserPage(JS_DIR / "mathpix.html", viewport=VIEWPORT, timeout_s=self.options.timeout_s,
                                recycle_every=self.options.recycle_every)

    def render(self, rng: np.random.Generator) -> Sample:
        if self.corpus is not None:
            index, latex = self.corpus.draw(rng)
            meta: dict[str, Any] = {"origin": "user", "item": index}
        else:
            latex, record = generate_formula(rng)
            meta = {"origin": "generated", **record}
        return self.draw(latex, meta, rng)

    def render_item(self, item: str, rng: np.random.Generator) -> list[Sample]:
        """A formula is one part."""
        return [self.draw(item, {"origin": "user"}, rng)]

    def draw(self, latex: str, meta: dict[str, Any], rng: np.random.Generator) -> Sample:
        o = self.options
        look = {
            "font_px": int(rng.integers(o.font_px[0], o.font_px[1] + 1)),
            "ink": INKS[int(rng.integers(len(INKS)))],  # not "color": that key asks GOT's colour-guided task
            "paper": PAPERS[int(rng.integers(len(PAPERS)))],
            "pad": int(rng.integers(o.pad_px[0], o.pad_px[1] + 1)),
        }
        captured = self.page.render("renderFormula", {"latex": latex, "max_width": MAX_SIZE[0],
                                                      "max_height": MAX_SIZE[1], **look})
        png = captured.png
        assert png is not None
        image = Image.open(io.BytesIO(png))
        meta.update(look, lang="en", plain=latex_to_plain(latex), width_px=image.width, height_px=image.height)
        return Sample([image], latex, meta, png=[png], drawn={"glyphs": captured.result["glyphs"]})

    def validate(self, sample: Sample) -> None:
        """The letters and digits of the target, and of the recorded plain reading, are those MathJax
        drew, each as often (:func:`renderers.readback.word_counts`: MathJax lays scripts, roots and
        fractions out in its own order, and draws operators and delimiters from pieces)."""
        if not sample.meta["plain"].strip():
            raise Reject("empty-plain", "the formula reads as no text")
        if "glyphs" not in sample.drawn:
            raise Reject("nothing-to-check", "the sample carries no drawn glyphs")
        drawn = word_counts(sample.drawn["glyphs"])
        for label, text in (("target", latex_to_plain(sample.target)), ("plain reading", sample.meta["plain"])):
            if word_counts(text) != drawn:
                raise Reject("label-not-drawn", f"{label}: {count_difference(word_counts(text), drawn)}")

    def close(self) -> None:
        self.page.close()
