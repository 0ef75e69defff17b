"""The shared config toolkit (pipelines.config): the one ``--set`` rule, the strict base, the loader and
the error messages. The render and training configs' own checks are in test_bad_input.py and
test_train.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, StrictModel, apply_sets, load, parse_set


class Inner(StrictModel):
    rate: float = 0.1
    names: tuple[str, ...] = ()


class Outer(StrictModel):
    name: str
    inner: Inner = Inner()
    items: tuple[Inner, ...] = ()


@pytest.mark.parametrize(("text", "value"), [
    ("a=true", True), ("a=12", 12), ("a=0.5", 0.5), ("a=3e-4", "3e-4"), ("a=", None), ("a=null", None),
    ("a=[1, 2]", [1, 2]), ("a={page: 0.6}", {"page": 0.6}), ("a=hello world", "hello world"),
    ("a='no'", "no"), ("a=no", False), ("a=x=y", "x=y"),
])
def test_a_set_value_is_read_as_yaml(text: str, value: object) -> None:
    assert parse_set(text).value == value


def test_set_keys_are_dotted_paths_into_sections() -> None:
    data = {"inner": {"rate": 1.0}, "name": "x"}
    out = apply_sets(data, ["inner.names=[a, b]", "new.deep.key=1", " name = y"])
    assert out == {"inner": {"rate": 1.0, "names": ["a", "b"]}, "name": "y", "new": {"deep": {"key": 1}}}
    assert data == {"inner": {"rate": 1.0}, "name": "x"}  # a copy is changed, never the input
    for bad in ("name", "=1", "inner..rate=1", ".rate=1"):
        with pytest.raises(ConfigError, match="expected KEY=VALUE"):
            apply_sets(data, [bad])
    with pytest.raises(ConfigError, match=r"--set 'name.first=1': name is a str \('x'\), not a section"):
        apply_sets(data, ["name.first=1"])
    with pytest.raises(ConfigError, match="not valid YAML"):
        apply_sets(data, ["name=[1"])


def test_load_names_the_file_the_key_and_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("name: x\ninner: {rate: 0.5}\n")
    assert load(Outer, path, ["inner.rate=2"]).inner.rate == 2.0
    with pytest.raises(ConfigError, match=r"run.yaml: inner.rate: .*number.* \(found 'fast'\) \(from --set 'inner.rate=fast'\)"):
        load(Outer, path, ["inner.rate=fast"])
    path.write_text("name: x\nitems: [{rat: 1}]\n")
    with pytest.raises(ConfigError, match=r"run.yaml: items.0.rat: unknown key; the known keys here: rate, names$"):
        load(Outer, path)
    path.write_text("inner: {rate: 0.5}\n")
    with pytest.raises(ConfigError, match="run.yaml: name: required, missing"):
        load(Outer, path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="a config is a YAML mapping of keys, found list"):
        load(Outer, path)
    with pytest.raises(ConfigError, match=r"no config .*absent.yaml"):
        load(Outer, tmp_path / "absent.yaml")
