"""Bad input: a clear error naming the input before any work, or a counted reject and the run
goes on. Uses the built-in molecule renderer's user corpus (.smi) and the render config loader."""

from __future__ import annotations

import json

import pytest

from corpora.base import CorpusError
from pipelines.config import ConfigError
from pipelines.render import config as render_config
from pipelines.render.run import render_run


def molecule_run(corpus, samples=None, sets=()):
    return render_config.from_args(["molecule"], samples, 6, 0, str(corpus), list(sets))


@pytest.mark.parametrize("order", ["cover", "sample"])
def test_malformed_corpus_lines_are_counted_and_the_run_goes_on(tmp_path, order):
    corpus = tmp_path / "mols.smi"
    corpus.write_text("CCO ethanol\nthis-is-not-smiles\nc1ccccc1 benzene\nC1CC\nCC(=O)O acetic\n")
    samples = None if order == "cover" else 12
    manifest = render_run(molecule_run(corpus, samples, [f"molecule.order={order}"]), tmp_path / "out",
                          show_progress=False)
    entry = manifest["renderers"]["molecule"]
    if order == "cover":  # each item once: the bad ones are missed, named by file:line
        assert manifest["totals"]["samples"] == 3 and entry["missed"]["by_reason"] == {"bad-smiles": 2}
        examples = entry["missed"]["examples"]
    else:  # drawn at random: a bad draw is counted and drawn again
        assert manifest["totals"]["samples"] == 12 and set(entry["corpus"]["rejects"]) == {"bad-smiles"}
        examples = entry["corpus"]["examples"]
    assert any("mols.smi:2" in example or "mols.smi:4" in example for example in examples)
    targets = set()
    import webdataset as wds

    for sample in wds.WebDataset(sorted(str(p) for p in (tmp_path / "out").rglob("*.tar")), shardshuffle=False):
        targets.add(sample["txt"].decode())
    assert targets and not any("not" in t for t in targets)


def test_empty_corpus_fails_before_any_work(tmp_path):
    corpus = tmp_path / "empty.smi"
    corpus.write_text("\n\n")
    with pytest.raises(CorpusError, match="empty.smi"):
        render_run(molecule_run(corpus), tmp_path / "out", show_progress=False)
    assert not list((tmp_path / "out").rglob("*.tar"))


def test_missing_corpus_path_fails_naming_it(tmp_path, gotforge):
    result = gotforge("render", "--renderer", "molecule", "--corpus", str(tmp_path / "nowhere.smi"),
                      "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2
    assert "--corpus: corpus path" in result.stderr and "nowhere.smi" in result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_option_and_bad_config_key_fail_before_work(tmp_path):
    with pytest.raises(ConfigError, match=r"digits.no_such_option: unknown key; the known keys here: .*max_digits"):
        render_config.from_args(["digits"], 5, 5, 0, None, ["digits.no_such_option=1"])
    with pytest.raises(ConfigError, match="not in --renderer"):
        render_config.from_args(["digits"], 5, 5, 0, None, ["molecule.size=1"])
    with pytest.raises(ConfigError, match="expected <renderer>.<option>=<value>"):
        render_config.from_args(["digits"], 5, 5, 0, None, ["digits=3"])
    config = tmp_path / "mix.yaml"
    config.write_text("samples: 10\nshard_sise: 5\nrenderers:\n  digits: {weight: 1}\n")
    with pytest.raises(ConfigError, match=r"mix.yaml: shard_sise: unknown key; the known keys here: .*shard_size"):
        render_config.load_mix(config)
    config.write_text("samples: 10\nrenderers:\n  digits: {weight: 1, options: {max_digits: many}}\n")
    with pytest.raises(ConfigError, match=r"mix.yaml: renderers.digits.options.max_digits: .*integer \(found 'many'\)"):
        render_config.load_mix(config)
    config.write_text("samples: 10\nrenderers:\n  digits: {weight: 1}\n")
    with pytest.raises(ConfigError, match=r"max_digits: .*\(found 'many'\) \(from --set 'digits.max_digits=many'\)"):
        render_config.load_mix(config, ["digits.max_digits=many"])
    with pytest.raises(ConfigError, match="which .*mix.yaml does not list"):
        render_config.load_mix(config, ["molecule.size=1"])


def test_set_values_follow_the_one_yaml_rule(tmp_path):
    sets = ["digits.min_digits=2", "digits.max_digits= 3"]
    (job,) = render_config.from_args(["digits"], 5, 5, 0, None, sets).renderers
    assert job.options == {"min_digits": 2, "max_digits": 3}
    config = tmp_path / "mix.yaml"
    config.write_text("samples: 10\nrenderers:\n  digits: {weight: 1, options: {min_digits: 1, max_digits: 4}}\n")
    run, _ = render_config.load_mix(config, ["digits.max_digits=2"], {"samples": 3, "seed": 7})
    assert run.renderers[0].options == {"min_digits": 1, "max_digits": 2}  # the file's other options stay
    assert (run.seed, run.renderers[0].samples) == (7, 3)


def test_weighted_mix_splits_samples_and_options_reach_the_renderer(tmp_path):
    config = tmp_path / "mix.yaml"
    config.write_text(
        "seed: 1\nsamples: 10\nshard_size: 4\nrenderers:\n"
        "  digits: {weight: 3, options: {min_digits: 2, max_digits: 2}}\n  molecule: {weight: 1}\n"
    )
    run, _ = render_config.load_mix(config)
    assert [(j.name, j.samples) for j in run.renderers] == [("digits", 8), ("molecule", 2)]
    manifest = render_run(run, tmp_path / "out", show_progress=False)
    sizes = json.loads((tmp_path / "out" / "sizes.json").read_text())
    assert sizes == {"digits/digits-000000.tar": 4, "digits/digits-000001.tar": 4, "molecule/molecule-000000.tar": 2}
    assert manifest["totals"]["samples"] == 10
    import webdataset as wds

    lengths = {len(s["txt"]) for s in wds.WebDataset(str(tmp_path / "out" / "digits" / "digits-000000.tar"), shardshuffle=False)}
    assert lengths == {2}


def test_split_by_weight_is_exact():
    assert render_config.split_by_weight(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(render_config.split_by_weight(997, [0.2, 0.5, 0.3])) == 997
