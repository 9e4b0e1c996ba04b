"""The shared unit loop and its store: resume after an interruption, --fresh, stale settings, failed units, NaN
cells, file permissions, timings, the method table, every method seeing the same bridges, and the target checker.

Runs use the digits experiment with fast methods (ridge, e2e-logreg, and the supervised flow where a flow is needed)
so that each test takes seconds once the reference models are cached.
"""
import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.driver import UnitsFailed, run_experiment
from neurobridge.experiments.results import ResultStore, SettingsMismatch, format_summary, unit_key


@pytest.fixture
def short_flows(monkeypatch):
    """Flows of 20 steps: the tests check the unit loop, not the flows' quality."""
    from neurobridge.experiments import digits

    monkeypatch.setattr(digits, "FLOW_QUICK", {**digits.FLOW_QUICK, "steps": 20})


def config(out, methods=("ridge", "e2e-logreg"), fractions=(0.05, 0.2), seeds=(0, 1), **options):
    return RunConfig("digits", fractions, seeds, methods, out, quick=True, progress=False, options={"jobs": 1, **options})


def comparable(table):
    """The results without the wall-clock metric."""
    return table[table.metric != "fit_seconds"].reset_index(drop=True)


def figures(out):
    return sorted(p.name for p in (out / "figures").glob("*.png"))


def test_interrupted_run_resumes_to_the_same_table_and_figures(tmp_path, monkeypatch):
    from neurobridge.experiments import plots

    whole = run_experiment(config(tmp_path / "whole", methods=("ridge",), seeds=(0,)))
    assert len(figures(tmp_path / "whole")) == 2

    calls = {"n": 0}
    real = plots.plot_image_grid

    def interrupt_on_second_figure(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(plots, "plot_image_grid", interrupt_on_second_figure)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config(tmp_path / "cut", methods=("ridge",), seeds=(0,)))
    done = sorted(p.name for p in (tmp_path / "cut" / "units").glob("*.json"))
    assert done == ["digits__ridge__0.05__0.json"]
    assert len(figures(tmp_path / "cut")) == 1
    monkeypatch.setattr(plots, "plot_image_grid", real)

    resumed = run_experiment(config(tmp_path / "cut", methods=("ridge",), seeds=(0,)))
    pd.testing.assert_frame_equal(comparable(resumed), comparable(whole))
    assert figures(tmp_path / "cut") == figures(tmp_path / "whole")
    plotted = sorted(p.name for p in (tmp_path / "cut" / "plots").glob("*.png"))
    assert plotted == sorted(p.name for p in (tmp_path / "whole" / "plots").glob("*.png"))


def test_a_unit_whose_figure_is_missing_is_redone(tmp_path):
    out = tmp_path / "out"
    run_experiment(config(out, methods=("ridge",), fractions=(0.05,), seeds=(0,)))
    (figure,) = (out / "figures").glob("*.png")
    unit = out / "units" / "digits__ridge__0.05__0.json"
    stamp = unit.stat().st_mtime_ns
    figure.unlink()
    run_experiment(config(out, methods=("ridge",), fractions=(0.05,), seeds=(0,)))
    assert figure.is_file() and unit.stat().st_mtime_ns != stamp


def test_fresh_starts_over(tmp_path):
    out = tmp_path / "out"
    run_experiment(config(out, fractions=(0.05,), seeds=(0,)))
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.json")}
    again = config(out, methods=("e2e-logreg",), fractions=(0.05,), seeds=(0,))
    again.resume = False
    table = run_experiment(again)
    assert set(table.method) == {"e2e-logreg"}
    assert not list((out / "units").glob("digits__ridge__*")) and not list((out / "figures").glob("*ridge*"))
    for path in (out / "units").glob("*.json"):
        assert path.stat().st_mtime_ns != stamps[path.name]


def test_rerun_with_other_settings_is_refused_with_the_difference(tmp_path):
    out = tmp_path / "out"
    run_experiment(config(out, methods=("e2e-logreg",), fractions=(0.05,), seeds=(0,)))
    recorded = (out / "run.json").read_text()
    with pytest.raises(SettingsMismatch) as info:
        run_experiment(config(out, methods=("e2e-logreg",), fractions=(0.05,), seeds=(0,), split_seed=1))
    message = str(info.value)
    assert "options.split_seed (unset -> 1)" in message and "--fresh" in message and "\n" not in message
    slow = config(out, methods=("e2e-logreg",), fractions=(0.05,), seeds=(0,))
    slow.quick = False
    with pytest.raises(SettingsMismatch) as info:
        run_experiment(slow)
    assert "quick (true -> false)" in str(info.value) and "flow.steps (300 -> 600)" in str(info.value)
    assert (out / "run.json").read_text() == recorded
    slow.resume = False
    run_experiment(slow)
    assert json.loads((out / "run.json").read_text())["digits"]["quick"] is False
    unit = json.loads((out / "units" / "digits__e2e-logreg__0.05__0.json").read_text())
    assert unit["status"] == "done"


def test_a_unit_stored_under_another_key_is_recomputed(tmp_path):
    out = tmp_path / "out"
    cfg = config(out, methods=("e2e-logreg",), seeds=(0,))
    table = run_experiment(cfg)
    path = out / "units" / "digits__e2e-logreg__0.05__0.json"
    record = json.loads(path.read_text())
    record["key"] = "0" * 40
    record["rows"] = [dict(row, value=-1.0) for row in record["rows"]]
    path.write_text(json.dumps(record))
    again = run_experiment(cfg)
    assert (again.value >= 0).all()
    pd.testing.assert_frame_equal(comparable(again), comparable(table))


def test_unit_key_covers_every_setting(monkeypatch, tmp_path):
    import neurobridge
    from neurobridge.experiments.digits import EXPERIMENT
    from neurobridge.experiments.units import run_settings

    def key(cfg, method="bridge-ot", fraction=0.1, seed=0):
        return unit_key(run_settings(EXPERIMENT, cfg), method, fraction, seed)

    base = config(tmp_path)
    reference = key(base)
    assert key(config(tmp_path, jobs=3)) == reference
    assert key(config(tmp_path, methods=("ridge",), seeds=(5,))) == reference
    changed = {
        "method": key(base, method="exemplar"), "fraction": key(base, fraction=0.2), "seed": key(base, seed=1),
        "split_seed": key(config(tmp_path, split_seed=1)), "model_seed": key(config(tmp_path, model_seed=1)),
        "threads": key(config(tmp_path, threads=2)),
    }
    slow = config(tmp_path)
    slow.quick = False
    changed["quick"] = key(slow)
    monkeypatch.setattr("neurobridge.experiments.digits.FLOW_QUICK", {**EXPERIMENT.flow(base), "steps": 7})
    changed["flow"] = key(base)
    monkeypatch.undo()
    monkeypatch.setattr(neurobridge, "__version__", "99.0")
    changed["version"] = key(base)
    assert all(value != reference for value in changed.values()), changed
    assert len(set(changed.values())) == len(changed)


def test_a_failed_unit_is_recorded_with_its_reason_and_retried(tmp_path, monkeypatch, capsys):
    from neurobridge.experiments import methods

    def boom(self, *args, **kwargs):
        raise RuntimeError("boom: the classifier would not converge")

    out = tmp_path / "out"
    monkeypatch.setattr(methods.EndToEndMethod, "fit", boom)
    with pytest.raises(UnitsFailed, match="e2e-logreg f=0.05 seed=0: RuntimeError: boom"):
        run_experiment(config(out, fractions=(0.05,), seeds=(0,)))
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures.method) == ["e2e-logreg"] and "would not converge" in failures.reason[0]
    table = pd.read_csv(out / "results.csv")
    assert set(table.method) == {"ridge"}
    monkeypatch.undo()
    table = run_experiment(config(out, fractions=(0.05,), seeds=(0,)))
    assert set(table.method) == {"ridge", "e2e-logreg"} and not (out / "failures.csv").exists()

    from neurobridge.cli import main

    monkeypatch.setattr(methods.EndToEndMethod, "fit", boom)
    assert main(["run", "digits", "--quick", "--methods", "e2e-logreg", "--fractions", "0.2", "--seeds", "0",
                 "--out", str(out), "--no-progress", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "1 unit FAILED" in err and "boom" in err and "failures.csv" in err


def test_a_nan_metric_stays_nan_and_is_not_taken_for_not_run(tmp_path):
    store = ResultStore(tmp_path, "toy")
    store.add("m", 0.1, 0, {"acc": float("nan"), "n": 3, "skipped": None})
    table = store.write()
    assert set(table.metric) == {"acc", "n"}
    assert "nan" in (tmp_path / "results.csv").read_text()
    again = pd.read_csv(tmp_path / "results.csv")
    assert np.isnan(again[again.metric == "acc"].value.iloc[0])
    assert "nan ± 0.000" in format_summary(table)


def test_outputs_are_readable_by_group_and_others(tmp_path):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "out"
        run_experiment(config(out, methods=("ridge",), fractions=(0.05,), seeds=(0,)))
    finally:
        os.umask(previous)
    files = [out / name for name in ("results.csv", "results.nc", "timings.csv", "run.json")]
    files += list((out / "units").glob("*.json")) + list((out / "figures").glob("*.png")) + list((out / "plots").glob("*.png"))
    assert len(files) > 6
    for path in files:
        assert path.stat().st_mode & 0o044 == 0o044, (path, oct(path.stat().st_mode))


def test_timings_are_stored_and_printed_per_phase(tmp_path, capsys, short_flows):
    out = tmp_path / "out"
    run_experiment(config(out, methods=("supervised-flow", "ridge", "e2e-logreg"), fractions=(0.05,), seeds=(0,)), echo=True)
    timings = pd.read_csv(out / "timings.csv")
    assert list(timings.columns) == ["experiment", "method", "fraction", "seed", "phase", "seconds"]
    phases = timings.groupby("method").phase.apply(set)
    assert {"flows", "evaluation", "bridges"} <= phases["supervised-flow"]
    assert "baselines" in phases["ridge"] and "baselines" in phases["e2e-logreg"]
    assert {"reference models", "figures"} <= phases["(setup)"]
    assert (timings.seconds >= 0).all()
    printed = capsys.readouterr().out
    assert "time per phase" in printed and "flows" in printed and "baselines" in printed


def test_every_method_sees_the_same_bridges(tmp_path, monkeypatch, short_flows):
    from neurobridge.experiments import methods, units

    seen = []
    real = methods.build_method

    def spy(name, **kwargs):
        method = real(name, **kwargs)
        fit = method.fit

        def recording_fit(source, target, bridges):
            seen.append((name, kwargs["seed"], bridges.n_source, tuple(bridges.source_index), tuple(bridges.target_index)))
            return fit(source, target, bridges)

        method.fit = recording_fit
        return method

    monkeypatch.setattr(units, "build_method", spy)
    run_experiment(config(tmp_path, methods=("supervised-flow", "ridge", "pls", "e2e-logreg"), fractions=(0.05,)))
    first = {}
    for seed in (0, 1):
        records = [(name, i, j) for name, s, _, i, j in seen if s == seed]
        assert {name for name, _, _ in records} == {"supervised-flow", "ridge", "pls", "e2e-logreg"}
        (forward,) = {(i, j) for name, i, j in records if name == "e2e-logreg"}
        i, j = forward
        assert len(i) > 0
        assert {(a, b) for _, a, b in records} == {(i, j), (j, i)}, "one bridge set per seed (reversed for generation)"
        first[seed] = i
    assert first[0] != first[1]


def test_method_table_builds_every_kind_and_rejects_unknown_names():
    from neurobridge.experiments.methods import (
        EndToEndMethod,
        FlowMethod,
        MapMethod,
        ReferenceMethod,
        build_method,
        flow_method_names,
        method_kind,
    )

    assert isinstance(build_method("bridge-ot"), FlowMethod) and build_method("supervised-flow").coupling == "supervised"
    assert isinstance(build_method("ridge"), MapMethod) and isinstance(build_method("e2e-cnn"), EndToEndMethod)
    assert isinstance(build_method("model-layer"), ReferenceMethod)
    assert {"bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "gw"} <= set(flow_method_names())
    assert "supervised" not in flow_method_names()
    with pytest.raises(ValueError, match=r"unknown method 'fused-vae'; valid methods: .*e2e-fused-vae"):
        method_kind("fused-vae")


def test_run_experiment_checks_methods_and_options_before_any_unit(tmp_path):
    with pytest.raises(ValueError, match=r"unknown method 'lasso' for digits; valid methods: .*ridge"):
        run_experiment(config(tmp_path / "a", methods=("ridge", "lasso")))
    with pytest.raises(ValueError, match=r"unknown option 'split' for digits"):
        run_experiment(config(tmp_path / "b", split=1))
    with pytest.raises(ValueError, match=r"unknown experiment 'cifar'"):
        run_experiment(RunConfig("cifar", (0.1,), (0,), ("ridge",), tmp_path / "c"))
    assert not any((tmp_path / name).exists() for name in "abc")


def test_run_one_runs_a_unit_for_any_driver(tmp_path):
    from neurobridge.experiments.driver import open_run, run_one

    cfg = config(tmp_path, methods=("e2e-logreg",), fractions=(0.05,), seeds=(0,))
    open_run(cfg)
    assert run_one("digits", cfg, "e2e-logreg", 0.05, 0) is True
    assert run_one("digits", cfg, "e2e-logreg", 0.05, 0) is False
    unit = tmp_path / "units" / "digits__e2e-logreg__0.05__0.json"
    stamp = unit.stat().st_mtime_ns
    table = run_experiment(cfg)
    assert unit.stat().st_mtime_ns == stamp and set(table.method) == {"e2e-logreg"}


def test_a_new_coupling_name_becomes_a_flow_method(monkeypatch):
    from neurobridge.couplings import METHODS, MapRefinedCoupling
    from neurobridge.experiments.methods import FlowMethod, build_method
    from neurobridge.experiments.registry import EXPERIMENTS

    monkeypatch.setitem(METHODS, "my-coupling", MapRefinedCoupling)
    method = build_method("my-coupling", seed=3, flow={"steps": 5})
    assert isinstance(method, FlowMethod) and method.coupling == "my-coupling" and method.flow == {"steps": 5}
    for spec in EXPERIMENTS.values():
        assert "my-coupling" in spec.valid_methods()


def test_targets_met_and_missed():
    from neurobridge.experiments.targets import check_targets, format_targets

    rows = []

    def add(method, fraction, metric, value):
        rows.append({"experiment": "digits", "method": method, "fraction": fraction, "seed": 0, "metric": metric, "value": value})

    for fraction, mine, e2e, sup in ((0.01, 0.7, 0.6, 0.5), (0.2, 0.85, 0.855, 0.9), (1.0, 0.9, 0.95, 0.9)):
        add("bridge-ot", fraction, "recognition_accuracy", mine)
        add("e2e-cnn", fraction, "recognition_accuracy", e2e)
        add("e2e-logreg", fraction, "recognition_accuracy", e2e - 0.1)
        add("supervised-flow", fraction, "recognition_accuracy", sup)
    add("bridge-ot", 0.1, "generation_accuracy", 0.89)
    add("bridge-ot", 0.1, "generation_frechet", 70.0)
    add("e2e-fused-vae", 0.1, "generation_frechet", 80.0)
    verdicts = {(r["target"], r["fraction"]): r["met"] for r in check_targets(pd.DataFrame(rows))}
    assert verdicts == {
        ("recognition beats end-to-end (e2e-cnn)", 0.01): True,
        ("flow beats the supervised-only flow", 0.01): True,
        ("recognition within 1 point of end-to-end (e2e-cnn)", 0.2): True,
        ("flow beats the supervised-only flow", 0.2): False,
        ("recognition within 1 point of the supervised upper bound (e2e-cnn)", 1.0): False,
        ("generation: classifier recognises >= 90 %", 0.1): False,
        ("generation: Frechet distance <= fused VAE's", 0.1): True,
    }
    text = format_targets(pd.DataFrame(rows))
    assert text.count("| met |") == 4 and text.count("| MISSED |") == 3
    assert format_targets(pd.DataFrame(rows[:0], columns=list(rows[0]))) == "(no target can be checked from this table)"


def test_report_prints_the_targets_of_the_default_and_the_papers_method(tmp_path, capsys):
    from neurobridge.cli import main

    rows = []
    for method, value in (("auto", 0.9), ("bridge-ot", 0.7), ("e2e-cnn", 0.8), ("supervised-flow", 0.6)):
        rows.append({"experiment": "digits", "method": method, "fraction": 0.05, "seed": 0,
                     "metric": "recognition_accuracy", "value": value})
    path = tmp_path / "results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    auto = out.split("targets of auto")[1].split("targets of bridge-ot")[0]
    paper = out.split("targets of bridge-ot")[1]
    assert "| target | fraction | auto |" in auto and auto.count("| met |") == 2
    assert "| target | fraction | bridge-ot |" in paper and paper.count("| MISSED |") == 1


def test_default_digits_table_holds_every_row_the_targets_read_and_all_runs_every_method(tmp_path):
    from neurobridge.experiments.cli import _make_config
    from neurobridge.experiments.registry import EXPERIMENTS
    from neurobridge.experiments.targets import METHODS_CHECKED

    spec = EXPERIMENTS["digits"]
    default = _make_config("digits", None, None, None, False, tmp_path, "cpu", False, True, {})
    assert set(METHODS_CHECKED) | {"supervised-flow", "e2e-fused-vae", "e2e-cnn", "e2e-logreg"} <= set(default.methods)
    assert len(default.methods) < len(spec.methods)
    everything = _make_config("digits", None, None, ("all",), False, tmp_path, "cpu", False, True, {})
    assert everything.methods == spec.methods and len(everything.methods) == 13
    assert everything.fractions == default.fractions and everything.seeds == (0, 1, 2)
    with pytest.raises(ValueError, match="unknown method 'al'"):
        _make_config("digits", None, None, ("al",), False, tmp_path, "cpu", False, True, {})


def test_flow_method_reads_the_couplings_selection():
    from types import SimpleNamespace

    from neurobridge.experiments.methods import FlowMethod

    method = FlowMethod("auto")
    log = {"selected": "geodesic", "selection": {"bridge-ot": {"mean": 0.8, "sd": 0.1, "scores": [0.7, 0.9], "chosen": False},
                                                 "geodesic": {"mean": 0.9, "sd": 0.05, "scores": [0.85, 0.95], "chosen": True}}}
    method.aligner_ = SimpleNamespace(coupling_=SimpleNamespace(log=log))
    assert method.selection() == [{"candidate": "bridge-ot", "mean": 0.8, "sd": 0.1, "chosen": False},
                                  {"candidate": "geodesic", "mean": 0.9, "sd": 0.05, "chosen": True}]
    method.aligner_ = SimpleNamespace(coupling_=SimpleNamespace(log={}))
    assert method.selection() == []


def test_selection_is_stored_per_unit_and_direction_and_reported(tmp_path, monkeypatch, capsys, short_flows):
    from neurobridge.cli import main
    from neurobridge.experiments.methods import FlowMethod
    from neurobridge.experiments.results import SELECTION_COLUMNS

    def fake_selection(self):
        chosen = "bridge-ot" if self.seed == 0 else "geodesic"
        return [{"candidate": c, "mean": 0.5 + 0.1 * (c == chosen), "sd": 0.01, "chosen": c == chosen} for c in ("bridge-ot", "geodesic")]

    monkeypatch.setattr(FlowMethod, "selection", fake_selection)
    out = tmp_path / "out"
    run_experiment(config(out, methods=("supervised-flow", "ridge"), fractions=(0.05,), seeds=(0, 1)))
    table = pd.read_csv(out / "selection.csv")
    assert list(table.columns) == SELECTION_COLUMNS
    assert len(table) == 2 * 2 * 2 and set(table.method) == {"supervised-flow"}
    assert set(table.direction) == {"recognition", "generation"}
    winners = table[table.chosen].groupby("seed").candidate.agg(set)
    assert winners[0] == {"bridge-ot"} and winners[1] == {"geodesic"}
    assert not list(out.glob("*.tmp*")) and not list(out.glob(".*tmp*"))
    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    block = printed.split("couplings supervised-flow chose")[1]
    assert "f=0.05" in block and block.count("bridge-ot x1, geodesic x1") == 2


def test_units_start_with_the_expensive_methods(tmp_path, monkeypatch):
    from neurobridge.experiments import units
    from neurobridge.experiments.methods import cost_rank

    assert cost_rank("auto") < cost_rank("bridge-ot") == cost_rank("supervised-flow") < cost_rank("e2e-cnn") < cost_rank("ridge")
    claimed = []

    class Store:
        def done(self, method, fraction, seed):
            return (method, fraction, seed) == ("e2e-logreg", 0.05, 1)

        def claim(self, method, fraction, seed):
            claimed.append((method, fraction, seed))
            return False

        def add_phase(self, *args):
            pass

    monkeypatch.setattr(units, "context_for", lambda *args: (None, 0.0))
    cfg = config(tmp_path, methods=("ridge", "e2e-logreg", "supervised-flow", "auto"), fractions=(0.05, 0.2), seeds=(0, 1))
    units.run_units(None, cfg, Store(), {})
    assert [m for m, _, _ in claimed] == ["auto"] * 4 + ["supervised-flow"] * 4 + ["e2e-logreg"] * 3 + ["ridge"] * 4
    assert claimed[:4] == [("auto", 0.05, 0), ("auto", 0.05, 1), ("auto", 0.2, 0), ("auto", 0.2, 1)]


def test_report_names_a_malformed_selection_table(tmp_path, monkeypatch):
    from neurobridge.cli import main

    pd.DataFrame([{"experiment": "digits", "method": "auto", "fraction": 0.05, "seed": 0, "metric": "recognition_accuracy",
                   "value": 0.9}]).to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "selection.csv").write_text("experiment,method\ndigits,auto\n")
    monkeypatch.setenv("NEUROBRIDGE_DEBUG", "1")
    with pytest.raises(ValueError, match="selection.csv is not a neurobridge selection table: missing columns"):
        main(["report", str(tmp_path)])


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.split()[1:2] == ["Z"] for line in status if line.startswith("State:"))
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux) to watch the worker")
def test_a_pool_worker_stops_when_its_driver_is_killed(tmp_path):
    """A driver killed by SIGKILL must not leave its workers running (they are not daemons)."""
    import signal
    import subprocess
    import sys

    worker = ("import os, sys, time\n"
              "from neurobridge.experiments.driver import exit_with_parent\n"
              "exit_with_parent(os.getppid(), interval=0.2)\n"
              "print(os.getpid(), flush=True)\n"
              "time.sleep(60)\n")
    driver = (f"import subprocess, sys, time\n"
              f"child = subprocess.Popen([sys.executable, '-c', {worker!r}], stdout=sys.stdout)\n"
              f"time.sleep(60)\n")
    middle = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True)
    try:
        child = int(middle.stdout.readline())
        assert not _gone(child)
        middle.send_signal(signal.SIGKILL)
        middle.wait(10)
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), "the worker outlived its killed driver"
    finally:
        middle.kill()
