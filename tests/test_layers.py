"""Dependencies point one way (ARCHITECTURE.md, "Layers"), read from the source with ``ast``.

corpora → renderers → pipelines, and got_model → pipelines: ``got_model`` stands alone, and only
``pipelines`` joins it to the data side. The render path (``pipelines.render``, the renderers, the
corpora) never imports torch or transformers, so a render worker starts without them; from
``got_model`` it takes only ``got_model.prompts`` (GOT's queries, standard library only), and a
fresh interpreter shows that importing the render path loads neither.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("corpora", "renderers", "got_model", "pipelines")
ALLOWED = {
    "corpora": set(),
    "renderers": {"corpora"},
    "got_model": set(),
    "pipelines": {"corpora", "renderers", "got_model"},
}
RENDER_PATH = ("corpora", "renderers", "pipelines/render")
HEAVY = ("torch", "transformers", "got_model")
LIGHT = ("got_model.prompts",)  # the one got_model module the render path may import


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
                if module.split(".")[0] in HEAVY and not module.startswith(LIGHT):
                    found.append(f"{path.relative_to(root)}:{line} (render path) imports {module}")
    return found


def test_dependencies_point_one_way():
    assert violations(ROOT) == []


# Every module of the render path (subpackages included), then what got loaded on the way.
PROBE = """
import importlib, pkgutil, sys
for package in ("corpora", "renderers", "pipelines.render"):
    path = importlib.import_module(package).__path__
    for module in pkgutil.walk_packages(path, package + "."):
        importlib.import_module(module.name)
print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""


def test_the_render_path_loads_neither_torch_nor_transformers():
    loaded = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize("package, line, complaint", [
    ("corpora", "from renderers.backends.latex import balanced", "corpora/bad.py:1 imports renderers.backends.latex"),
    ("renderers", "import pipelines.render.run", "renderers/bad.py:1 imports pipelines.render.run"),
    ("got_model", "from renderers.tasks import TASKS", "got_model/bad.py:1 imports renderers.tasks"),
    ("renderers", "from got_model.prompts import PLAIN", "renderers/bad.py:1 imports got_model.prompts"),
    ("pipelines/render", "import torch", "pipelines/render/bad.py:1 (render path) imports torch"),
    ("pipelines/render", "from got_model.collator import GotCollator",
     "pipelines/render/bad.py:1 (render path) imports got_model.collator"),
])
def test_a_reverse_import_is_caught(tmp_path, package, line, complaint):
    for name in PACKAGES:
        (tmp_path / name).mkdir()
    (tmp_path / "pipelines" / "render").mkdir()
    (tmp_path / package / "bad.py").write_text(line + "\n")
    assert complaint in violations(tmp_path)
