"""Package-level promises: importing touches no CUDA, every public name resolves, the CLI answers."""
import importlib
import pkgutil
import subprocess
import sys

import neurobridge


def test_importing_every_module_does_not_initialise_cuda():
    code = (
        "import importlib, pkgutil, torch, neurobridge\n"
        "for m in pkgutil.walk_packages(neurobridge.__path__, 'neurobridge.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(torch.cuda.is_initialized())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("False")


def test_public_names_resolve():
    for name in neurobridge.__all__:
        assert getattr(neurobridge, name) is not None
    for package in ("neurobridge.evaluate", "neurobridge.models", "neurobridge.baselines", "neurobridge.couplings", "neurobridge.flows"):
        module = importlib.import_module(package)
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"


def test_cli_lists_the_experiments():
    out = subprocess.run([sys.executable, "-m", "neurobridge.cli", "run", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for name in ("digits", "mnist", "text-image", "imagenet-features", "majaj"):
        assert name in out.stdout


def test_every_module_has_a_docstring():
    missing = [m.name for m in pkgutil.walk_packages(neurobridge.__path__, "neurobridge.")
               if not (importlib.import_module(m.name).__doc__ or "").strip()]
    assert not missing, missing
