"""The music corpus and the sheet-music renderer with real Verovio and resvg: Humdrum parsing and
excerpt cutting, the generator, labels that load in a fresh Verovio toolkit with exactly the notes
drawn, corrupted labels rejected, user folders with broken files, and determinism."""

from __future__ import annotations

import re

import numpy as np
import pytest
import verovio

from corpora.base import BadItem, CorpusError
from corpora.music.generator import GeneratorSettings, generate
from corpora.music.kern import parse_humdrum
from corpora.music.library import default_scores, music21_krn_paths, user_scores
from corpora.music.spines import count_notes, is_note
from corpora.music.tokens import check_barline, check_token
from renderers.base import Reject
from renderers.sheet_music import Options, SheetMusicRenderer
from tests.shard_helpers import good_items

SVG_NOTE = re.compile(r'class="note[" ]')

# Two staves, lyrics, a split, a tie across a barline, a slur, a comment, an expansion list and a
# key change: everything the parser has to keep or drop.
PIECE = "\n".join("\t".join(line.split()) for line in r"""
!!!COM: Tester
!!!OTL: Little piece
**kern **text **kern
*>[A,A] *>[A,A] *>[A,A]
*>A *>A *>A
*clefF4 * *clefG2
*k[f#] * *k[f#]
*G: * *G:
*M3/4 * *M3/4
!bass ! !treble
4G f\u3r 4d
4B . 8eL
. . 8f#J
4d El- 4g
=1 =1 =1
* * *^
2G . 2b 4d
. . . 4e
4D -ze [4b 4f#
* * *v *v
=2 =2 =2
*k[] * *k[]
*C: * *C:
2.C . 4b]
. . (4c
. . 4d)
== == ==
*-  *- *-
""".strip().splitlines()).replace("!!!COM:\tTester", "!!!COM: Tester").replace("!!!OTL:\tLittle\tpiece", "!!!OTL: Little piece") + "\n"


def fresh_notes(kern: str) -> int:
    """Notes Verovio draws for ``kern``, in a toolkit that has seen nothing else."""
    toolkit = verovio.toolkit()
    assert toolkit.loadData(kern), kern
    assert toolkit.getPageCount() == 1
    return len(SVG_NOTE.findall(toolkit.renderToSVG(1)))


@pytest.fixture(scope="module")
def renderer() -> SheetMusicRenderer:
    return SheetMusicRenderer(Options())


# -- parsing and cutting --------------------------------------------------------------------------
def test_piece_fixture_is_well_formed():
    fields = {len(line.split("\t")) for line in PIECE.splitlines() if not line.startswith("!!")}
    assert fields == {3, 4} and PIECE.startswith("!!!COM: Tester\n!!!OTL: Little piece\n")


def test_parse_keeps_kern_spines_and_drops_the_rest():
    score = parse_humdrum(PIECE, "piece")
    assert (score.spines, score.title, score.composer) == (2, "Little piece", "Tester")
    assert "u3r" not in score.body and "*>" not in score.body and "!" not in score.body
    assert {len(tokens) for tokens in score.lines} == {2, 3}  # the treble splits in measure 2
    assert len(score.cuts) == 4  # the first data line, after =1, =2 and ==


def test_excerpt_carries_the_interpretations_in_force_and_closes_cut_ties():
    score = parse_humdrum(PIECE)
    first, second, third = (score.excerpt(a, b) for a, b in zip(score.cuts, score.cuts[1:]))
    lines = third.splitlines()
    assert lines[0] == "**kern\t**kern" and lines[-1] == "*-\t*-"
    assert {"*clefF4\t*clefG2", "*k[f#]\t*k[f#]", "*G:\t*G:", "*M3/4\t*M3/4", "*k[]\t*k[]"} <= set(lines)
    assert "4b]" not in third and "\t4b\n" in third  # the tie began before the cut
    assert "(4c" in third and "4d)" in third  # the slur lies inside it
    assert "*^" in second and "[4b" not in second and "\t4b\t" in second  # the tie ends after the cut
    whole = score.excerpt(score.cuts[0], score.cuts[-1])
    assert "[4b" in whole and "4b]" in whole
    for kern in (first, second, third, whole):
        parse_humdrum(kern)  # self-contained and rhythmically consistent
        assert count_notes(kern) == fresh_notes(kern) > 0


def test_count_notes_counts_chord_notes_not_rests_or_other_spines():
    kern = "**kern\t**text\n*M2/4\t*\n4c 4e 4g\tla\n4r\tdeg\n=\t=\n2ccq\t.\n2d\tf\n*-\t*-\n"
    assert count_notes(kern) == 5
    assert fresh_notes(kern) == 5


def test_a_grace_note_line_keeps_the_time():
    kern = "**kern\t**kern\n*M2/4\t*M2/4\n4c\t4e\n8dq\t.\n4c\t4f\n=\t=\n*-\t*-\n"
    assert parse_humdrum(kern).cuts == (1, 5)  # the first data line, after the barline
    assert count_notes(kern) == fresh_notes(kern) == 5


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("**kern\t**kern\n4c\t4d\n4c\n*-\t*-\n", "field-count"),
        ("**kern\t**kern\n*M2/4\t*M2/4\n4c\t2d\n8d\t.\n=\t=\n*-\t*-\n", "rhythm"),
        ("**kern\t**kern\n4c\t4d\n.\t4e\n*-\t*-\n", "rhythm"),
        ("**kern\t**kern\n4c\t2d\n2e\t.\n*-\t*-\n", "rhythm"),
        ("**kern\n*+\n4c\n*-\n", "unsupported-spine-operation"),
        ("4c\n4d\n", "no-exclusive-interpretation"),
        ("**text\nla\n*-\n", "no-kern-spine"),
        ("**kern\nc\n*-\n", "no-duration"),
        ("**kern\n*-\n4c\n", "data-after-end"),
        # Verovio's reader aborts or segfaults the process on these: a note naming several pitches,
        # a turn over a triple accidental, a rest in a chord.
        ("**kern\n4cdcdcdc\n*-\n", "bad-token"),
        ("**kern\nS2a###\n*-\n", "bad-token"),
        ("**kern\n2E r 4r\n*-\n", "bad-token"),
        ("**kern\n*^\n4c\t4e\n=\t=\n4d\t4f\n*-\t*-\n", "no-cut"),  # split to the end: no system to cut
        ("**kern\n*clefG2\n\\write18{touch /tmp/x}\n4c\n*-\n", "bad-token"),
        ("**kern\n4c gfgefed\n*-\n", "bad-token"),
        ("**kern\n4c8\n*-\n", "bad-token"),
        ("**kern\n4c#-\n*-\n", "bad-token"),
        ("**kern\n4c  4e\n*-\n", "bad-token"),
        ("**kern\n4r4c\n*-\n", "bad-token"),
        ("**kern\n4zz\n*-\n", "bad-token"),
        ("**kern\n4c\n=\\input{x}\n4d\n*-\n", "bad-token"),
    ],
)
def test_malformed_humdrum_is_rejected_by_reason(text, reason):
    with pytest.raises(BadItem) as err:
        parse_humdrum(text)
    assert err.value.reason == reason


def test_the_kern_grammar_takes_every_signifier_of_real_notes():
    for token in ("4c", "8.cc#L", "16dd#LL", "&(8BBn/&)", "[4.F#\\)", "2.FF;/xx", "gg-q/JJ", "4ryy", "4rGG",
                  "24bb--\\LL]", "12cc##^\\L", "4c 4e- 4g", "0r]", "4%3.c", "4ee'~^`:"):
        check_token(token)
    for barline in ("=", "==", "=12", "=12b:|!", "=:|!|:", "==|!", "=3-"):
        check_barline(barline)


def test_every_one_of_music21s_kern_files_parses():
    paths = music21_krn_paths()
    assert len(paths) > 1300
    for path in paths:  # the parser as it is now, not the corpus cache
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # a few older Humdrum files are Latin-1
            text = data.decode("latin-1")
        parse_humdrum(text, path.name)


def test_default_corpus_is_music21s_kern_files():
    corpus = default_scores()
    assert len(corpus) > 1300  # 1,318 Palestrina mass movements, Bach, Beethoven, Chopin
    assert sum(corpus.rejects.values()) < 10
    scores = good_items(corpus)
    chorale = next(s for s in scores if s.name.endswith("bwv277.krn"))
    assert chorale.spines == 4 and len(chorale.phrase_cuts) >= 4  # **silbe lyrics dropped
    phrase = chorale.excerpt(chorale.phrase_cuts[0], chorale.phrase_cuts[1])
    assert ";" in phrase.splitlines()[-2]  # ends on the fermata
    assert count_notes(phrase) == fresh_notes(phrase) > 10
    chopin = next(s for s in scores if "chopin" in s.name)  # split spines inside measures
    excerpt = chopin.excerpt(chopin.cuts[2], chopin.cuts[5])
    assert "*^" in excerpt and count_notes(excerpt) == fresh_notes(excerpt)


# -- the generator --------------------------------------------------------------------------------
def test_generated_pieces_parse_and_draw_exactly_their_notes():
    texts = [generate(np.random.default_rng(seed), GeneratorSettings())[0] for seed in range(24)]
    for text in texts:
        score = parse_humdrum(text)
        assert score.cuts and count_notes(text) == fresh_notes(text)
    joined = "\n".join(texts)
    assert re.search(r"\d+[a-gA-G][#\-n]*[^\t\n]* \d+[a-gA-G]", joined), "no chord"
    for mark, what in (("[", "tie"), ("L", "beam"), ("r", "rest"), ("*part1\t*part1", "two staves"),
                       ("#]", "sharps"), ("-]", "flats"), ("*met(", "metre symbol")):
        assert mark in joined, f"no {what}"
    assert re.search(r"(^|\t)(12|6|24)[a-gA-G]", joined, re.MULTILINE), "no triplet"
    assert re.search(r"(^|\t)\d+\.[a-gA-G]", joined, re.MULTILINE), "no dotted note"
    assert len(set(re.findall(r"\*M(\d+/\d+)", joined))) >= 5


# -- the renderer ---------------------------------------------------------------------------------
def test_samples_validate_and_labels_load_in_a_fresh_toolkit(renderer):
    samples = [renderer.render(np.random.default_rng(seed)) for seed in range(16)]
    for sample in samples:
        renderer.validate(sample)
        assert count_notes(sample.target) == sample.meta["svg_notes"] == fresh_notes(sample.target)
        assert sample.png is not None and sample.png[0].startswith(b"\x89PNG")
        assert sample.images[0].size == (sample.meta["width"], sample.meta["height"])
        assert ("!!!OTL" in sample.target) == (sample.meta["verovio"]["header"] == "auto")
    assert {s.meta["origin"] for s in samples} == {"corpus", "generated"}
    assert len({s.meta["verovio"]["font"] for s in samples}) >= 3
    assert {s.meta["verovio"]["breaks"] for s in samples} == {"none", "auto"}


def _first_note_line(lines: list[str]) -> int:
    """The first data line whose first field holds a note."""
    data = (i for i, line in enumerate(lines) if line[:1] not in ("*", "!", "="))
    return next(i for i in data if any(map(is_note, lines[i].split("\t")[0].split(" "))))


def test_a_deleted_note_is_rejected(renderer):
    sample = renderer.render(np.random.default_rng(3))
    renderer.validate(sample)
    lines = sample.target.splitlines()
    i = _first_note_line(lines)
    fields = lines[i].split("\t")
    fields[0] = re.sub(r"[a-gA-G]+[#\-n]*", "r", fields[0].split(" ")[0], count=1)  # note → rest, same rhythm
    lines[i] = "\t".join(fields)
    sample.target = "\n".join(lines) + "\n"
    with pytest.raises(Reject) as err:
        renderer.validate(sample)
    assert err.value.reason == "note-count-mismatch"


def test_a_broken_label_is_rejected_before_verovio_sees_it(renderer):
    sample = next(
        s for s in (renderer.render(np.random.default_rng(seed)) for seed in range(4, 40)) if "\t" in s.target
    )
    lines = sample.target.splitlines()
    i = _first_note_line(lines)
    one_field_short = lines[:i] + [lines[i].replace("\t", " ", 1)] + lines[i + 1:]
    no_exclusive = [line for line in lines if not line.startswith("**")]
    for target in ("\n".join(one_field_short), "\n".join(no_exclusive), "hello world"):
        sample.target = target + "\n"
        with pytest.raises(Reject) as err:
            renderer.validate(sample)
        assert err.value.reason == "label-not-humdrum", target[:80]


def test_same_seed_same_png_and_a_used_instance_equals_a_fresh_one(renderer):
    for seed in range(20, 26):
        again = SheetMusicRenderer(Options()).render(np.random.default_rng(seed))
        first = renderer.render(np.random.default_rng(seed))
        assert first.png == again.png and first.target == again.target and first.meta == again.meta
    assert renderer.render(np.random.default_rng(1)).png != renderer.render(np.random.default_rng(2)).png


def test_user_folder_counts_broken_files_by_reason(tmp_path):
    (tmp_path / "a.krn").write_text(PIECE, encoding="utf-8")
    (tmp_path / "b.krn").write_text("**kern\n*M2/4\n4c\n4d\n=\n4e\n4f\n==\n*-\n", encoding="utf-8")
    (tmp_path / "broken.krn").write_text("**kern\t**kern\n4c\t4d\n4c\n*-\t*-\n", encoding="utf-8")
    (tmp_path / "offbeat.krn").write_text("**kern\t**kern\n2c\t4d\n2c\t.\n*-\t*-\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not music", encoding="utf-8")
    corpus = user_scores(tmp_path)
    assert len(corpus) == 4 and len(good_items(corpus)) == 2  # bad files are known when parsed
    assert corpus.rejects == {"field-count": 1, "rhythm": 1}
    assert any("broken.krn" in example for example in corpus.examples)
    renderer = SheetMusicRenderer(Options(), tmp_path)  # generated_p does not apply to a user corpus
    for seed in range(6):
        sample = renderer.render(np.random.default_rng(seed))
        renderer.validate(sample)
        assert sample.meta["origin"] == "corpus" and sample.meta["corpus"] == str(tmp_path)
        assert sample.meta["piece"].endswith(("a.krn", "b.krn"))  # a user piece is named by its file
    assert len(user_scores(tmp_path / "a.krn")) == 1  # one .krn file is one piece, not lines
    with pytest.raises(CorpusError):
        user_scores(tmp_path / "missing")


def test_options_reject_unknown_fonts_and_bad_ranges():
    with pytest.raises(ValueError):
        Options(fonts=("Comic Sans",))
    with pytest.raises(ValueError):
        Options(scale=(60, 30))
