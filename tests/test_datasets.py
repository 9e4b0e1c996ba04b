import numpy as np
import pytest

import neurobridge as nb
from neurobridge.datasets.download import verify_file
from neurobridge.datasets.manifests import get_manifest


@pytest.fixture(scope="module")
def slice_file(shared_data):
    return shared_data("majajhong2015_slice25.nc")


def test_majaj_slice_trial_level_shape(slice_file):
    trials = nb.load("majajhong2015.slice25", average=False)
    assert trials.sizes == {"presentation": 700, "neuroid": 296}
    regions = trials.coords["region"].values
    assert (regions == "IT").sum() == 168 and (regions == "V4").sum() == 128
    assert len(np.unique(trials.coords["stimulus_id"].values)) == 25
    assert sorted(np.unique(trials.coords["repetition"].values)) == list(range(28))


def test_majaj_slice_averaged_has_eight_categories(slice_file):
    it = nb.load("majajhong2015.slice25", region="IT")
    assert it.sizes == {"presentation": 25, "neuroid": 168}
    categories = it.coords["category_name"].values
    assert len(categories) == 25 and all(isinstance(c, str) and c for c in categories)
    assert len(set(categories)) == 8
    assert set(np.unique(it.coords["variation"].values)) == {0}
    trials = nb.load("majajhong2015.slice25", region="IT", average=False)
    sid = it.coords["stimulus_id"].values[3]
    np.testing.assert_allclose(it.sel(presentation=it.stimulus_id == sid).values[0],
                               trials.sel(presentation=trials.stimulus_id == sid).values.mean(0), rtol=1e-5)


def test_mnist_loads_with_verified_checksums(shared_data):
    shared_data("train-images-idx3-ubyte.gz")
    manifest = get_manifest("mnist")
    for entry in manifest.files:
        verify_file(entry, shared_data(entry.filename))
    train = nb.load("mnist", split="train")
    test = nb.load("mnist", split="test")
    assert train.sizes == {"presentation": 60000, "neuroid": 784}
    assert test.sizes == {"presentation": 10000, "neuroid": 784}
    assert sorted(np.unique(test.coords["label"].values)) == list(range(10))
    assert 0.0 <= float(test.min()) and float(test.max()) <= 1.0


def test_mnist_seeded_subset(shared_data):
    shared_data("t10k-images-idx3-ubyte.gz")
    a = nb.load("mnist", split="test", n=100, seed=3)
    b = nb.load("mnist", split="test", n=100, seed=3)
    assert a.sizes["presentation"] == 100
    np.testing.assert_array_equal(a.coords["stimulus_id"].values, b.coords["stimulus_id"].values)


def test_hvm_images_for_the_slice(slice_file):
    images = nb.load("hvm", size=16)
    assert images.sizes == {"presentation": 25, "neuroid": 256}
    assert len(set(images.coords["category_name"].values)) == 8


def test_digits_needs_no_files():
    digits = nb.load("digits")
    assert digits.sizes == {"presentation": 1797, "neuroid": 64}
    assert digits.attrs["dataset"] == "digits"


def test_features_from_npz_npy_and_nc(tmp_path):
    from neurobridge.assemblies import write_netcdf

    x = np.random.default_rng(0).normal(size=(6, 3))
    y = np.array([0, 1, 0, 1, 2, 2])
    np.savez(tmp_path / "f.npz", features=x, labels=y)
    a = nb.load("features", path=tmp_path / "f.npz")
    np.testing.assert_array_equal(a.coords["label"].values, y)
    np.save(tmp_path / "f.npy", x)
    b = nb.load("features", path=tmp_path / "f.npy", labels=y, label_coord="category_name")
    assert "category_name" in b.coords
    c = nb.load("features", path=write_netcdf(a, tmp_path / "f.nc"))
    np.testing.assert_allclose(c.values, x)
    with pytest.raises(ValueError, match="one label per row"):
        nb.load("features", path=tmp_path / "f.npy", labels=[0, 1])


def test_unknown_dataset_lists_available():
    with pytest.raises(KeyError, match="digits"):
        nb.load("imagenet")
