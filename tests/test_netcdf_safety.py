"""NetCDF reading never crashes the interpreter; what we write stays plain NetCDF4.

The netCDF4 C library segfaults when a file with string variables is opened while another netCDF4 handle on the same
file is alive (netcdf4-python #1444, xarray #8289, #9093). The crash cases run in a subprocess, so a regression shows
as a failed exit status instead of killing the test session.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from neurobridge.assemblies import AssemblyError, make_assembly, read_netcdf, write_netcdf

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=300)


def _assembly() -> xr.DataArray:
    rng = np.random.default_rng(0)
    return make_assembly(
        rng.standard_normal((6, 4)),
        stimulus_id=[f"image_{i}" for i in range(6)],
        presentation={"object_name": np.array(["cat", "dog", "cat", "boat", "dog", "cat"], dtype=object), "label": np.arange(6) % 3},
        neuroid={"region": ["IT", "IT", "V4", "V4"]},
        name="responses",
        attrs={"dataset": "toy", "image_shape": [8, 8, 1], "seed": 3},
    )


@pytest.mark.realdata
def test_loading_while_the_file_is_held_open_does_not_crash(shared_data, tmp_path):
    path = shared_data("majajhong2015_slice25.nc")
    proc = _python(
        f"""
        import numpy as np, xarray as xr
        import neurobridge as nb
        held = xr.open_dataset({str(path)!r}, engine="netcdf4")
        loads = [nb.load("majajhong2015.slice25", region="IT") for _ in range(4)]
        assert all(a.shape == (25, 168) for a in loads), [a.shape for a in loads]
        assert all(np.array_equal(a.values, loads[0].values) for a in loads)
        assert held[list(held.data_vars)[0]].load().size > 0
        held.close()
        print("ok", nb.__file__)
        """,
        tmp_path,
        NEUROBRIDGE_DATA_PATH=str(path.parent),
    )
    assert proc.returncode == 0, f"exit status {proc.returncode} (-11 is a segmentation fault):\n{proc.stderr[-3000:]}"
    assert proc.stdout.startswith("ok") and str(ROOT) in proc.stdout


def test_our_file_read_while_held_by_netcdf4_does_not_crash(tmp_path):
    path = write_netcdf(_assembly(), tmp_path / "toy.nc")
    proc = _python(
        f"""
        import netCDF4, xarray as xr
        from neurobridge.assemblies import read_netcdf
        held = xr.open_dataset({str(path)!r}, engine="netcdf4")
        raw = netCDF4.Dataset({str(path)!r})
        for _ in range(4):
            assert read_netcdf({str(path)!r}).shape == (6, 4)
        raw.close(); held.close()
        print("ok")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, f"exit status {proc.returncode} (-11 is a segmentation fault):\n{proc.stderr[-3000:]}"


def test_written_file_is_netcdf4_read_by_plain_xarray_and_netcdf4(tmp_path):
    assembly = _assembly()
    path = write_netcdf(assembly, tmp_path / "toy.nc")
    with netCDF4.Dataset(path) as raw:
        assert raw.data_model == "NETCDF4"
        assert np.array_equal(raw.variables["responses"][:], assembly.values)
        assert list(raw.variables["stimulus_id"][:]) == list(assembly.stimulus_id.values)
        assert list(raw.variables["object_name"][:]) == ["cat", "dog", "cat", "boat", "dog", "cat"]
        assert json.loads(raw.variables["responses"].getncattr("json:image_shape")) == [8, 8, 1]
    for engine in (None, "netcdf4", "h5netcdf"):
        with xr.open_dataset(path, engine=engine) as ds:
            da = ds["responses"].load()
        np.testing.assert_array_equal(da.values, assembly.values)
        assert list(da.region.values) == ["IT", "IT", "V4", "V4"], engine
        assert list(da.label.values) == [0, 1, 2, 0, 1, 2], engine
    back = read_netcdf(path)
    np.testing.assert_array_equal(back.values, assembly.values)
    assert back.attrs == {"dataset": "toy", "image_shape": [8, 8, 1], "seed": 3}
    for key in ("stimulus_id", "neuroid_id", "object_name", "label", "region"):
        assert list(back[key].values) == list(assembly[key].values), key


def test_netcdf3_file_is_read(tmp_path):
    assembly = _assembly().drop_vars(["object_name", "region"])
    path = tmp_path / "classic.nc"
    assembly.astype(np.float64).to_netcdf(path, engine="scipy")
    assert path.read_bytes()[:3] == b"CDF"
    np.testing.assert_array_equal(read_netcdf(path).values, assembly.values)


def test_a_file_that_is_not_netcdf_is_named(tmp_path):
    path = tmp_path / "notes.nc"
    path.write_text("these are not responses")
    with pytest.raises(AssemblyError, match="not a NetCDF file") as info:
        read_netcdf(path)
    assert str(path) in str(info.value)


def test_a_truncated_netcdf_file_is_named(tmp_path):
    good = write_netcdf(_assembly(), tmp_path / "good.nc").read_bytes()
    path = tmp_path / "truncated.nc"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(AssemblyError, match="corrupt or truncated") as info:
        read_netcdf(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.nc"):
        read_netcdf(tmp_path / "missing.nc")


def test_missing_h5netcdf_is_a_clear_import_error(tmp_path, monkeypatch):
    path = write_netcdf(_assembly(), tmp_path / "toy.nc")
    monkeypatch.setitem(sys.modules, "h5netcdf", None)
    with pytest.raises(ImportError, match="pip install h5netcdf h5py") as info:
        read_netcdf(path)
    assert str(path) in str(info.value)
