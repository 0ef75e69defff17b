"""The molecule corpus and renderer with real RDKit: corpus loading and rejects, labels that
round-trip to the drawn molecule (and a corrupted one that does not), determinism, and variety."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest
from rdkit import Chem

from corpora.base import CorpusError
from corpora.molecules import (
    MoleculeItem,
    _read_cache,
    _write_cache,
    cache_path,
    default_molecules,
    molecules,
)
from renderers.base import Reject, Sample
from renderers.molecule import MoleculeRenderer, Options
from tests.shard_helpers import good_items

SEEDS = range(50)


def png(sample: Sample) -> bytes:
    buffer = io.BytesIO()
    sample.images[0].save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def inchi(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    assert mol is not None, f"RDKit cannot parse {smiles!r}"
    return Chem.MolToInchi(mol)


@pytest.fixture(scope="module")
def renderer() -> MoleculeRenderer:
    return MoleculeRenderer(Options())


@pytest.fixture(scope="module")
def samples(renderer: MoleculeRenderer) -> list[Sample]:
    return [renderer.render(np.random.default_rng(seed)) for seed in SEEDS]


# -- corpus ---------------------------------------------------------------------------------------
def test_default_corpus_is_large_and_unique():
    corpus = default_molecules()
    smiles = [item.smiles for item in good_items(corpus)]
    assert len(set(smiles)) == len(smiles) > 15_000
    assert corpus.fingerprint and corpus.source.startswith("rdkit-data-")


def test_cache_round_trips_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = cache_path()
    assert path.parent == tmp_path / "gotforge"
    items = [MoleculeItem("CCO", "ethanol"), MoleculeItem("c1ccccc1")]
    _write_cache(path, items)
    assert _read_cache(path) == items


def test_user_smi_counts_bad_lines_and_keeps_good_ones(tmp_path):
    path = tmp_path / "mine.smi"
    path.write_text("CCO ethanol\nC1CC(\nc1ccccc1O phenol\n\nnot-a-smiles x\n[Na+].[Cl-]\n")
    corpus = molecules(path)
    kept = [(item.smiles, item.name) for item in good_items(corpus)]
    assert kept == [("CCO", "ethanol"), ("Oc1ccccc1", "phenol")]
    assert corpus.rejects == {"bad-smiles": 2, "too-few-atoms": 1}
    assert any(f"{path}:2" in example for example in corpus.examples)


def test_user_folder_and_txt(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.smi").write_text("CCN\nCCCl\n")
    (folder / "b.smi").write_text("CC(=O)O acetic acid\nxyz\n")
    (folder / "notes.md").write_text("CCCC\n")
    corpus = molecules(folder)
    assert [item.smiles for item in good_items(corpus)] == ["CCN", "CCCl", "CC(=O)O"]
    assert corpus.item(2).name == "acetic acid" and corpus.rejects == {"bad-smiles": 1}
    (tmp_path / "list.txt").write_text("OCCO\n")
    assert good_items(molecules(tmp_path / "list.txt")) == [MoleculeItem("OCCO")]


def test_missing_or_useless_corpus_raises_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere.smi"
    with pytest.raises(CorpusError, match=str(missing)):
        molecules(missing)
    junk = tmp_path / "junk.smi"
    junk.write_text("C1CC(\n")
    with pytest.raises(CorpusError, match=str(junk)):  # items are parsed when drawn
        molecules(junk).sample(np.random.default_rng(0))


# -- renderer -------------------------------------------------------------------------------------
def test_labels_round_trip_to_the_drawn_molecule(renderer, samples):
    for sample in samples:
        renderer.validate(sample)
        assert inchi(sample.target) == inchi(sample.meta["drawn_smiles"]) == inchi(sample.meta["smiles"])
        image = sample.images[0]
        assert image.mode == "RGB"
        assert (image.width, image.height) == (sample.meta["width"], sample.meta["height"])


def test_kekule_drawings_get_kekule_labels(samples):
    def written_aromatic(smiles: str) -> bool:  # lowercase atoms, as written (no sanitising)
        return any(atom.GetIsAromatic() for atom in Chem.MolFromSmiles(smiles, sanitize=False).GetAtoms())

    for sample in samples:
        has_rings = written_aromatic(sample.meta["smiles"])
        expected = has_rings and sample.meta["aromatic_style"] != "kekule"
        assert written_aromatic(sample.target) == expected, (sample.meta["aromatic_style"], sample.target)


def test_corrupted_label_is_rejected(renderer, samples):
    sample = samples[0]
    other = next(s.target for s in samples if s.meta["drawn_smiles"] != sample.meta["drawn_smiles"])
    for bad in (other, sample.target + "C", sample.target[:-1] + "(", "not smiles"):
        with pytest.raises(Reject) as caught:
            renderer.validate(dataclasses.replace(sample, target=bad))
        assert caught.value.reason == "label-not-faithful"


def test_same_seed_same_bytes_on_a_fresh_and_a_used_instance(renderer, samples):
    fresh = MoleculeRenderer(Options())
    for seed in (0, 17, 49):
        again = fresh.render(np.random.default_rng(seed))
        assert png(again) == png(samples[seed])
        assert (again.target, again.meta) == (samples[seed].target, samples[seed].meta)
    renderer.render(np.random.default_rng(12345))  # the used instance carries nothing over
    assert png(renderer.render(np.random.default_rng(17))) == png(samples[17])


def test_meta_is_json_and_records_the_choices(samples):
    keys = {"lang", "corpus", "smiles", "font", "width", "height", "rotation", "hydrogens", "aromatic_style"}
    for sample in samples:
        assert json.loads(json.dumps(sample.meta)) == sample.meta
        assert keys <= sample.meta.keys() and sample.meta["lang"] == "en"


def test_choices_vary_across_seeds(samples):
    def values(key: str) -> set:
        return {json.dumps(s.meta[key]) for s in samples}

    assert len(values("font")) >= 2
    assert len(values("width")) >= 10 and len(values("height")) >= 10
    assert {"kekule", "circle"} <= {s.meta["aromatic_style"] for s in samples}
    assert {"kekule", "aromatic"} == {s.meta["label_rule"] for s in samples}
    assert "\"bw\"" in values("colour") and len(values("colour")) >= 2
    assert len(values("rotation")) >= 2 and len(values("bond_line_width")) >= 10


def test_random_smiles_are_seeded_and_still_faithful():
    renderer = MoleculeRenderer(Options(random_smiles_p=1.0, aromatic_weights=(1.0, 0.0, 0.0)))
    targets = []
    for seed in range(10):
        sample = renderer.render(np.random.default_rng(seed))
        renderer.validate(sample)
        assert sample.meta["smiles_order"] == "random" and isinstance(sample.meta["smiles_seed"], int)
        assert renderer.render(np.random.default_rng(seed)).target == sample.target
        targets.append(sample.target != Chem.MolToSmiles(Chem.MolFromSmiles(sample.target)))
    assert any(targets), "random atom order never differed from canonical"


def test_explicit_hydrogens_draw_the_same_molecule(tmp_path):
    path = tmp_path / "small.smi"
    path.write_text("C[C@H](N)C(=O)O alanine\nc1ccc[nH]1 pyrrole\n")
    renderer = MoleculeRenderer(Options(explicit_h_p=1.0, aromatic_weights=(0.0, 1.0, 0.0)), path)
    for seed in range(6):
        sample = renderer.render(np.random.default_rng(seed))
        renderer.validate(sample)
        assert sample.meta["hydrogens"] == "explicit" and sample.meta["corpus"] == str(path)
        assert inchi(sample.target) == inchi(sample.meta["smiles"])
