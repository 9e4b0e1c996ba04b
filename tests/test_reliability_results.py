"""Results come only from the units on disk: --fresh clears the old tables first and recovers any corrupt folder,
foreign files in units/ are left out (with a warning naming them), a cut or edited results.csv is an error in
`report`, and one run at a time writes to a folder."""
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from neurobridge.cli import main
from neurobridge.experiments import results as results_module
from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.driver import open_run
from neurobridge.experiments.results import ResultStore

TABLES = ("results.csv", "results.nc", "selection.csv", "failures.csv", "timings.csv")
ForeignUnitWarning = getattr(results_module, "ForeignUnitWarning", UserWarning)

RUN = ["run", "digits", "--quick", "--methods", "ridge", "--fractions", "0.2", "--seeds", "0", "--no-progress", "--jobs", "1"]


def _config(out, resume=True):
    return RunConfig("digits", (0.2,), (0,), ("ridge",), out, quick=True, progress=False, resume=resume, options={"jobs": 1})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real, finished digits run (one ridge unit), copied by each test that corrupts it."""
    out = tmp_path_factory.mktemp("finished") / "out"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


def _copy(finished, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    return out


def _toy(tmp_path, seeds=(0, 1)):
    store = ResultStore(tmp_path, "toy")
    for seed in seeds:
        store.add("m", 0.1, seed, {"acc": 0.5 + seed / 10, "loss": 1.0 - seed / 10})
    store.write()
    return store


def test_fresh_removes_the_old_tables_before_any_unit_runs(finished, tmp_path):
    out = _copy(finished, tmp_path)
    assert all((out / name).exists() for name in ("results.csv", "results.nc", "timings.csv"))
    open_run(_config(out, resume=False))
    assert not any((out / name).exists() for name in TABLES)
    assert not list((out / "units").glob("digits__*"))


def _bad_run_json(out):
    (out / "run.json").write_text('{"digits": {"quick": tr')


def _run_json_folder(out):
    (out / "run.json").unlink()
    (out / "run.json").mkdir()


def _units_file(out):
    shutil.rmtree(out / "units")
    (out / "units").write_text("not a folder")


def _results_folder(out):
    (out / "results.csv").unlink()
    (out / "results.csv").mkdir()


def _unit_folder(out):
    unit = next((out / "units").glob("digits__*.json"))
    unit.unlink()
    unit.mkdir()


def _figures_file(out):
    shutil.rmtree(out / "figures")
    (out / "figures").write_text("not a folder")


def _garbage_phase(out):
    (out / "units" / "digits.main.phase").write_text("[1, 2")


CORRUPTIONS = [_bad_run_json, _run_json_folder, _units_file, _results_folder, _unit_folder, _figures_file, _garbage_phase]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=[c.__name__.strip("_") for c in CORRUPTIONS])
def test_fresh_starts_over_from_any_corrupt_folder(finished, tmp_path, corrupt):
    out = _copy(finished, tmp_path)
    corrupt(out)
    store = open_run(_config(out, resume=False))
    assert (out / "units").is_dir() and json.loads((out / "run.json").read_text())["digits"] == store.settings
    assert not any((out / name).exists() for name in TABLES)


def test_the_rerun_hint_of_a_corrupt_run_json_is_true(finished, tmp_path, capsys):
    out = _copy(finished, tmp_path)
    _bad_run_json(out)
    assert main([*RUN, "--out", str(out)]) == 2
    assert "--fresh" in capsys.readouterr().err
    assert main([*RUN, "--out", str(out), "--fresh"]) == 0
    assert set(pd.read_csv(out / "results.csv").method) == {"ridge"}


def test_foreign_files_in_units_are_left_out_and_named(tmp_path):
    store = _toy(tmp_path)
    expected = pd.read_csv(tmp_path / "results.csv")
    unit = tmp_path / "units" / "toy__m__0.1__0.json"
    strays = [tmp_path / "units" / "toy__m__0.1__0 (copy).json", tmp_path / "units" / "copy.json",
              tmp_path / "units" / "toy__m__0.10__0.json", tmp_path / "units" / "toy__m__0.1__7.json"]
    for stray in strays:
        shutil.copy(unit, stray)
    (tmp_path / "units" / "toy__x__0.1__0.json").write_text("{not json")
    with pytest.warns(ForeignUnitWarning) as caught:
        table = store.write()
    named = " ".join(str(w.message) for w in caught)
    assert all(stray.name in named for stray in strays) and "toy__x__0.1__0.json" in named
    assert len(table) == len(expected)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "results.csv"), expected)


def test_a_unit_made_with_other_settings_is_left_out(finished, tmp_path):
    out = _copy(finished, tmp_path)
    unit = next((out / "units").glob("digits__ridge__*.json"))
    record = json.loads(unit.read_text())
    shutil.copy(unit, out / "units" / "digits__ridge__0.5__0.json")
    stale = dict(record, key="0" * 40, rows=[dict(r, fraction=0.5) for r in record["rows"]])
    (out / "units" / "digits__ridge__0.5__0.json").write_text(json.dumps(stale))
    store = open_run(_config(out))
    with pytest.warns(ForeignUnitWarning, match="digits__ridge__0.5__0.json"):
        table = store.write()
    assert set(table.fraction) == {0.2}


def _report(out, capsys):
    code = main(["report", str(out)])
    return code, capsys.readouterr().err


def test_report_refuses_a_results_table_cut_mid_line(tmp_path, capsys):
    _toy(tmp_path)
    text = (tmp_path / "results.csv").read_text()
    (tmp_path / "results.csv").write_text(text[: len(text) - 7])
    code, err = _report(tmp_path, capsys)
    assert code == 2 and "results.csv" in err and "truncated" in err


def test_report_refuses_a_results_table_cut_at_a_line_break(tmp_path, capsys):
    _toy(tmp_path)
    lines = (tmp_path / "results.csv").read_text().splitlines(keepends=True)
    (tmp_path / "results.csv").write_text("".join(lines[:-2]))
    code, err = _report(tmp_path, capsys)
    assert code == 2 and "results.nc" in err and "rows" in err


def test_report_refuses_a_row_with_a_missing_field(tmp_path, capsys):
    _toy(tmp_path)
    (tmp_path / "results.nc").unlink()
    lines = (tmp_path / "results.csv").read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0]
    (tmp_path / "results.csv").write_text("\n".join(lines) + "\n")
    code, err = _report(tmp_path, capsys)
    assert code == 2 and "line 2" in err


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    with results_module.run_lock(out):
        assert main([*RUN, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"pid {os.getpid()}" in err and "another --out" in err
        assert not (out / "units").exists()
    assert not (out / results_module.LOCK_NAME).exists()


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path):
    import socket

    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / results_module.LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": "then"}))
    with results_module.run_lock(out) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()


@pytest.mark.parametrize("where", ["below_a_file", "in_proc"])
def test_an_output_folder_that_cannot_be_made_is_a_message(tmp_path, capsys, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / "sub" if where == "below_a_file" else "/proc/neurobridge-cannot-write-here"
    assert main([*RUN, "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
