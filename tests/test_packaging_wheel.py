"""A regular (non-editable) install works: build a wheel, install it into a fresh venv, run the CLI from it.

CI installs the package with ``-e``, which serves every module straight from the checkout and so hides a subpackage
that a wheel leaves out (``neurobridge/experiments`` once had no ``__init__.py``: ``pip install .`` gave a CLI without
``run``). Here the wheel is built from a copy of the sources, installed with ``--no-deps`` into a new venv that sees
this interpreter's already-installed dependencies through a ``.pth`` file (a plain path line, so this environment's
own editable neurobridge is not activated), and run from a folder outside the checkout.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "neurobridge", "data_manifests")


def _run(cmd, *, cwd, env, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NEUROBRIDGE_MANIFESTS"}}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def _build_wheel(work: Path, env: dict) -> Path:
    """The wheel built from a copy of the sources (no compiled file of the checkout travels with them)."""
    source = work / "source"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, source],
         cwd=work, env=env)
    wheels = sorted(dist.glob("neurobridge-*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in dist.iterdir())
    return wheels[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, venv bin folder, clean environment, work folder outside the checkout) with the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    env = _clean_env()
    wheel = _build_wheel(work, env)

    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=work, env=env)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         cwd=work, env=env)
    venv_site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work, env=env).strip())
    here = list(dict.fromkeys([*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]))
    (venv_site / "zz_neurobridge_test_deps.pth").write_text("\n".join(here) + "\n")
    return python, python.parent, env, work, venv


def test_wheel_holds_every_subpackage():
    """Every folder under neurobridge/ with Python files is a package, so ``packages = find:`` ships it."""
    missing = sorted(
        str(d.relative_to(ROOT)) for d in (ROOT / "neurobridge").rglob("*")
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").is_file()
    )
    assert not missing, f"folders without __init__.py are left out of a regular install: {missing}"


def test_installed_copy_is_imported_and_finds_its_manifests(installed):
    python, _, env, work, venv = installed
    code = (
        "import neurobridge, neurobridge.experiments, neurobridge.experiments.cli\n"
        "from neurobridge.datasets.manifests import list_manifests\n"
        "print(neurobridge.__file__)\n"
        "for name, m in sorted(list_manifests().items()): print(name, m.path)\n"
    )
    lines = _run([python, "-c", code], cwd=work, env=env).splitlines()
    assert Path(lines[0]).resolve().is_relative_to(venv.resolve()), f"imported {lines[0]}, not the installed copy"
    assert not Path(lines[0]).resolve().is_relative_to(ROOT), lines[0]
    found = dict(line.split(" ", 1) for line in lines[1:])
    assert len(found) == len(list((ROOT / "data_manifests").glob("*.json"))), found
    assert {"mnist", "majajhong2015", "majajhong2015_slice25", "hvm"} <= set(found), found
    for name, path in found.items():
        assert Path(path).resolve().is_relative_to(venv.resolve()), f"manifest {name} read from {path}, not from the install"


def test_installed_copy_ships_the_compiled_min_plus_kernel(installed):
    """The wheel carries the C extension built from ``neurobridge/couplings/_minplus.c`` (a C compiler is present
    wherever this suite runs in CI), and the installed copy uses it."""
    python, _, env, work, venv = installed
    code = "from neurobridge.couplings import kernels, _minplus\nprint(_minplus.__file__)\nprint(kernels.COMPILED_KERNEL)\n"
    path, kernel = _run([python, "-c", code], cwd=work, env=env).split()
    assert Path(path).resolve().is_relative_to(venv.resolve()), f"compiled kernel imported from {path}, not the install"
    assert kernel in ("avx2", "portable"), kernel


def test_installed_cli_offers_every_command_and_runs_a_digits_unit(installed, tmp_path):
    _, bindir, env, work, venv = installed
    cli = bindir / ("neurobridge.exe" if os.name == "nt" else "neurobridge")
    assert cli.is_file(), f"no console script at {cli}"
    env = {**env, "NEUROBRIDGE_HOME": str(tmp_path / "home"), "NEUROBRIDGE_OFFLINE": "1"}
    usage = _run([cli, "--help"], cwd=work, env=env)
    for command in ("data", "run", "sweep", "report"):
        assert command in usage, f"'neurobridge --help' from a wheel install does not offer {command!r}:\n{usage}"
    # One cheap unit (ridge, one fraction, one seed) through the whole CLI path of the installed copy: data, frozen
    # models, bridges, fit, evaluation, tables, figures. The full digits --quick run is tests/test_experiments.py's.
    out = tmp_path / "digits"
    _run([cli, "run", "digits", "--quick", "--methods", "ridge", "--fractions", "0.2", "--seeds", "0", "--jobs", "1",
          "--no-progress", "--out", out], cwd=work, env=env, timeout=840)
    assert (out / "results.csv").is_file() and (out / "results.nc").is_file()
    assert any((out / "figures").iterdir()) and any((out / "plots").iterdir())
    import pandas as pd

    table = pd.read_csv(out / "results.csv")
    assert set(table.method) == {"ridge"} and set(table.fraction) == {0.2} and set(table.seed) == {0}, table
    accuracy = table[table.metric == "recognition_accuracy"].value
    assert len(accuracy) == 1 and 0.2 < accuracy.iloc[0] <= 1, f"ridge from the wheel install: recognition accuracy {accuracy.tolist()} (chance 0.1)"


def test_wheel_builds_without_a_c_compiler(tmp_path):
    """The extension is optional: with a compiler that fails, the build still yields a wheel (without the kernel),
    and the package then runs on the torch loop (tests/test_couplings_kernels.py covers that path)."""
    wheel = _build_wheel(tmp_path, _clean_env(CC="false", LDSHARED="false"))
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "_minplus" in n and n.endswith((".so", ".pyd"))], names
    assert "neurobridge/couplings/kernels.py" in names
