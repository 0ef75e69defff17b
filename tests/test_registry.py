"""The plugin registry and the `gotforge renderers` listing, with real installed packages."""

from __future__ import annotations

import sys
import textwrap

import pytest

from renderers import registry
from tests.conftest import pip_install_target


def test_listing_shows_builtins_and_the_plugin(gotforge):
    out = gotforge("renderers").stdout
    header, _rule, *rows = out.splitlines()
    assert header.split() == ["name", "markup", "task", "version", "package"]
    by_name = {row.split()[0]: row.split() for row in rows}
    assert by_name["digits"] == ["digits", "text", "ocr", "1", "gotforge-digits"]
    assert by_name["molecule"][1:] == ["smiles", "ocr", registry.load("molecule").version, "gotforge"]


def test_unknown_renderer_names_the_known_ones(gotforge):
    result = gotforge("render", "--renderer", "nope", "--out", "unused", check=False)
    assert result.returncode == 2
    assert "unknown renderer 'nope'" in result.stderr and "molecule" in result.stderr and "digits" in result.stderr


def test_plugin_renders_without_touching_gotforge(gotforge, tmp_path):
    gotforge("render", "--renderer", "digits", "--samples", "5", "--out", str(tmp_path), "--quiet")
    assert (tmp_path / "digits" / "digits-000000.tar").exists()


def test_two_packages_claiming_one_name_fail_naming_both(tmp_path, monkeypatch):
    clash = tmp_path / "clash"
    (clash / "clash_renderer").mkdir(parents=True)
    (clash / "clash_renderer" / "__init__.py").write_text("class Clash:\n    name = 'digits'\n")
    (clash / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "clash-plugin"
        version = "0.0.1"
        [project.entry-points."gotforge.renderers"]
        digits = "clash_renderer:Clash"
    """))
    target = tmp_path / "site"
    pip_install_target(clash, target)
    monkeypatch.syspath_prepend(str(target))
    registry.entries.cache_clear()
    try:
        with pytest.raises(registry.RegistryError, match="claimed twice") as err:
            registry.entries()
        assert "gotforge-digits" in str(err.value) and "clash-plugin" in str(err.value)
    finally:
        sys.path.remove(str(target))
        registry.entries.cache_clear()


def test_readme_shows_the_tested_plugin_verbatim():
    from tests.conftest import PLUGIN_SOURCE, ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (PLUGIN_SOURCE / "gotforge_digits" / "__init__.py").read_text(encoding="utf-8").rstrip() in readme
    assert 'digits = "gotforge_digits:DigitsRenderer"' in (PLUGIN_SOURCE / "pyproject.toml").read_text()
    assert 'digits = "gotforge_digits:DigitsRenderer"' in readme
