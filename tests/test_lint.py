"""`make lint` stays clean: ruff over every package, with the rules of pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "renderers", "corpora", "got_model", "pipelines", "tests"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"ruff check (make lint) found:\n{done.stdout}{done.stderr}"
