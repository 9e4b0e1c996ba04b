"""NetCDF files the package writes carry HDF5 fletcher32 checksums; a flipped bit is an error naming the file."""
import h5py
import netCDF4
import numpy as np
import pytest

from neurobridge.assemblies import AssemblyError, make_assembly, read_netcdf, write_netcdf
from neurobridge.experiments.results import ResultStore


def _assembly(seed=0):
    rng = np.random.default_rng(seed)
    return make_assembly(rng.standard_normal((40, 12)), stimulus_id=[f"s{i}" for i in range(40)],
                         attrs={"shape": [8, 8], "note": "toy"}, name="responses")


def _flip_a_bit_in(path, values: np.ndarray):
    data = bytearray(path.read_bytes())
    raw = values.tobytes()
    start = data.find(raw)
    assert start >= 0, "the array's bytes are not stored contiguously"
    data[start + len(raw) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_flipped_bit_in_an_assembly_file_is_an_error_naming_it(tmp_path):
    assembly = _assembly()
    path = write_netcdf(assembly, tmp_path / "responses.nc")
    np.testing.assert_array_equal(read_netcdf(path).values, assembly.values)
    _flip_a_bit_in(path, assembly.values)
    with pytest.raises(AssemblyError, match="checksum") as err:
        read_netcdf(path)
    assert str(path) in str(err.value)


def test_results_nc_carries_checksums(tmp_path):
    store = ResultStore(tmp_path, "toy")
    store.add("m", 0.1, 0, {"acc": 0.5, "loss": 0.25})
    store.write()
    with h5py.File(tmp_path / "results.nc") as handle:
        numeric = [name for name in ("fraction", "seed", "value") if name in handle]
        assert numeric and all(handle[name].fletcher32 for name in numeric)


def test_a_broken_json_attribute_is_an_error_naming_file_and_attribute(tmp_path):
    path = write_netcdf(_assembly(), tmp_path / "responses.nc")
    with netCDF4.Dataset(path, "a") as handle:
        handle["responses"].setncattr("json:shape", "[8, 8")
    with pytest.raises(AssemblyError, match="json:shape") as err:
        read_netcdf(path)
    assert str(path) in str(err.value)
