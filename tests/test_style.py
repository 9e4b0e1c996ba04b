"""ruff check over the repository, with the settings in pyproject.toml.

Marked ``style``: it runs with the suite (and in CI); ``pytest -m style`` runs it alone.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    """The ruff command of this environment: the executable beside the interpreter, else on PATH."""
    local = Path(sys.executable).with_name("ruff")
    if local.exists():
        return [str(local)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed; it is part of the dev extra (pip install -e '.[dev]')")
    return [found]


@pytest.mark.style
def test_ruff_check_is_clean():
    result = subprocess.run([*_ruff(), "check", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
