"""Plain-text document pages and slices in any script HarfBuzz shapes: GOT's stage-1 plain OCR data.

GOT (Wei et al. 2024, "General OCR Theory", its pre-training data engine) trains on pages whose plain
text was extracted with PyMuPDF (``fitz``), and on line- and paragraph-level slices cropped from
them. This renderer makes the synthetic counterpart: passages from :mod:`corpora.text` set with
PIL/FreeType in one or two columns, with varied fonts, sizes, margins, line spacing, paragraph
indents and spacing, paper tone and ink colour; printed, or handwritten on notebook paper
(``styles: {hand: w}``, :mod:`.hand`); one page per sample, or several (``pages``, GOT's
multi-page OCR: one look, the text flowing on from page to page, the pages' lines joined).

Languages (:mod:`corpora.langs`): ``meta["lang"]`` is the ISO 639-1 code of the text drawn: the
``lang`` option's, or, for a user corpus under ``mix``, its script's usual language. The font is
one made for that language (:func:`renderers.backends.fonts.font_for_lang`: Japanese in JP faces,
Korean in KR faces, Arabic in Arabic faces, ...). Scripts that need shaping (Arabic, Hebrew, the
Indic scripts) are laid out by HarfBuzz (:mod:`renderers.backends.shaping`); right-to-left lines
are set flush right, their columns read right to left; Chinese and Japanese break between
characters, the others at spaces.

Target: the text in reading order (columns left to right, each top to bottom), **one visual line
per line: lines joined by "\\n", no blank line between paragraphs, no indent, no trailing
newline**. This follows how GOT's plain targets were made: the GOT author says plain OCR "only
uses the Fitz extracted data without format" (GOT-OCR2.0 issue #182), and PyMuPDF's plain-text
writer (``Page.get_text("text")``) ends every extracted line with one "\\n" and adds nothing
between blocks. A word is never hyphenated (:mod:`.linebreak`).

Every glyph of the target is in the font used: the font is picked to cover the text drawn, and a
shaped text must shape to no ``.notdef`` glyph, else the sample is rejected (``missing-glyph``). Text is
NFC-normalised; Unicode spaces become a space; format and control characters (zero-width space,
soft hyphen, BOM, ...) are removed; a mapped glyph that draws no ink rejects (``blank-glyph``).

The package, by job:

* this module: the renderer: content (language, passages, font) and the checks;
* :mod:`.options`: the options and the ranges they give;
* :mod:`.linebreak`: normalisation, advance widths, line breaking;
* :mod:`.pages`: whole pages (``regions`` for GOT's box- and colour-guided targets, ``crops`` for
  its multi-crop training, ``pages`` for its multi-page OCR);
* :mod:`.hand`: handwritten pages, glyph by glyph, with crossed-out words, on notebook paper;
* :mod:`.slices`: line and paragraph slices (``slice: true``);
* :mod:`.raster`: paper and ink, and the palette image drawn from a coverage mask;
* :mod:`.drawn`: the target read back against the lines drawn and their ink (``validate``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpora import langs
from corpora.indexed import IndexedCorpus
from corpora.split import Selection, text_key
from corpora.text import LANGS, Passage, default_passages, passages
from renderers.backends import fonts, shaping
from renderers.base import Reject, Sample
from renderers.text_page.drawn import check_drawn
from renderers.text_page.linebreak import normalise
from renderers.text_page.options import Options
from renderers.text_page.pages import check_region, render_page, render_pages
from renderers.text_page.slices import render_slice

MAX_LANG_DRAWS = 1000  # draws for a passage of the wanted language before the sample is rejected


class TextPageRenderer:
    """Plain-text pages (one or two columns, printed or handwritten, one or several) and line/paragraph slices."""

    name = "text-page"
    markup = "text"
    task = "ocr"
    version = "7"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        lang = options.lang
        names = ("en", "zh") if lang == "mix" else (lang,) if isinstance(lang, str) else tuple(lang)
        if corpus_path is None and any(name not in LANGS for name in names):
            missing = [name for name in names if name not in LANGS]
            raise ValueError(f"text-page has no built-in text in {missing}: give a text corpus in that language "
                             f"(--corpus), or choose among the built-in languages {list(LANGS)}")
        self.corpus: IndexedCorpus[Passage] = passages(corpus_path, names)
        # Languages by weight draw a language, then a passage of it: from its own built-in corpus (the
        # languages sharing a script cannot be told apart), or from the user corpus by script.
        self.by_lang: dict[str, IndexedCorpus[Passage]] = {}
        self.lang_choice: tuple[list[str], np.ndarray] | None = None
        if isinstance(lang, dict):
            kept = [name for name, w in lang.items() if w > 0]
            p = np.array([lang[name] for name in kept], dtype=float)
            self.lang_choice = (kept, p / p.sum())
            if corpus_path is None:
                self.by_lang = {name: default_passages((name,)) for name in kept}
        self.user_corpus = corpus_path is not None
        self.selection: Selection | None = None
        self._normalised: dict[tuple[str, int], tuple[str, tuple[str, ...]]] = {}
        weights = np.array(list(options.regions.values()), dtype=float)
        self.region_choice = (list(options.regions), weights / weights.sum())

    def use_split(self, selection: Selection) -> None:
        """Passages of the selection only, and slices whose own text falls in its split."""
        self.corpus = self.corpus.subset(selection.indices)
        self.by_lang = {name: _held(corpus, selection) for name, corpus in self.by_lang.items()}
        self.selection = selection
        self._normalised.clear()

    def holds(self, text: str) -> bool:
        """Whether a slice of ``text`` may be drawn: it falls in the run's split, if any."""
        return self.selection is None or self.selection.holds(text_key(text))

    def _lang(self, rng: np.random.Generator) -> str:
        if self.lang_choice is not None:
            kept, p = self.lang_choice
            return kept[int(rng.choice(len(kept), p=p))]
        if self.options.lang != "mix":
            return str(self.options.lang)
        if self.user_corpus:  # a user corpus gives its own mix: the language of a passage drawn
            return self._passage_of("", self.corpus.draw(rng)[0])[0]
        return "zh" if rng.random() < self.options.zh_prob else "en"

    def item_lang(self, text: str) -> str:
        """The language to label ``text`` with: the ``lang`` option's, when it names one language in
        the text's script; else the usual language of the text's script."""
        lang = self.options.lang
        if isinstance(lang, str) and lang != "mix" and langs.fits(lang, text):
            return lang
        return langs.detect_lang(text)

    def _passage_of(self, source: str, index: int) -> tuple[str, tuple[str, ...]]:
        """Passage ``index`` of corpus ``source`` (a language's own built-in one, or "" for
        ``self.corpus``): its script's language and its normalised paragraphs (a pure cache)."""
        if (source, index) not in self._normalised:
            passage = (self.by_lang[source] if source else self.corpus).item(index)
            paragraphs = tuple(p for p in map(normalise, passage) if p)
            self._normalised[source, index] = (langs.detect_lang(" ".join(paragraphs)), paragraphs)
        return self._normalised[source, index]

    def passage(self, rng: np.random.Generator, lang: str) -> tuple[int, tuple[str, ...]]:
        """A passage written in ``lang``'s script (its index in the corpus, its normalised paragraphs)."""
        source = lang if lang in self.by_lang else ""
        corpus = self.by_lang.get(source, self.corpus)
        script = langs.LANG_SCRIPT[lang]
        for _ in range(MAX_LANG_DRAWS):
            index, _ = corpus.draw(rng)
            found, paragraphs = self._passage_of(source, index)
            if langs.LANG_SCRIPT[found] == script:
                return index, paragraphs
        raise Reject("no-passage-in-lang", f"no {lang} passage in {MAX_LANG_DRAWS} draws from {corpus.source}; "
                                           f"set the text-page option lang to match the corpus, or to mix")

    def font(self, rng: np.random.Generator, text: str, lang: str) -> fonts.FontFace:
        """A face made for ``lang``, of the configured styles, that covers ``text``."""
        try:
            return fonts.font_for_lang(rng, text, lang, self.options.styles)
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
        lang = self.item_lang(" ".join(paragraphs))
        if self.options.slice:
            return [render_slice(self, rng, lang, paragraph) for paragraph in paragraphs]
        return render_pages(self, rng, lang, paragraphs)

    def validate(self, sample: Sample) -> None:
        """Reject an empty target, a target glyph the recorded font lacks (its cmap; for a shaped
        script also a ``.notdef`` glyph HarfBuzz shapes, as the basic layout draws what the cmap
        maps), a region whose box does not hold exactly the target's lines, a target that does not
        read the lines the drawing code drew, or a line that left no ink (:mod:`.drawn`; a blank
        image is rejected by the engine's own check, :func:`pipelines.render.checks.check_sample`)."""
        if not sample.target.strip():
            raise Reject("empty-text", "the target is empty")
        if sample.meta.get("region", "page") != "page":
            check_region(sample.meta, sample.target)
        face = fonts.FontFace.from_meta(sample.meta["font"])
        missing = fonts.missing_glyphs(face, sample.target)
        script = langs.script_for(sample.meta["lang"])
        if script.shaped:
            missing |= shaping.notdef_chars(face, sample.target, sample.meta["lang"], script)
        if missing:
            codes = " ".join(f"U+{ord(c):04X}" for c in sorted(missing))
            raise Reject("missing-glyph", f"{face.family} lacks {codes}")
        check_drawn(sample)


def _held(corpus: IndexedCorpus[Passage], selection: Selection) -> IndexedCorpus[Passage]:
    """The passages of a language's own built-in corpus that fall in the selection's split."""
    held = [i for i in range(len(corpus)) if selection.holds(text_key(corpus.item(i)))]
    return corpus.subset(np.array(held, dtype=np.int64))
