"""The Dask distributed driver (``--scheduler``): the same results as the local process pool, and a unit whose worker
dies is rerun on another worker with nothing lost."""
from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed: pip install 'neurobridge[distributed]'")

from neurobridge.experiments.config import RunConfig  # noqa: E402
from neurobridge.experiments.dask_driver import check_scheduler, dask_client, run_with_dask  # noqa: E402
from neurobridge.experiments.driver import open_run, run_experiment  # noqa: E402

METHODS = ("ridge", "e2e-logreg")
TIMING_METRICS = {"fit_seconds"}


def _config(out: Path, **changes) -> RunConfig:
    fields = dict(experiment="digits", fractions=(0.1,), seeds=(0,), methods=METHODS, out=out, quick=True, device="cpu",
                  progress=False, options={"jobs": 2})
    fields.update(changes)
    return RunConfig(**fields)


def _measured(out: Path) -> pd.DataFrame:
    """results.csv without the wall-clock metrics, in a fixed row order."""
    table = pd.read_csv(out / "results.csv")
    table = table[~table["metric"].isin(TIMING_METRICS)]
    return table.sort_values(["experiment", "method", "fraction", "seed", "metric"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def pool_out(tmp_path_factory):
    """The tiny sweep through the local process pool (2 worker processes): the reference table."""
    out = tmp_path_factory.mktemp("pool")
    run_experiment(_config(out))
    return out


@pytest.fixture(scope="module")
def client():
    with dask_client("local", workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        yield client


def _assert_same_results(out: Path, reference: Path) -> None:
    mine, theirs = _measured(out), _measured(reference)
    assert len(theirs) > 0 and set(theirs["method"]) == set(METHODS)
    pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    assert not (out / "failures.csv").exists()
    figures = sorted(p.name for p in (reference / "figures").iterdir())
    assert figures and sorted(p.name for p in (out / "figures").iterdir()) == figures
    assert not list((out / "units").glob("*.claim"))


def test_dask_sweep_matches_local_pool(tmp_path, pool_out, client):
    out = tmp_path / "dask"
    run_experiment(_config(out), runner=partial(run_with_dask, client=client))
    _assert_same_results(out, pool_out)
    stored = {p.name: json.loads(p.read_text())["key"] for p in (out / "units").glob("digits__*.json")}
    assert stored == {p.name: json.loads(p.read_text())["key"] for p in (pool_out / "units").glob("digits__*.json")}


def test_killed_worker_unit_reruns_elsewhere_nothing_lost(tmp_path, pool_out, client):
    out = tmp_path / "dask-killed"
    marker = tmp_path / "killed-once"
    config = _config(out)
    store = open_run(config)
    run_with_dask("digits", config, store, client, _crash_once=(str(marker), "ridge"))
    assert marker.is_file(), "the test hook did not end a worker: the rerun was not exercised"
    killed = int(marker.read_text())
    assert killed != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    store.write()
    _assert_same_results(out, pool_out)
    deadline = time.monotonic() + 30
    while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)


def test_scheduler_address_runs_and_resume_skips_stored_units(tmp_path, pool_out, client):
    out = tmp_path / "by-address"
    config = _config(out, methods=("e2e-logreg",))
    with dask_client(client.scheduler.address) as remote:
        assert remote.scheduler.address == client.scheduler.address
        run_experiment(config, runner=partial(run_with_dask, client=remote))
    unit = out / "units" / "digits__e2e-logreg__0.1__0.json"
    def measured(path):
        return [row for row in json.loads(path.read_text())["rows"] if row["metric"] not in TIMING_METRICS]

    assert measured(unit) == measured(pool_out / "units" / unit.name) != []
    before = unit.stat().st_mtime_ns, unit.read_text()
    run_experiment(config, runner=partial(run_with_dask, client=client))
    assert (unit.stat().st_mtime_ns, unit.read_text()) == before


@pytest.mark.parametrize("address", ["tcp://", "http//host:1", "tcp://host:99999", "host", ""])
def test_bad_scheduler_address_is_named(address):
    with pytest.raises(ValueError, match="scheduler"):
        check_scheduler(address)


def test_scheduler_forms():
    assert check_scheduler("local") == "local"
    assert check_scheduler("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert check_scheduler("tls://node-1.cluster:8786") == "tls://node-1.cluster:8786"


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ValueError, match=r"no Dask scheduler answered.*tcp://127\.0\.0\.1:9"):
        with dask_client("tcp://127.0.0.1:9", timeout=1):
            pass


def test_missing_distributed_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(ValueError, match=r"neurobridge\[distributed\]"):
        with dask_client("local"):
            pass


def test_cli_sweep_bad_scheduler_exits_with_one_line(tmp_path, capsys):
    from neurobridge.cli import main

    config = tmp_path / "sweep.json"
    config.write_text(json.dumps({"runs": [{"experiment": "digits", "quick": True, "methods": ["ridge"]}]}))
    assert main(["sweep", str(config), "--out", str(tmp_path / "out"), "--scheduler", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --scheduler 'nowhere' is not a scheduler address") and err.count("\n") == 1
    assert not (tmp_path / "out" / "results.csv").exists()


def test_cli_sweep_and_run_on_a_scheduler_address(tmp_path, pool_out, client, capsys):
    from neurobridge.cli import main

    config = tmp_path / "sweep.json"
    config.write_text(json.dumps({"runs": [{"experiment": "digits", "quick": True, "fractions": [0.1], "seeds": [0],
                                            "methods": list(METHODS), "device": "cpu", "progress": False}]}))
    address = client.scheduler.address
    assert main(["sweep", str(config), "--out", str(tmp_path / "sweep"), "--scheduler", address]) == 0
    _assert_same_results(tmp_path / "sweep", pool_out)
    assert main(["run", "digits", "--quick", "--fractions", "0.1", "--seeds", "0", "--methods", ",".join(METHODS),
                 "--device", "cpu", "--no-progress", "--out", str(tmp_path / "run"), "--scheduler", address]) == 0
    _assert_same_results(tmp_path / "run", pool_out)
    assert "9 rows" in capsys.readouterr().out
