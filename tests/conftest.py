"""Shared fixtures. The example plugin in ``tests/plugin_example`` is installed once per session with
pip (into a private target folder, not the venv) so every test, the registry-wide contract tests
included, sees a real third-party renderer registered through its own ``pyproject.toml``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_SOURCE = ROOT / "tests" / "plugin_example"


def pip_install_target(source: Path, target: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--target",
         str(target), str(source)],
        check=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    target = Path(tempfile.mkdtemp(prefix="gotforge-plugin-"))
    config.add_cleanup(lambda: shutil.rmtree(target, ignore_errors=True))
    pip_install_target(PLUGIN_SOURCE, target)
    sys.path.insert(0, str(target))
    # Worker processes and `gotforge` subprocesses find the plugin the same way.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    from renderers import registry

    registry.entries.cache_clear()


@pytest.fixture
def gotforge():
    """Run the real ``gotforge`` console script; returns the CompletedProcess."""

    def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run([str(Path(sys.executable).parent / "gotforge"), *args], check=False,
                                capture_output=True, text=True, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"gotforge {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    return run
