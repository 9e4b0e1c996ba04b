"""The notebooks: committed with their figures, and still runnable (CI executes a copy of each with QUICK = True).

The committed files keep their outputs so that a reader on GitHub sees the figures; the execution test runs an
in-memory copy in a temporary folder and never rewrites them.
"""
import copy
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"01_quickstart_digits", "02_majaj_alignment", "03_label_fraction_sweep", "04_brainscore_benchmark"}
MAX_BYTES = 1_000_000


def _read(path):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(path, as_version=4)


def _outputs(notebook):
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def _images(notebook) -> int:
    return sum("image/png" in o.get("data", {}) for o in _outputs(notebook))


def test_every_notebook_is_there():
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_committed_with_figures(path):
    notebook = _read(path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") is not None for cell in code), f"{path.name}: not every code cell was executed before the commit"
    assert _images(notebook) >= 1, f"{path.name} is committed without a PNG figure; execute it and commit its outputs"
    assert not [o for o in _outputs(notebook) if o.get("output_type") == "error"], f"{path.name} is committed with an error output"
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes; keep figures small (dpi ~70)"
    assert notebook.cells[0].cell_type == "markdown" and "QUICK" in notebook.cells[0].source, f"{path.name}: the first cell must say which run the outputs come from"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, shared_data):
    nbclient = pytest.importorskip("nbclient")
    if "majaj" in path.stem or "brainscore" in path.stem:
        shared_data("majajhong2015_slice25.nc")
    committed = path.read_bytes()
    notebook = copy.deepcopy(_read(path))
    assert any("QUICK = True" in cell.source for cell in notebook.cells if cell.cell_type == "code")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])  # the checkout under test
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    errors = [o for o in _outputs(notebook) if o.get("output_type") == "error"]
    assert not errors, "\n".join(f"{e.get('ename')}: {e.get('evalue')}" for e in errors)
    assert _images(notebook) >= 1, f"{path.name} ran but drew no inline PNG figure"
    assert path.read_bytes() == committed, f"executing {path.name} changed the committed file"
