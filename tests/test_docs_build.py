"""The documentation builds with warnings as errors, and every gallery example runs while it builds.

Runs ``sphinx-build -W -b html docs <tmp>`` as CI does through the README's test command. The gallery reads the
real MajajHong2015 slice through ``NEUROBRIDGE_DATA_PATH`` (docs/conf.py falls back to ``../shared/data``).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytestmark = pytest.mark.realdata


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra (part of dev) is not installed")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore::DeprecationWarning")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    html = tmp_path / "html"
    for page in ("index.html", "api/index.html", "guide/couplings.html", "results/index.html", "limitations.html",
                 "architecture.html", "auto_examples/index.html"):
        assert (html / page).is_file(), f"{page} was not built"
    for example in sorted((DOCS / "examples").glob("plot_*.py")):
        built = html / "auto_examples" / f"{example.stem}.html"
        assert built.is_file(), f"gallery example {example.name} was not built"
