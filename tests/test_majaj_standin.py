"""The offline stand-in of majajhong2015.public (scripts/make_majaj_standin.py): layout, loaders, HvM zip, benchmarks.

A small version (128 images of 8 objects, 256 sites, 6 / 10 repetitions, 64-pixel images) is written once per
module into a temporary folder and found through ``NEUROBRIDGE_MANIFESTS`` (the stand-in's own manifest, with its
checksums) and ``NEUROBRIDGE_DATA_PATH``; the real manifests are not touched. The full size (3,200 images, 148,480
presentations) runs in the slow test.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from neurobridge.datasets import download, manifests

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.realdata


def _script():
    spec = importlib.util.spec_from_file_location("make_majaj_standin", ROOT / "scripts" / "make_majaj_standin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _use(folder: Path, home: Path, monkeypatch, *, brainio: bool = False):
    monkeypatch.setenv("NEUROBRIDGE_MANIFESTS", str(folder / "manifests"))
    shared = os.environ.get("NEUROBRIDGE_DATA_PATH", "")
    if brainio:
        monkeypatch.setenv("BRAINIO_HOME", str(folder))
        monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", shared)
    else:
        monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", os.pathsep.join(p for p in (str(folder), shared) if p))
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(home))
    monkeypatch.setenv("NEUROBRIDGE_OFFLINE", "1")


@pytest.fixture(scope="module")
def standin(tmp_path_factory, shared_data):
    shared_data("hvm_stimulus_meta.csv")
    folder = tmp_path_factory.mktemp("standin")
    script = _script()
    summary = script.make_standin(script._parse(["--out", str(folder), "--images", "128", "--objects", "8",
                                                  "--reps", "6,10", "--image-size", "64", "--seed", "3"]))
    return folder, summary


@pytest.fixture
def active(standin, tmp_path, monkeypatch):
    folder, summary = standin
    _use(folder, tmp_path / "home", monkeypatch)
    return folder, summary


def test_real_manifest_unchanged_and_standin_refused_without_opt_in(standin, tmp_path, monkeypatch):
    folder, _ = standin
    real = json.loads((ROOT / "data_manifests" / "majajhong2015.json").read_text())
    public = next(f for f in real["files"] if f["key"] == "public")
    assert public["checksum"] == {"algorithm": "sha1", "value": "13d28ca0ce88ee550b54db3004374ae19096e9b9"}
    monkeypatch.delenv("NEUROBRIDGE_MANIFESTS", raising=False)
    monkeypatch.setenv("NEUROBRIDGE_DATA_PATH", str(folder))
    monkeypatch.setenv("NEUROBRIDGE_HOME", str(tmp_path / "home"))
    with pytest.raises(manifests.DataError, match="checksum mismatch"):
        download.resolve("majajhong2015", "public", download=False)
    override = json.loads((folder / "manifests" / "majajhong2015.json").read_text())
    entry = next(f for f in override["files"] if f["key"] == "public")
    assert entry["standin"] and entry["checksum"]["value"] == hashlib.sha1((folder / entry["filename"]).read_bytes()).hexdigest()
    assert "STAND-IN" in override["description"]
    assert [f["key"] for f in override["files"]] == [f["key"] for f in real["files"]]


def test_netcdf_layout_matches_the_real_slice(active, shared_data):
    folder, summary = active
    with xr.open_dataset(folder / "assy_dicarlo_MajajHong2015_public.nc") as ds, \
            xr.open_dataset(shared_data("majajhong2015_slice25.nc")) as real:
        assert list(ds.data_vars) == ["dicarlo.MajajHong2015.public"]
        data = ds["dicarlo.MajajHong2015.public"]
        real_data = real[list(real.data_vars)[0]]
        assert data.dims == real_data.dims == ("neuroid", "presentation", "time_bin")
        assert data.dtype == real_data.dtype == np.float32
        assert set(ds.coords) == set(real.coords)
        for name in real.coords:
            assert ds[name].dims == real[name].dims and ds[name].dtype.kind == real[name].dtype.kind, name
        assert ds["neuroid_id"].dtype == real["neuroid_id"].dtype
        assert (ds.time_bin_start.values.tolist(), ds.time_bin_end.values.tolist()) == ([70], [170])
        assert data.sizes["neuroid"] == 256 and data.sizes["presentation"] == summary["presentations"]
        regions, counts = np.unique(ds.region.values, return_counts=True)
        assert dict(zip(regions, counts)) == {"IT": 168, "V4": 88}
        assert ds["neuroid_id"].to_index().is_unique


def test_loaders_find_and_join_it(active):
    import neurobridge as nb

    trials = nb.load("majajhong2015.public", region="IT", average=False)
    assert trials.sizes["neuroid"] == 168 and "repetition" in trials.coords
    averaged = nb.load("majajhong2015.public", region="V4")
    assert averaged.sizes == {"presentation": 128, "neuroid": 88}
    assert set(np.unique(averaged.variation.values)) <= {0, 3} and len(np.unique(averaged.object_name.values)) == 8
    reps = {v: len(np.unique(trials.repetition.values[trials.variation.values == v])) for v in np.unique(trials.variation.values)}
    assert all(reps[v] == {0: 6, 3: 10}[v] for v in reps)
    from neurobridge.cli import main

    assert main(["data", "verify", "majajhong2015/public", "majajhong2015/stimuli-public-zip"]) == 0


def test_realistic_reliability(active):
    import neurobridge as nb
    from neurobridge.evaluate import internal_consistency

    ceiling = internal_consistency(nb.load("majajhong2015.public", region="IT", average=False))
    assert 0.7 < ceiling.raw < 0.9


def test_hvm_zip_unpacks_once_with_labels(active):
    import neurobridge as nb

    folder, _ = active
    images = nb.load("hvm", variant="public", size=16, mode="RGB")
    assert images.sizes == {"presentation": 128, "neuroid": 16 * 16 * 3}
    assert len(np.unique(images.object_name.values)) == 8
    unpacks = list((Path(os.environ["NEUROBRIDGE_HOME"]) / "majajhong2015").glob("hvm-public-images-*"))
    assert len(unpacks) == 1, unpacks
    unpacked = unpacks[0]
    assert unpacked.is_dir() and len([p for p in unpacked.rglob("*.png")]) == 128
    stamp = unpacked.stat().st_mtime_ns
    nb.load("hvm", variant="public", size=8, mode="L")
    assert unpacked.stat().st_mtime_ns == stamp
    again = nb.load("hvm", variant="public", size=16, mode="RGB")
    np.testing.assert_array_equal(again.values, images.values)


def test_benchmarks_run_on_the_standin(active):
    from neurobridge import benchmarks
    from neurobridge.assemblies import make_assembly

    benchmark = benchmarks.load("majajhong2015.IT-pls")
    pixels = benchmark.load_stimuli(size=24, mode="RGB")
    weights = np.random.default_rng(0).standard_normal((pixels.sizes["neuroid"], 256)) / 40
    features = make_assembly(np.maximum(pixels.values @ weights, 0), stimulus_id=pixels.stimulus_id.values)
    result = benchmark(features)
    assert result.per_site.sizes["neuroid"] == 168 and 0.7 < result.ceiling < 0.9
    assert 0.05 < result.raw < result.ceiling
    shuffled = features.assign_coords(stimulus_id=("presentation", np.random.default_rng(1).permutation(features.stimulus_id.values)))
    assert benchmark(shuffled).raw < result.raw - 0.05
    ridge = benchmarks.load("majajhong2015.V4-ridge")(features)
    assert ridge.per_site.sizes["neuroid"] == 88 and np.isfinite(ridge.raw)


def test_brainio_cache_layout(standin, tmp_path, monkeypatch):
    folder = tmp_path / "brainio"
    script = _script()
    summary = script.make_standin(script._parse(["--out", str(folder), "--images", "16", "--objects", "2",
                                                  "--reps", "2,3", "--image-size", "32", "--brainio-layout"]))
    path = Path(summary["assy_dicarlo_MajajHong2015_public.nc"])
    assert path.parent.name == hashlib.sha1(path.read_bytes()).hexdigest() and path.parent.parent == folder
    _use(folder, tmp_path / "home", monkeypatch, brainio=True)
    assert download.resolve("majajhong2015", "public", download=False) == path
    import neurobridge as nb

    assert nb.load("majajhong2015.public", region="IT").sizes["presentation"] == 16


def test_bad_options(tmp_path):
    script = _script()
    for argv in (["--images", "10", "--objects", "8"], ["--objects", "65"], ["--reps", "1,3"], ["--ceiling", "1.5"]):
        with pytest.raises(SystemExit):
            script._parse(["--out", str(tmp_path), *argv])
    with pytest.raises(SystemExit, match="--sites expects two integers"):
        script._parse(["--out", str(tmp_path), "--sites", "168"])


@pytest.mark.slow
def test_full_size_standin_loads_and_scores(tmp_path, monkeypatch, shared_data):
    """3,200 images, 148,480 presentations, 256 sites: make, load, unpack the zip, score IT (times printed)."""
    import resource

    shared_data("hvm_stimulus_meta.csv")
    script = _script()
    start = time.perf_counter()
    summary = script.make_standin(script._parse(["--out", str(tmp_path / "full"), "--image-size", "128"]))
    made = time.perf_counter() - start
    assert (summary["images"], summary["presentations"], summary["sites"]) == (3200, 148480, 256)
    _use(tmp_path / "full", tmp_path / "home", monkeypatch)
    import neurobridge as nb
    from neurobridge import benchmarks
    from neurobridge.assemblies import make_assembly

    start = time.perf_counter()
    trials = nb.load("majajhong2015.public", average=False)
    assert trials.sizes == {"presentation": 148480, "neuroid": 256}
    benchmark = benchmarks.load("majajhong2015.IT-pls")
    pixels = benchmark.load_stimuli(size=16, mode="L")
    features = make_assembly(np.maximum(pixels.values @ np.random.default_rng(0).standard_normal((256, 512)) / 16, 0),
                             stimulus_id=pixels.stimulus_id.values)
    result = benchmark(features)
    scored = time.perf_counter() - start
    print(f"full stand-in: made in {made:.0f} s; load + unzip + IT-pls benchmark {scored:.0f} s; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; {result!r}")
    assert 0.7 < result.ceiling < 0.9 and result.raw > 0.05


@pytest.mark.slow
def test_neurobridge_run_majaj_on_the_small_standin(active, tmp_path):
    """``neurobridge run majaj --quick --option data=public`` end to end on the stand-in (about 100 s here)."""
    import pandas as pd

    from neurobridge.cli import main

    out = tmp_path / "majaj"
    assert main(["run", "majaj", "--quick", "--option", "data=public", "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    table = pd.read_csv(out / "results.csv")
    assert {"bridge-ot", "ridge", "model-layer"} <= set(table["method"])
    predictivity = table[table["metric"] == "neural_predictivity"]["value"]
    assert len(predictivity) and np.isfinite(predictivity).all()

    from neurobridge import benchmarks
    from neurobridge.experiments.config import RunConfig
    from neurobridge.experiments.majaj import model_layer, neural_data

    config = RunConfig("majaj", (0.4,), (0,), ("model-layer",), out, options={"data": "public"}, progress=False)
    stimuli = list(dict.fromkeys(neural_data(config).coords["stimulus_id"].values))
    expected = benchmarks.load("majajhong2015.IT-pls")(model_layer(config, stimuli))
    assert predictivity.to_numpy() == pytest.approx(expected.score, abs=1e-6)
