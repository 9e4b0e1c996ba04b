"""Shared test set-up: the real-data search path, an isolated cache, and the markers' rules.

Real data live in ``../shared/data`` (or wherever ``NEUROBRIDGE_DATA_PATH`` points). Outside CI a test that needs them
is skipped when they are absent; in CI (``CI=true``, which ``.ci/run`` sets) that is an error, so the real-data tests
always run there. In CI every skip fails the run except one: a test marked ``gpu`` on a machine without CUDA.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_DATA = ROOT.parent / "shared" / "data"
if not os.environ.get("NEUROBRIDGE_DATA_PATH") and _DEFAULT_DATA.is_dir():
    os.environ["NEUROBRIDGE_DATA_PATH"] = str(_DEFAULT_DATA)
os.environ.setdefault("NEUROBRIDGE_OFFLINE", "1")
IN_CI = os.environ.get("CI", "").lower() == "true"

try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("neurobridge", derandomize=True, deadline=None)
    _hypothesis_settings.load_profile("neurobridge")
except ImportError:
    pass


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep every test's downloads and model caches out of the user's ~/.cache."""
    home = tmp_path_factory.mktemp("neurobridge_home")
    old = os.environ.get("NEUROBRIDGE_HOME")
    os.environ["NEUROBRIDGE_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("NEUROBRIDGE_HOME", None)
    else:
        os.environ["NEUROBRIDGE_HOME"] = old


def _find(filename: str) -> Path | None:
    for directory in os.environ.get("NEUROBRIDGE_DATA_PATH", "").split(os.pathsep):
        if directory and Path(directory).is_dir():
            for hit in Path(directory).rglob(filename):
                return hit
    return None


@pytest.fixture(scope="session")
def shared_data():
    """Return a function ``filename -> Path`` into the real data; skip (locally) or fail (in CI) when absent."""

    def find(filename: str) -> Path:
        hit = _find(filename)
        if hit is None:
            message = f"real data file {filename} not found on NEUROBRIDGE_DATA_PATH={os.environ.get('NEUROBRIDGE_DATA_PATH')!r}"
            if IN_CI:
                pytest.fail(message + " (in CI the shared data must be present)")
            pytest.skip(message)
        return hit

    return find


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Small networks train far faster on one intra-op thread on a shared 2-core machine; restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, turn a skip into a failure unless it is the GPU skip (a ``gpu`` test without CUDA)."""
    outcome = yield
    report = outcome.get_result()
    if not IN_CI or not report.skipped or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("gpu") is not None and not _cuda_available():
        return
    report.outcome = "failed"
    report.longrepr = (
        f"{item.nodeid} skipped in CI ({_skip_reason(report)}); in CI only a test marked 'gpu' may skip, "
        "and only on a machine without CUDA"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """In CI, a module that skips as a whole (e.g. a module-level importorskip) fails too."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"{collector.nodeid} skipped at collection in CI ({_skip_reason(report)}); in CI only GPU tests may skip"


def pytest_configure(config):
    """``NEUROBRIDGE_FULL_CI=1`` (a CI run marked full) also runs the slow tests that ``setup.cfg`` deselects.

    The default selection ``-m "not slow"`` comes from ``addopts``; an explicit ``-m`` on the command line still
    wins, since only the default expression is replaced."""
    if os.environ.get("NEUROBRIDGE_FULL_CI", "") == "1" and config.option.markexpr == "not slow":
        config.option.markexpr = ""
