"""Re-execute notebooks in place so their committed outputs (and figures) match the code.

    python notebooks/refresh_outputs.py                       # every notebook here, as committed (QUICK = True)
    python notebooks/refresh_outputs.py notebooks/02_*.ipynb  # some of them

Each notebook runs in a temporary folder (its ``results/`` never land in the repository) with the checkout on
``PYTHONPATH``; a notebook is rewritten only when every cell ran without error, through a temporary file and a rename.
``NEUROBRIDGE_DATA_PATH`` must point at the real data for the MajajHong2015 notebooks.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]


def refresh(path: Path, timeout: int = 1800) -> float:
    """Execute ``path`` and write it back with its outputs; return the wall time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": folder}})
        client.execute(env=env)
    seconds = time.perf_counter() - start
    partial = path.with_name(path.name + ".partial")
    nbformat.write(notebook, partial)
    os.replace(partial, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        seconds = refresh(path)
        print(f"{path}: {seconds:.0f} s, {path.stat().st_size / 1024:.0f} KiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
