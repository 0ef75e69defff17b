"""Dependencies point one way (ARCHITECTURE.md, "Layers"), read from the source with ``ast``.

corpora → renderers → got_model → pipelines: a package imports only the ones before it, and
``got_model`` takes from ``renderers`` only the sample contract (``renderers.base``,
``renderers.tasks``). The render path (``pipelines.render``, the renderers, the corpora) never
imports torch or transformers, so a render worker starts without them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("corpora", "renderers", "got_model", "pipelines")
ALLOWED = {
    "corpora": set(),
    "renderers": {"corpora"},
    "got_model": {"renderers.base", "renderers.tasks"},
    "pipelines": {"corpora", "renderers", "got_model"},
}
RENDER_PATH = ("corpora", "renderers", "pipelines/render")
HEAVY = ("torch", "transformers", "got_model")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at any depth (lazy imports inside functions count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def allowed(importer: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in PACKAGES or top == importer:
        return True
    return any(module == rule or module.startswith(rule + ".") or rule.startswith(module + ".")
               for rule in ALLOWED[importer])


def violations(root: Path) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imports_of(path):
                if not allowed(package, module):
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    for folder in RENDER_PATH:
        for path in sorted((root / folder).rglob("*.py")):
            for line, module in imports_of(path):
                if module.split(".")[0] in HEAVY:
                    found.append(f"{path.relative_to(root)}:{line} (render path) imports {module}")
    return found


def test_dependencies_point_one_way():
    assert violations(ROOT) == []


@pytest.mark.parametrize("package, line, complaint", [
    ("corpora", "from renderers.backends.latex import balanced", "corpora/bad.py:1 imports renderers.backends.latex"),
    ("renderers", "import pipelines.render.run", "renderers/bad.py:1 imports pipelines.render.run"),
    ("got_model", "from renderers.backends import fonts", "got_model/bad.py:1 imports renderers.backends"),
    ("pipelines/render", "import torch", "pipelines/render/bad.py:1 (render path) imports torch"),
])
def test_a_reverse_import_is_caught(tmp_path, package, line, complaint):
    for name in PACKAGES:
        (tmp_path / name).mkdir()
    (tmp_path / "pipelines" / "render").mkdir()
    (tmp_path / package / "bad.py").write_text(line + "\n")
    assert complaint in violations(tmp_path)
