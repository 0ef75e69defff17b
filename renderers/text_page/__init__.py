"""Plain-text document pages and slices in English or Chinese: GOT's stage-1 plain OCR data.

GOT (Wei et al. 2024, "General OCR Theory", its pre-training data engine) trains on pages whose plain
text was extracted with PyMuPDF (``fitz``), and on line- and paragraph-level slices cropped from
them. This renderer makes the synthetic counterpart: passages from :mod:`corpora.text` set with
PIL/FreeType in one or two columns, with varied fonts, sizes, margins, line spacing, paragraph
indents and spacing, paper tone and ink colour.

Target: the text in reading order (columns left to right, each top to bottom), **one visual line
per line: lines joined by "\\n", no blank line between paragraphs, no indent, no trailing
newline**. This follows how GOT's plain targets were made: the GOT author says plain OCR "only
uses the Fitz extracted data without format" (GOT-OCR2.0 issue #182), and PyMuPDF's plain-text
writer (``Page.get_text("text")``) ends every extracted line with one "\\n" and adds nothing
between blocks. A word is never hyphenated (:mod:`.linebreak`).

Every glyph of the target is in the font used: the font is picked to cover the text drawn
(:func:`renderers.backends.fonts.pick_font`), else the sample is rejected (``missing-glyph``). Text is
NFC-normalised; Unicode spaces become a space; format and control characters (zero-width space,
soft hyphen, BOM, ...) are removed; a mapped glyph that draws no ink rejects (``blank-glyph``).

The package, by job:

* this module: the renderer: content (language, passages, font) and the checks;
* :mod:`.options`: the options and the ranges they give;
* :mod:`.linebreak`: normalisation, advance widths, line breaking;
* :mod:`.pages`: whole pages (``regions`` for GOT's box- and colour-guided targets, ``crops`` for
  its multi-crop training);
* :mod:`.slices`: line and paragraph slices (``slice: true``);
* :mod:`.raster`: paper and ink, and the palette image drawn from a coverage mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpora.indexed import IndexedCorpus
from corpora.split import Selection, text_key
from corpora.text import Passage, detect_lang, passages
from renderers.backends import fonts
from renderers.base import Reject, Sample
from renderers.text_page.linebreak import normalise
from renderers.text_page.options import Options
from renderers.text_page.pages import check_region, render_page, render_pages
from renderers.text_page.slices import render_slice

MAX_LANG_DRAWS = 1000  # draws for a passage of the wanted language before the sample is rejected


class TextPageRenderer:
    """English/Chinese plain-text pages (one or two columns) and line/paragraph slices."""

    name = "text-page"
    markup = "text"
    task = "ocr"
    version = "5"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        langs = ("en", "zh") if options.lang == "mix" else (options.lang,)
        self.corpus: IndexedCorpus[Passage] = passages(corpus_path, langs)
        self.user_corpus = corpus_path is not None
        self.selection: Selection | None = None
        self._normalised: dict[int, tuple[str, tuple[str, ...]]] = {}
        weights = np.array(list(options.regions.values()), dtype=float)
        self.region_choice = (list(options.regions), weights / weights.sum())

    def use_split(self, selection: Selection) -> None:
        """Passages of the selection only, and slices whose own text falls in its split."""
        self.corpus = self.corpus.subset(selection.indices)
        self.selection = selection
        self._normalised.clear()

    def holds(self, text: str) -> bool:
        """Whether a slice of ``text`` may be drawn: it falls in the run's split, if any."""
        return self.selection is None or self.selection.holds(text_key(text))

    def _lang(self, rng: np.random.Generator) -> str:
        if self.options.lang != "mix":
            return self.options.lang
        if self.user_corpus:  # a user corpus gives its own mix: the language of a passage drawn
            return self._passage_of(self.corpus.draw(rng)[0])[0]
        return "zh" if rng.random() < self.options.zh_prob else "en"

    def _passage_of(self, index: int) -> tuple[str, tuple[str, ...]]:
        """Passage ``index``'s language and its normalised paragraphs (a pure cache: same passage, same text)."""
        if index not in self._normalised:
            passage = self.corpus.item(index)
            paragraphs = tuple(p for p in map(normalise, passage) if p)
            self._normalised[index] = (detect_lang(" ".join(paragraphs)), paragraphs)
        return self._normalised[index]

    def passage(self, rng: np.random.Generator, lang: str) -> tuple[int, tuple[str, ...]]:
        """A passage of ``lang`` (its index in the corpus, its normalised paragraphs)."""
        for _ in range(MAX_LANG_DRAWS):
            index, _ = self.corpus.draw(rng)
            found, paragraphs = self._passage_of(index)
            if found == lang:
                return index, paragraphs
        raise Reject("no-passage-in-lang", f"no {lang} passage in {MAX_LANG_DRAWS} draws from {self.corpus.source}; "
                                           f"set the text-page option lang to match the corpus, or to mix")

    def font(self, rng: np.random.Generator, text: str, lang: str) -> fonts.FontFace:
        """A face of the configured styles that covers ``text``."""
        try:
            if lang == "zh":
                return fonts.pick_font(
                    rng, text, script="cjk", styles=self.options.styles, regions=("sc", "")
                )
            return fonts.pick_font(rng, text, script="latin", styles=self.options.styles)
        except fonts.MissingGlyphs as err:
            raise Reject("missing-glyph", str(err)) from err

    def render(self, rng: np.random.Generator) -> Sample:
        lang = self._lang(rng)
        if self.options.slice:
            return render_slice(self, rng, lang)
        return render_page(self, rng, lang)

    def render_item(self, item: Passage, rng: np.random.Generator) -> list[Sample]:
        """The whole passage, in its own language: its pages, each continuing where the one before
        ended; with ``slice``, one slice per paragraph, each in as many lines as it takes. The parts'
        targets joined by a line break are every line the passage was set in."""
        if any(w > 0 for region, w in self.options.regions.items() if region != "page"):
            raise ValueError("text-page draws a corpus in order as whole pages or slices; a region covers part "
                             "of a page: leave regions at {page: 1} or set order: sample")
        paragraphs = tuple(p for p in map(normalise, item) if p)
        if not paragraphs:
            raise Reject("empty-text", "the passage holds no text after normalisation")
        lang = detect_lang(" ".join(paragraphs))
        if self.options.slice:
            return [render_slice(self, rng, lang, paragraph) for paragraph in paragraphs]
        return render_pages(self, rng, lang, paragraphs)

    def validate(self, sample: Sample) -> None:
        """Reject an empty target, a target glyph the recorded font lacks, or a region whose box
        does not hold exactly the target's lines (a blank image is rejected by the engine's own
        check, :func:`pipelines.render.checks.check_sample`)."""
        if not sample.target.strip():
            raise Reject("empty-text", "the target is empty")
        if sample.meta.get("region", "page") != "page":
            check_region(sample.meta, sample.target)
        face = fonts.FontFace.from_meta(sample.meta["font"])
        missing = fonts.missing_glyphs(face, sample.target)
        if missing:
            codes = " ".join(f"U+{ord(c):04X}" for c in sorted(missing))
            raise Reject("missing-glyph", f"{face.family} lacks {codes}")
