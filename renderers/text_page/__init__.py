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

from corpora.base import Corpus, CorpusError
from corpora.text import Passage, detect_lang, passages
from renderers.backends import fonts
from renderers.base import Reject, Sample
from renderers.text_page.linebreak import normalise
from renderers.text_page.options import Options
from renderers.text_page.pages import check_region, render_page
from renderers.text_page.slices import render_slice


class TextPageRenderer:
    """English/Chinese plain-text pages (one or two columns) and line/paragraph slices."""

    name = "text-page"
    markup = "text"
    task = "ocr"
    version = "4"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: Corpus[Passage] | None = None
        langs = ("en", "zh") if options.lang == "mix" else (options.lang,)
        self.pools: dict[str, tuple[Passage, ...]] = {}
        if corpus_path is not None:
            self.corpus = passages(corpus_path, options.lang)
            by_lang: dict[str, list[Passage]] = {"en": [], "zh": []}
            for passage in self.corpus.items:
                by_lang[detect_lang(" ".join(passage))].append(passage)
            self.pools = {lang: tuple(by_lang[lang]) for lang in langs if by_lang[lang]}
            if not self.pools:
                found = ", ".join(f"{len(v)} {k}" for k, v in by_lang.items())
                raise CorpusError(
                    f"corpus {corpus_path} has no {'/'.join(langs)} passage (found {found}); "
                    f"set the text-page option lang to match it or to 'mix'"
                )
        else:
            self.pools = {lang: tuple(passages(None, lang).items) for lang in langs}
        self._normalised: dict[tuple[str, int], tuple[str, ...]] = {}
        weights = np.array(list(options.regions.values()), dtype=float)
        self.region_choice = (list(options.regions), weights / weights.sum())

    def _lang(self, rng: np.random.Generator) -> str:
        if len(self.pools) == 1:
            return next(iter(self.pools))
        return "zh" if rng.random() < self.options.zh_prob else "en"

    def passage(self, rng: np.random.Generator, lang: str) -> tuple[int, tuple[str, ...]]:
        """A passage of ``lang`` (its index in the pool, its normalised paragraphs)."""
        pool = self.pools[lang]
        index = int(rng.integers(len(pool)))
        key = (lang, index)
        if key not in self._normalised:  # a pure cache: same passage, same text
            self._normalised[key] = tuple(p for p in map(normalise, pool[index]) if p)
        return index, self._normalised[key]

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
