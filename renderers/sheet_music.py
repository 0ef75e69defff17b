"""Sheet music with **kern targets: the "sheet music" part of GOT's OCR-2.0 data engine (Wei et al.
2024, "General OCR Theory": **kern scores rendered with Verovio, cut into single systems).

Each sample is one excerpt of :mod:`corpora.music`: a few measures (a system) or, in chorales, one
or two phrases ending at fermatas, of the **kern files music21 ships (or a user folder of ``.krn``
files), or a piece written by the procedural generator (never mixed into a user corpus unless
``mix_generated``). In order (``render_item``), a piece is drawn whole: consecutive systems of a
few measures, cut where no slur is open, each a part. Each sample first draws every choice from
the ``rng`` into a record (SynthTIGER's sample-then-apply split), then draws from the record alone;
``meta`` is that record. Verovio (one toolkit per renderer instance, made lazily) lays the excerpt
out as SVG and resvg rasterises it straight to PNG bytes, which the engine writes as they are. What
varies: the music font among those Verovio bundles (Leipzig, Bravura, Gootville, Petaluma, Leland),
scale (and so pixel size), note spacing, staff, stem and barline thickness, page margins, one long
system (``breaks: none``) or a page width with line breaks (``breaks: auto``), the title and
composer header, and the paper colour.

Label rule: the target is the **kern text handed to Verovio, exactly: the title (``!!!OTL``) and
composer (``!!!COM``) records are in it only when the header was drawn. ``validate`` rejects a
label that does not parse as Humdrum with consistent rhythm (checked at the text level first: a
malformed file can abort Verovio's reader), that Verovio does not load, whose note count
(pitched tokens, each chord note counted: :func:`corpora.music.spines.count_notes`) differs from the
number of notes in the SVG (``class="note"`` elements, recorded as ``meta["svg_notes"]``), or whose
pitches are not those of the notes Verovio drew (``Sample.drawn``, read from its MEI of the loaded
score; :mod:`renderers.kern_pitches`): a note changed in the label changes its pitch.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic
import resvg_py
from PIL import Image

from corpora.base import BadItem
from corpora.indexed import IndexedCorpus
from corpora.music.generator import GeneratorSettings, generate
from corpora.music.kern import KernScore, parse_humdrum
from corpora.music.library import scores
from corpora.music.spines import count_notes
from renderers.base import PositiveIntRange, PositiveRange, Reject, RendererOptions, Sample, SubsetOf
from renderers.kern_pitches import drawn_pitches, label_pitches

FONTS = ("Leipzig", "Bravura", "Gootville", "Petaluma", "Leland")  # bundled with Verovio 4+
PAPERS = {  # tone: (probability, lowest RGB, highest RGB)
    "white": (0.55, (250, 250, 250), (255, 255, 255)),
    "cream": (0.3, (240, 230, 206), (252, 247, 234)),
    "grey": (0.15, (222, 222, 222), (240, 240, 240)),
}
_SVG_NOTE = re.compile(r'class="note[" ]')
_SVG_SIZE = re.compile(r'<svg width="(\d+)px" height="(\d+)px"')

Probability = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]

class Options(RendererOptions):
    """Ranges are ``(low, high)``, sampled uniformly; ``*_p`` are probabilities per sample."""

    generated_p: Probability = 0.5  # share of samples from the generator (else the corpus)
    mix_generated: bool = False  # with a user corpus drawn at random: still mix in generated pieces at generated_p
    measures: PositiveIntRange = (1, 4)  # measures in a corpus excerpt (in order: in a system)
    phrase_p: Probability = 0.7  # in pieces with fermatas: cut phrases rather than measures
    phrases: PositiveIntRange = (1, 2)
    max_notes: int = pydantic.Field(160, ge=1)  # a longer excerpt is shortened measure by measure
    generated_measures: PositiveIntRange = (2, 5)
    two_staves_p: Probability = 0.45  # generated pieces on a braced grand staff
    fonts: SubsetOf(FONTS) = FONTS
    scale: PositiveIntRange = (25, 48)  # Verovio's scale (percent): staff height ~ 18-35 px
    spacing_linear: PositiveRange = (0.2, 0.35)
    spacing_non_linear: PositiveRange = (0.5, 0.7)
    spacing_staff: PositiveIntRange = (6, 14)
    spacing_system: PositiveIntRange = (4, 12)
    staff_line_width: PositiveRange = (0.12, 0.25)
    stem_width: PositiveRange = (0.15, 0.3)
    bar_line_width: PositiveRange = (0.25, 0.45)
    margin: PositiveIntRange = (20, 80)  # page margins in Verovio units
    breaks_auto_p: Probability = 0.3  # else one long system
    page_width_px: PositiveIntRange = (800, 1500)  # for line-broken pages
    header_p: Probability = 0.25  # title and composer drawn (and then in the target)
    max_side: int = pydantic.Field(1600, ge=64)  # larger drawings are rasterised smaller (pixels)
    max_pixels: int = pydantic.Field(300_000, ge=4096)

class SheetMusicRenderer:
    name = "sheet-music"
    markup = "kern"
    task = "format"
    version = "4"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: IndexedCorpus[KernScore] = scores(corpus_path)
        self.generated_p = options.generated_p if corpus_path is None or options.mix_generated else 0.0
        self.generator = GeneratorSettings(measures=options.generated_measures, two_staves_p=options.two_staves_p)
        self._toolkit: Any = None
        self._loaded: str | None = None  # the last text Verovio loaded and laid out without error

    @property
    def toolkit(self) -> Any:
        """One Verovio toolkit per renderer (per worker process), made on first use."""
        if self._toolkit is None:
            import verovio

            verovio.enableLog(verovio.LOG_OFF)
            self._toolkit = verovio.toolkit()
        return self._toolkit

    # -- sample the record -------------------------------------------------------------------
    def sample_music(self, rng: np.random.Generator) -> tuple[str, dict[str, Any], str, str]:
        """The excerpt (kern without header), its record, and the title and composer it would show."""
        o = self.options
        if self.generated_p and rng.random() < self.generated_p:
            kern, record = generate(rng, self.generator)
            return kern, {"origin": "generated", **record}, record["title"], record["composer"]
        index, score = self.corpus.draw(rng)
        phrases = rng.random() < o.phrase_p and len(score.phrase_cuts) >= 1
        if phrases:
            stops = sorted({score.cuts[0], *score.phrase_cuts})
            count = int(rng.integers(o.phrases[0], o.phrases[1] + 1))
        else:
            stops = list(score.cuts)
            count = int(rng.integers(o.measures[0], o.measures[1] + 1))
        if len(stops) < 2:
            raise Reject("short-piece", score.name)
        count = min(count, len(stops) - 1)
        first = int(rng.integers(len(stops) - count))
        start, end = stops[first], stops[first + count]
        kern = score.excerpt(start, end)
        while count_notes(kern) > o.max_notes and count > 1:
            count -= 1
            end = stops[first + count]
            kern = score.excerpt(start, end)
        record = {
            "origin": "corpus", "piece": score.name or self.corpus.location(index).file,
            "cut": "phrases" if phrases else "measures", "units": count, "lines": [start, end],
        }
        return kern, record, score.title, score.composer

    def systems(self, score: KernScore, rng: np.random.Generator) -> list[tuple[int, int, int]]:
        """The whole piece as consecutive ``(start, end, measures)`` excerpts of ``measures`` (drawn
        per part) measures, shortened while over ``max_notes``; cut only at the score's
        ``system_cuts``, so the parts join back to the piece (:func:`corpora.music.kern.join_kern`)."""
        o = self.options
        measure = {cut: number for number, cut in enumerate(score.cuts)}  # measures before each cut
        clean = score.system_cuts
        parts = []
        k = 0  # index into clean
        while k < len(clean) - 1:
            want = measure[clean[k]] + int(rng.integers(o.measures[0], o.measures[1] + 1))
            end = next((j for j in range(k + 1, len(clean)) if measure[clean[j]] >= want), len(clean) - 1)
            while end > k + 1 and count_notes(score.excerpt(clean[k], clean[end], close_ties=False)) > o.max_notes:
                end -= 1
            parts.append((clean[k], clean[end], measure[clean[end]] - measure[clean[k]]))
            k = end
        return parts

    def sample_style(self, rng: np.random.Generator) -> dict[str, Any]:
        o = self.options

        def uniform(bounds: PositiveRange, digits: int = 3) -> float:
            return round(float(rng.uniform(*bounds)), digits)

        def integer(bounds: PositiveIntRange) -> int:
            return int(rng.integers(bounds[0], bounds[1] + 1))

        header = bool(rng.random() < o.header_p)
        breaks = "auto" if header or rng.random() < o.breaks_auto_p else "none"
        scale = integer(o.scale)
        margin = integer(o.margin)
        page_width_px = integer(o.page_width_px)
        tones = list(PAPERS)
        weights = np.array([PAPERS[t][0] for t in tones])
        tone = tones[int(rng.choice(len(tones), p=weights / weights.sum()))]
        low, high = np.array(PAPERS[tone][1]), np.array(PAPERS[tone][2])
        paper = low + (high - low) * rng.random()
        return {
            "verovio": {
                "font": o.fonts[int(rng.integers(len(o.fonts)))],
                "scale": scale,
                "breaks": breaks,
                "header": "auto" if header else "none",
                "footer": "none",
                "adjustPageWidth": breaks == "none",
                "adjustPageHeight": True,
                "pageWidth": min(100_000, int(page_width_px * 100 / scale)),
                "pageHeight": 60_000,
                "pageMarginLeft": margin,
                "pageMarginRight": margin,
                "pageMarginTop": margin,
                "pageMarginBottom": margin,
                "spacingLinear": uniform(o.spacing_linear),
                "spacingNonLinear": uniform(o.spacing_non_linear),
                "spacingStaff": integer(o.spacing_staff),
                "spacingSystem": integer(o.spacing_system),
                "staffLineWidth": uniform(o.staff_line_width),
                "stemWidth": uniform(o.stem_width),
                "barLineWidth": uniform(o.bar_line_width),
            },
            "paper": tone,
            "paper_rgb": [int(v) for v in np.round(paper)],
        }

    # -- apply it ----------------------------------------------------------------------------
    def render(self, rng: np.random.Generator) -> Sample:
        kern, music, title, composer = self.sample_music(rng)
        style = self.sample_style(rng)
        if style["verovio"]["header"] != "none":
            kern = with_header(kern, title, composer)
        return self.draw(kern, music, style)

    def render_item(self, item: KernScore, rng: np.random.Generator) -> list[Sample]:
        """The whole piece in consecutive systems of a few measures, one look for all: one part per
        system, the title and composer (with a header) on the first. The parts joined by
        :func:`corpora.music.kern.join_kern` are the piece (:meth:`KernScore.whole`, with the header
        records when drawn)."""
        style = self.sample_style(rng)
        parts = []
        for k, (start, end, measures) in enumerate(self.systems(item, rng)):
            kern = item.excerpt(start, end, close_ties=False)
            if k == 0 and style["verovio"]["header"] != "none":
                kern = with_header(kern, item.title, item.composer)
            music = {"origin": "corpus", "piece": item.name, "cut": "systems", "units": measures, "lines": [start, end]}
            parts.append(self.draw(kern, music, style))
        return parts

    def draw(self, kern: str, music: dict[str, Any], style: dict[str, Any]) -> Sample:
        svg = self.svg(kern, style["verovio"])
        zoom = self.zoom(svg)
        red, green, blue = style["paper_rgb"]
        png = bytes(resvg_py.svg_to_bytes(
            svg_string=svg, background=f"#{red:02x}{green:02x}{blue:02x}", zoom=zoom if zoom < 1 else None
        ))
        image = Image.open(io.BytesIO(png))
        meta = {
            "lang": "en",
            "corpus": self.corpus.source if music["origin"] == "corpus" else "generator",
            **music,
            **style,
            "svg_notes": len(_SVG_NOTE.findall(svg)),
            "zoom": zoom,
            "width": image.width,
            "height": image.height,
        }
        return Sample([image], kern, meta, png=[png], drawn={"pitches": drawn_pitches(self.toolkit.getMEI())})

    def svg(self, kern: str, options: dict[str, Any]) -> str:
        """Lay ``kern`` out with every option set (nothing carries over from the last sample)."""
        try:
            parse_humdrum(kern)  # Verovio's Humdrum reader can abort the process on malformed input
        except BadItem as bad:
            raise Reject("bad-excerpt", str(bad)) from bad
        toolkit = self.toolkit
        toolkit.resetOptions()
        toolkit.setOptions({**options, "xmlIdSeed": 1})
        toolkit.resetXmlIdSeed(1)  # element ids from a fixed seed, not a counter or the clock
        self._loaded = None
        if not toolkit.loadData(kern):
            raise Reject("verovio-load-failed", kern[:200])
        pages = toolkit.getPageCount()
        if pages != 1:
            raise Reject("not-one-page", f"{pages} pages")
        svg = toolkit.renderToSVG(1)
        self._loaded = kern  # what validate() need not load again
        return svg

    def zoom(self, svg: str) -> float:
        """Rasterising scale that keeps the image within ``max_side`` and ``max_pixels`` (resvg's
        time grows with the area, and GOT shrinks every image to 1024 px anyway)."""
        match = _SVG_SIZE.search(svg)
        if match is None:
            raise Reject("svg-without-size", svg[:200])
        width, height = int(match.group(1)), int(match.group(2))
        o = self.options
        zoom = min(1.0, o.max_side / max(width, height), math.sqrt(o.max_pixels / (width * height)))
        return round(zoom, 3)

    def validate(self, sample: Sample) -> None:
        """Reject a target that is not well-formed Humdrum, that Verovio cannot load, or whose notes
        are not the notes drawn."""
        try:
            parse_humdrum(sample.target)
        except BadItem as bad:
            raise Reject("label-not-humdrum", str(bad)) from bad
        if sample.target != self._loaded:  # render() already loaded exactly this text: no need twice
            toolkit = self.toolkit
            self._loaded = None
            if not toolkit.loadData(sample.target) or toolkit.getPageCount() < 1:
                raise Reject("label-not-loadable", sample.target[:200])
        notes = count_notes(sample.target)
        if notes != sample.meta["svg_notes"]:
            raise Reject("note-count-mismatch", f"label has {notes} notes, the SVG {sample.meta['svg_notes']}")
        if "pitches" not in sample.drawn:
            raise Reject("nothing-to-check", "the sample carries no drawn pitches")
        label, drawn = label_pitches(sample.target), sample.drawn["pitches"]
        if label != drawn:
            raise Reject("pitch-not-drawn", f"label only: {sorted((label - drawn).elements())[:4]}, "
                                            f"drawn only: {sorted((drawn - label).elements())[:4]}")

    def close(self) -> None:
        self._toolkit = None
        self._loaded = None

def with_header(kern: str, title: str, composer: str) -> str:
    """``kern`` with the reference records Verovio draws as its header."""
    records = [f"!!!COM: {composer}"] if composer else []
    records += [f"!!!OTL: {title}"] if title else []
    return "".join(r + "\n" for r in records) + kern
