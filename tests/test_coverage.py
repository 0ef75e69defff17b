"""In-order rendering of a corpus (pipelines/render/coverage.py): every item exactly once per pass, whole
(parts that join back to the item), traceable (meta["source"]); bad items are counted misses with
file:line and the run goes on; splits share no content; the same bytes with any worker count and after
a SIGKILL and a resume. Real renderers, real shards."""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corpora.molecules import default_molecules
from corpora.music.kern import join_kern
from corpora.music.library import music21_krn_paths, user_scores
from corpora.split import text_key
from pipelines.config import ConfigError
from pipelines.render import config as render_config
from pipelines.render.run import render_run
from pipelines.shard_format import read_samples
from renderers.sheet_music import with_header
from renderers.text_page.linebreak import normalise
from tests.shard_helpers import tar_bytes

WORDS = ("the", "sea", "was", "calm", "and", "a", "small", "boat", "drifted", "past", "old", "harbour", "wall",
         "while", "gulls", "cried", "over", "grey", "water", "of", "morning", "light")


def smiles(count: int, start: int = 0) -> list[str]:
    """``count`` distinct molecules of RDKit's own corpus, spread over it."""
    corpus = default_molecules()
    return [corpus.item(i).smiles for i in range(start, start + 7 * count, 7)]


def run(out: Path, renderer: str, corpus: Path | None, sets: tuple[str, ...] = (), samples: int | None = None,
        shard_size: int = 16, workers: int = 1, seed: int = 0) -> dict:
    config = render_config.from_args([renderer], samples, shard_size, seed, str(corpus) if corpus else None, sets)
    return render_run(config, out, workers=workers, show_progress=False)


def records(out: Path, renderer: str) -> list[dict]:
    """Every sample of ``renderer`` under ``out``, in shard and index order."""
    return [r for tar in sorted((out / renderer).glob("*.tar")) for r in read_samples(tar)]


def by_item(rows: list[dict]) -> dict[tuple[int, int], list[dict]]:
    """Samples grouped by (item, pass), each group in part order."""
    groups: dict[tuple[int, int], list[dict]] = collections.defaultdict(list)
    for row in rows:
        source = row["meta"]["source"]
        groups[(source["item"], source["pass"])].append(row)
    for parts in groups.values():
        assert [p["meta"]["source"]["part"] for p in parts] == list(range(len(parts)))
        assert {p["meta"]["source"]["parts"] for p in parts} == {len(parts)}
    return groups


# -- molecules: each exactly once, or twice with passes: 2 ------------------------------------------
def test_40_smiles_give_40_samples_each_once_with_its_file_and_line(tmp_path):
    molecules = smiles(40)
    corpus = tmp_path / "mols.smi"
    corpus.write_text("".join(f"{s} mol{i}\n" for i, s in enumerate(molecules)))
    manifest = run(tmp_path / "one", "molecule", corpus)
    rows = records(tmp_path / "one", "molecule")
    assert manifest["totals"]["samples"] == len(rows) == 40  # --samples defaults to items x passes
    assert [r["meta"]["molecule"]["smiles"] for r in rows] == molecules  # in corpus order
    for i, row in enumerate(rows):
        assert row["meta"]["source"] == {"file": str(corpus), "line": i + 1, "row": None, "item": i, "pass": 0,
                                         "part": 0, "parts": 1}
    run(tmp_path / "two-workers", "molecule", corpus, workers=2)
    assert tar_bytes(tmp_path / "two-workers") == tar_bytes(tmp_path / "one")

    run(tmp_path / "twice", "molecule", corpus, ("molecule.passes=2",))
    twice = by_item(records(tmp_path / "twice", "molecule"))
    assert sorted(twice) == [(i, p) for i in range(40) for p in (0, 1)]
    for i in range(40):
        first, second = twice[(i, 0)][0], twice[(i, 1)][0]
        assert first["meta"]["molecule"]["smiles"] == second["meta"]["molecule"]["smiles"] == molecules[i]
        assert first["images"] != second["images"] and first["meta"]["seed"] != second["meta"]["seed"]


def test_fewer_samples_render_the_first_units_and_more_than_the_corpus_is_refused(tmp_path):
    corpus = tmp_path / "mols.smi"
    corpus.write_text("\n".join(smiles(10)) + "\n")
    run(tmp_path / "few", "molecule", corpus, samples=4)
    assert [r["meta"]["source"]["item"] for r in records(tmp_path / "few", "molecule")] == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="10 items × 1 passes = 10; raise passes"):
        run(tmp_path / "many", "molecule", corpus, samples=11)


def test_bad_items_are_counted_misses_with_file_and_line_and_the_run_goes_on(tmp_path):
    good = smiles(6)
    lines = [json.dumps(good[0]).encode(), b'{"smiles": "CCO", broken', json.dumps(good[1]).encode(),
             b'"C\xff\xfeC"', json.dumps("C1CC((").encode(), json.dumps(good[2]).encode()]
    corpus = tmp_path / "mols.jsonl"
    corpus.write_bytes(b"\n".join(lines) + b"\n")
    manifest = run(tmp_path / "out", "molecule", corpus, ("molecule.passes=2",), shard_size=4)
    rows = records(tmp_path / "out", "molecule")
    assert sorted({(r["meta"]["source"]["item"], r["meta"]["source"]["pass"]) for r in rows}) == [
        (i, p) for i in (0, 2, 5) for p in (0, 1)]
    missed = [json.loads(line) for line in (tmp_path / "out" / "molecule" / "missed.jsonl").read_text().splitlines()]
    assert [(m["item"], m["pass"], m["location"], m["reason"]) for m in missed] == [
        (item, p, f"{corpus}:{item + 1}", reason)
        for p in (0, 1) for item, reason in ((1, "bad-json"), (3, "not-utf8"), (4, "bad-smiles"))]
    entry = manifest["renderers"]["molecule"]
    assert entry["missed"]["by_reason"] == {"bad-json": 2, "bad-smiles": 2, "not-utf8": 2}
    assert entry["units"] == 12 and entry["samples"] == 6


def test_an_item_the_renderer_cannot_draw_is_a_miss_naming_it(tmp_path):
    corpus = tmp_path / "charts.jsonl"
    pie_only = {"title": "T", "source": "", "x_title": "", "y_title": "",
                "values": {"a": {"x": -1, "y": 2}, "b": {"x": 3, "y": 4}}}  # negative values: no pie
    fine = {**pie_only, "values": {"a": {"x": 1, "y": 2}}}
    corpus.write_text(json.dumps(fine) + "\n" + json.dumps(pie_only) + "\n")
    run(tmp_path / "out", "chart-matplotlib", corpus, ("chart-matplotlib.kinds=[pie]",))
    assert [r["meta"]["source"]["item"] for r in records(tmp_path / "out", "chart-matplotlib")] == [0]
    (missed,) = [json.loads(line) for line in (tmp_path / "out" / "chart-matplotlib" / "missed.jsonl").open()]
    assert missed["location"] == f"{corpus}:2" and missed["reason"] == "not-drawn"
    assert "no-fitting-kind" in missed["detail"]


def test_a_renderer_without_render_item_covers_nothing_and_says_so(tmp_path):
    corpus = tmp_path / "lines.txt"
    corpus.write_text("1\n2\n")
    with pytest.raises(ConfigError, match="set order: sample"):
        run(tmp_path / "out", "digits", corpus)
    run(tmp_path / "out", "digits", corpus, ("digits.order=sample",), samples=3)
    assert len(records(tmp_path / "out", "digits")) == 3


# -- whole items: documents, scores, texts ------------------------------------------------------------
def _document(paragraphs: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    blocks = [f"# Part {seed}"]
    for k in range(paragraphs):
        blocks.append(" ".join(rng.choice(WORDS, int(rng.integers(20, 60)))).capitalize() + ".")
        if k % 7 == 3:
            blocks.append(f"\\[\nx^{{2}} + y_{{{k}}} = \\frac{{a}}{{b}}\n\\]")
    return "\n\n".join(blocks) + "\n"


def test_documents_of_any_length_are_covered_whole_page_after_page(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    texts = {"a.mmd": _document(1, 1), "b.mmd": _document(12, 2), "c.mmd": _document(70, 3)}
    for name, text in texts.items():
        (folder / name).write_text(text)
    run(tmp_path / "out", "mathpix-doc", folder, ("mathpix-doc.lang=en",))
    groups = by_item(records(tmp_path / "out", "mathpix-doc"))
    assert sorted(groups) == [(0, 0), (1, 0), (2, 0)]
    from corpora.documents import parse_document

    for (item, _), parts in groups.items():
        name = sorted(texts)[item]
        assert parts[0]["meta"]["source"]["file"] == str(folder / name)
        assert "\n\n".join(p["target"] for p in parts) == parse_document(texts[name]).mmd
        firsts = [p["meta"]["mathpix-doc"]["first_block"] for p in parts]
        assert firsts == sorted(firsts) and firsts[0] == 0
    assert len(groups[(2, 0)]) >= 3  # the long document flowed over several pages


def test_scores_are_covered_whole_system_after_system(tmp_path):
    folder = tmp_path / "scores"
    folder.mkdir()
    picks = [p for p in music21_krn_paths() if p.name in ("bwv277.krn", "bwv281.krn")][:2]
    picks += [next(p for p in music21_krn_paths() if "palestrina" in str(p))]
    for k, path in enumerate(picks):
        shutil.copy(path, folder / f"{k}-{path.name}")
    run(tmp_path / "out", "sheet-music", folder, ("sheet-music.header_p=0.5",))
    groups = by_item(records(tmp_path / "out", "sheet-music"))
    scores = user_scores(folder)
    assert sorted(groups) == [(i, 0) for i in range(len(picks))]
    for (item, _), parts in groups.items():
        score = scores.item(item)
        whole = score.whole()
        if parts[0]["target"].startswith("!!!"):  # the header is drawn on the first system only
            whole = with_header(whole, score.title, score.composer)
        assert join_kern([p["target"] for p in parts]) == whole
        assert len(parts) > 3 and all(p["meta"]["sheet-music"]["origin"] == "corpus" for p in parts)


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_long_texts_flow_over_pages_and_lines_become_slices(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "texts"
    folder.mkdir()
    texts = {}
    for name, paragraphs in (("a.txt", 1), ("b.txt", 6), ("c.txt", 40)):
        text = "\n\n".join(" ".join(rng.choice(WORDS, int(rng.integers(30, 90)))) + "." for _ in range(paragraphs))
        (folder / name).write_text(text + "\n")
        texts[name] = text
    run(tmp_path / "pages", "text-page", folder, ("text-page.lang=en",))
    groups = by_item(records(tmp_path / "pages", "text-page"))
    assert sorted(groups) == [(0, 0), (1, 0), (2, 0)]
    for (item, _), parts in groups.items():
        joined = "\n".join(p["target"] for p in parts)
        assert _squash(joined) == _squash(normalise(texts[sorted(texts)[item]]))
        assert all(p["meta"]["text-page"]["mode"] == "page" for p in parts)
    assert len(groups[(2, 0)]) >= 3

    lines = tmp_path / "lines.txt"
    lines.write_text("a small boat\nthe sea was calm and a small boat drifted past the old harbour wall\n")
    run(tmp_path / "slices", "text-page", lines, ("text-page.lang=en", "text-page.slice=true"))
    slices = records(tmp_path / "slices", "text-page")
    assert [_squash(r["target"]) for r in slices] == lines.read_text().splitlines()


# -- splits, dedupe, and the engine's guarantees ---------------------------------------------------------
def test_a_split_renders_only_its_items_and_the_parts_share_no_content(tmp_path):
    molecules = smiles(60)
    corpus = tmp_path / "mols.smi"
    corpus.write_text("\n".join(molecules + molecules[:10]) + "\n")  # ten copies
    split = ("molecule.split={train: 0.7, heldout: 0.3}", "molecule.dedupe=true")
    drawn = {}
    for name in ("train", "heldout"):
        manifest = run(tmp_path / name, "molecule", corpus, (*split, f"molecule.use_split={name}"))
        rows = records(tmp_path / name, "molecule")
        drawn[name] = [r["meta"]["molecule"]["smiles"] for r in rows]
        assert manifest["renderers"]["molecule"]["units"] == len(rows)  # samples: the split's items
        assert all(r["meta"]["source"]["item"] < 60 for r in rows)  # copies were dropped
    assert not set(drawn["train"]) & set(drawn["heldout"])
    assert sorted(drawn["train"] + drawn["heldout"]) == sorted(molecules)


def test_held_out_lines_share_no_text_with_training_lines(tmp_path):
    """The demo's recipe: line slices of the built-in fortunes, drawn at random from one split each."""
    lines = ("text-page.slice=true", "text-page.lang=en", "text-page.slice_line_prob=1.0",
             "text-page.slice_words=[1, 2]", "text-page.split={train: 0.9, heldout: 0.1}")
    targets = {}
    for name, samples in (("train", 300), ("heldout", 100)):
        run(tmp_path / name, "text-page", None, (*lines, f"text-page.use_split={name}"), samples=samples)
        targets[name] = {text_key(r["target"]) for r in records(tmp_path / name, "text-page")}
    assert len(targets["heldout"]) > 50
    assert not targets["train"] & targets["heldout"]


def test_sigkill_mid_run_then_resume_is_identical_to_an_uninterrupted_run(tmp_path, gotforge):
    corpus = tmp_path / "mols.smi"
    corpus.write_text("\n".join(smiles(500)) + "\n")
    args = ["--renderer", "molecule", "--corpus", str(corpus), "--shard-size", "20", "--seed", "9", "--quiet",
            "--set", "molecule.passes=2"]
    gotforge("render", *args, "--out", str(tmp_path / "whole"), "--workers", "2")
    expected = tar_bytes(tmp_path / "whole")
    assert len(expected) == 50

    killed = tmp_path / "killed"
    process = subprocess.Popen([str(Path(sys.executable).parent / "gotforge"), "render", *args, "--out", str(killed),
                                "--workers", "2"], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(killed.glob("molecule/*.stats.json"))) < 4:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 4 <= len(list(killed.glob("molecule/*.stats.json"))) < 50, "the kill did not land mid-run"

    gotforge("render", *args, "--out", str(killed), "--workers", "2")
    assert tar_bytes(killed) == expected
    for name in ("sizes.json", "molecule/missed.jsonl"):
        assert (killed / name).read_text() == (tmp_path / "whole" / name).read_text()


def test_a_split_run_gives_the_same_bytes_with_two_workers(tmp_path):
    """The selection is computed once by the main process and read back from its cache by each worker."""
    corpus = tmp_path / "mols.smi"
    corpus.write_text("\n".join(smiles(30)) + "\n")
    sets = ("molecule.split={a: 0.5, b: 0.5}", "molecule.use_split=a")
    run(tmp_path / "one", "molecule", corpus, sets, shard_size=4)
    run(tmp_path / "two", "molecule", corpus, sets, shard_size=4, workers=2)
    assert tar_bytes(tmp_path / "one") == tar_bytes(tmp_path / "two")
    items = [r["meta"]["source"]["item"] for r in records(tmp_path / "one", "molecule")]
    assert items == sorted(items) and 5 < len(items) < 25
