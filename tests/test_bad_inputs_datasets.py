"""Bad files and arguments for the data loaders: a corrupt features file names the file; bad n or seed for mnist is
refused before anything is read."""
from __future__ import annotations

import re

import numpy as np
import pytest

from neurobridge.assemblies import AssemblyError, make_assembly, write_netcdf
from neurobridge.datasets.features import load_features
from neurobridge.datasets.mnist import load_mnist


@pytest.fixture
def good_nc(tmp_path):
    path = tmp_path / "feats.nc"
    write_netcdf(make_assembly(np.arange(12.0).reshape(4, 3)), path)
    return path


@pytest.mark.parametrize("keep", [0.5, 0.1], ids=["half", "header-only"])
def test_truncated_netcdf_names_the_file(good_nc, keep):
    raw = good_nc.read_bytes()
    good_nc.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(AssemblyError, match=rf"{re.escape(str(good_nc))}.*(corrupt|truncated)"):
        load_features(good_nc)


def test_text_file_named_nc(tmp_path):
    path = tmp_path / "notes.nc"
    path.write_text("these are not features\n")
    with pytest.raises(AssemblyError, match=rf"{re.escape(str(path))}.*(not a NetCDF|not NetCDF|as NetCDF)"):
        load_features(path)


def test_truncated_npz_names_the_file(tmp_path):
    path = tmp_path / "feats.npz"
    np.savez(path, features=np.ones((10, 4)), labels=np.arange(10))
    path.write_bytes(path.read_bytes()[:150])
    with pytest.raises(AssemblyError, match=rf"features: {path} cannot be read as .npz"):
        load_features(path)


def test_pickled_npy_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "feats.npy"
    np.save(path, np.array([{"a": 1}, {"b": 2}], dtype=object), allow_pickle=True)
    with pytest.raises(AssemblyError, match=rf"features: {path} cannot be read as .npy .*never pickles"):
        load_features(path)


def test_string_features_are_refused(tmp_path):
    path = tmp_path / "feats.npy"
    np.save(path, np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(AssemblyError, match=rf"features: {path} holds an array of dtype <U1; features must be numbers"):
        load_features(path)


def test_inf_features_name_the_file(tmp_path):
    path = tmp_path / "feats.npy"
    values = np.ones((3, 2))
    values[1, 1] = np.inf
    np.save(path, values)
    with pytest.raises(AssemblyError, match=rf"features: {path}: assembly contains 0 NaN and 1 infinite values"):
        load_features(path)


def test_missing_labels_file(tmp_path):
    path = tmp_path / "feats.npy"
    np.save(path, np.ones((3, 2)))
    with pytest.raises(FileNotFoundError, match=rf"features: no labels file at {tmp_path / 'labels.txt'}"):
        load_features(path, labels=tmp_path / "labels.txt")


def test_corrupt_labels_file(tmp_path):
    path = tmp_path / "feats.npy"
    np.save(path, np.ones((3, 2)))
    labels = tmp_path / "labels.npy"
    labels.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(AssemblyError, match=rf"features: labels file {labels} cannot be read"):
        load_features(path, labels=labels)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"n": True}, TypeError, r"mnist: n \(the number of images\) must be an integer in \[1, 10000\] or None; got True"),
        ({"n": 1.5}, TypeError, r"mnist: n \(the number of images\) must be an integer .*got 1.5"),
        ({"n": "100"}, TypeError, r"mnist: n \(the number of images\) must be an integer .*got '100'"),
        ({"n": 0}, ValueError, r"mnist: n \(the number of images\) must be an integer in \[1, 10000\]; got 0"),
        ({"n": 10001}, ValueError, r"mnist: n \(the number of images\) must be an integer in \[1, 10000\]; got 10001"),
        ({"n": 10, "seed": -1}, ValueError, r"mnist: seed must be a non-negative integer; got -1"),
        ({"n": 10, "seed": 0.5}, TypeError, r"mnist: seed must be a non-negative integer or None; got 0.5"),
    ],
    ids=["n-bool", "n-float", "n-str", "n-zero", "n-too-big", "seed-negative", "seed-float"],
)
def test_mnist_arguments_are_checked_before_reading(kwargs, error, pattern, monkeypatch):
    import neurobridge.datasets.mnist as mnist

    def no_reading(*args, **kw):
        raise AssertionError("the files were read before the arguments were checked")

    monkeypatch.setattr(mnist, "resolve", no_reading)
    with pytest.raises(error, match=pattern):
        load_mnist("test", **kwargs)
