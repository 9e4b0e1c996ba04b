"""The experiments CI runs: digits --quick, mnist --quick, majaj on the real slice, text-image --quick."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.driver import run_experiment
from neurobridge.experiments.registry import EXPERIMENTS
from neurobridge.experiments.results import COLUMNS, ResultStore, format_summary


def quick(name, out, **options):
    spec = EXPERIMENTS[name]
    d = spec.quick_defaults
    return RunConfig(name, d["fractions"], d["seeds"], d["methods"], out, quick=True, progress=False, options=options)


def check_table(table, name, methods):
    assert list(table.columns) == COLUMNS
    mine = table[table.experiment == name]
    assert set(mine.method) == set(methods)
    assert np.isfinite(mine.value).all()
    return mine


def test_digits_quick_runs_every_method_and_resumes(tmp_path):
    config = quick("digits", tmp_path, jobs=2)
    table = run_experiment(config)
    mine = check_table(table, "digits", config.methods)
    acc = mine[mine.metric == "recognition_accuracy"]
    assert (acc.value > 0.3).all(), acc
    by_fraction = acc.pivot_table(index="method", columns="fraction", values="value")
    flows = by_fraction.loc[["bridge-ot", "exemplar", "supervised-flow"]].min()
    maps = by_fraction.loc[["ridge"]].max()
    assert (flows > maps + 0.2).all(), by_fraction
    assert set(mine[mine.metric == "generation_accuracy"].method) >= {"bridge-ot", "e2e-fused-vae"}
    assert (tmp_path / "results.csv").is_file() and (tmp_path / "results.nc").is_file()
    assert (tmp_path / "plots" / "digits_recognition_accuracy.png").is_file()
    assert list((tmp_path / "figures").glob("digits_generated_bridge-ot_*.png"))
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "units").glob("*.json")}
    again = run_experiment(config)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "units").glob("*.json")} == stamp
    pd.testing.assert_frame_equal(again, table)


def test_mnist_quick(tmp_path, shared_data):
    shared_data("train-images-idx3-ubyte.gz")
    config = quick("mnist", tmp_path, jobs=1)
    mine = check_table(run_experiment(config), "mnist", config.methods)
    acc = mine[mine.metric == "recognition_accuracy"].set_index("method").value
    assert acc["e2e-logreg"] > 0.6 and acc["bridge-ot"] > 0.3


@pytest.fixture(scope="module")
def majaj_quick(tmp_path_factory, shared_data):
    """``neurobridge run majaj --quick`` on the real slice, once for the tests below: (table, stdout)."""
    shared_data("majajhong2015_slice25.nc")
    out_dir = tmp_path_factory.mktemp("majaj")
    out = subprocess.run([sys.executable, "-m", "neurobridge.cli", "run", "majaj", "--quick", "--out", str(out_dir), "--no-progress", "--jobs", "1"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return pd.read_csv(out_dir / "results.csv"), out.stdout


def test_majaj_on_the_slice_via_cli(majaj_quick):
    table, stdout = majaj_quick
    mine = check_table(table, "majaj", EXPERIMENTS["majaj"].quick_defaults["methods"])
    ceiling = mine[(mine.metric == "ceiling")].value.iloc[0]
    assert 0.3 < ceiling <= 1.0
    assert "category_accuracy" in stdout
    n_categories = 8
    category = mine[mine.metric == "category_accuracy"].set_index("method").value
    assert (category > 1.5 / n_categories).all(), category


@pytest.mark.xfail(strict=True, reason="measured: on the 25-image slice with the random-CNN target, single-trial image "
                   "identification of unseen stimuli is at chance for every method (bridge-ot 0.019, ridge 0.012, chance 0.04)")
def test_majaj_identification_above_chance(majaj_quick):
    table, _ = majaj_quick
    n_stimuli = 25
    top1 = table[(table.experiment == "majaj") & (table.metric == "image_top1")].set_index("method").value
    assert top1["bridge-ot"] > 2 / n_stimuli, top1


def test_text_image_quick(tmp_path):
    pytest.importorskip("sentence_transformers")
    config = quick("text-image", tmp_path, jobs=1)
    mine = check_table(run_experiment(config), "text-image", config.methods)
    assert (mine[mine.metric == "recognition_accuracy"].value > 0.2).all()


def test_summary_shows_mean_and_sd(tmp_path):
    store = ResultStore(tmp_path, "toy")
    store.add("m", 0.1, 0, {"acc": 0.5})
    store.add("m", 0.1, 1, {"acc": 0.7})
    text = format_summary(store.write())
    assert "0.600 ± 0.141" in text


def test_bad_fraction_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="fractions"):
        RunConfig("digits", (0.0,), (0,), ("ridge",), tmp_path)


def test_sweep_and_report_from_a_config(tmp_path, capsys):
    import json

    from neurobridge.cli import main

    config = tmp_path / "sweep.json"
    config.write_text(json.dumps({"out": str(tmp_path / "out"), "runs": [
        {"experiment": "digits", "fractions": [0.2], "seeds": [0, 1], "methods": ["ridge", "e2e-logreg"], "quick": True,
         "progress": False, "options": {"jobs": 1}},
    ]}))
    assert main(["sweep", str(config)]) == 0
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(table.method) == {"ridge", "e2e-logreg"} and set(table.seed) == {0, 1}
    assert main(["report", str(tmp_path / "out"), "--metrics", "recognition_accuracy"]) == 0
    out = capsys.readouterr().out
    assert "| e2e-logreg |" in out and "± " in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"runs": [{"experiment": "nope"}]}))
    assert main(["sweep", str(bad)]) == 2
    assert "runs[0].experiment must be one of" in capsys.readouterr().err


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    from neurobridge.cli import main

    assert main(["run", "digits", "--option", "split_seed=x", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: option split_seed must be a non-negative integer") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
