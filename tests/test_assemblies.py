import numpy as np
import pytest
import xarray as xr

from neurobridge import assemblies as A


def trial_assembly(n_stim=4, n_rep=3, n_neuroid=5, seed=0):
    rng = np.random.default_rng(seed)
    stim = np.repeat([f"s{i}" for i in range(n_stim)], n_rep)
    rep = np.tile(np.arange(n_rep), n_stim)
    return A.make_assembly(
        rng.normal(size=(n_stim * n_rep, n_neuroid)),
        stimulus_id=stim,
        presentation={"repetition": rep, "object_name": np.repeat([f"o{i % 2}" for i in range(n_stim)], n_rep)},
        neuroid={"region": np.array(["IT", "IT", "V4", "V4", "V4"][:n_neuroid])},
    )


def test_validate_transposes_and_copies_image_id():
    da = xr.DataArray(np.zeros((3, 2)), dims=("neuroid", "presentation"), coords={"image_id": ("presentation", ["a", "b"])})
    out = A.validate(da)
    assert out.dims == ("presentation", "neuroid")
    assert list(out.coords["stimulus_id"].values) == ["a", "b"]
    assert "neuroid_id" in out.coords


@pytest.mark.parametrize(
    "da, message",
    [
        (xr.DataArray(np.zeros((2, 2)), dims=("x", "neuroid")), "presentation"),
        (xr.DataArray(np.zeros((2, 2)), dims=("presentation", "neuroid")), "stimulus_id"),
        (xr.DataArray(np.full((2, 2), np.nan), dims=("presentation", "neuroid"), coords={"stimulus_id": ("presentation", ["a", "b"])}), "NaN"),
        (xr.DataArray(np.zeros((2, 2)), dims=("presentation", "neuroid"), coords={"stimulus_id": ("presentation", ["a", "a"])}), "duplicate stimulus_id"),
        (xr.DataArray(np.zeros((2, 2)), dims=("presentation", "neuroid"), coords={"stimulus_id": ("presentation", ["a", "b"]), "neuroid_id": ("neuroid", ["n", "n"])}), "duplicate neuroid_id"),
        (np.zeros((2, 2)), "xarray.DataArray"),
    ],
)
def test_validate_errors_name_the_problem(da, message):
    with pytest.raises(A.AssemblyError, match=message):
        A.validate(da)


def test_duplicate_trials_rejected():
    da = trial_assembly()
    da = da.assign_coords(repetition=("presentation", np.zeros(da.sizes["presentation"], int)))
    with pytest.raises(A.AssemblyError, match="repetition"):
        A.validate(da)


def test_average_repetitions_matches_groupby_mean():
    da = trial_assembly()
    avg = A.average_repetitions(da)
    assert avg.sizes["presentation"] == 4
    assert "repetition" not in avg.coords
    assert list(avg.coords["object_name"].values) == ["o0", "o1", "o0", "o1"]
    expected = da.to_pandas().groupby(da.coords["stimulus_id"].values).mean().loc[avg.coords["stimulus_id"].values]
    np.testing.assert_allclose(avg.values, expected.values, rtol=1e-12)
    assert not A.is_trial_level(avg) and A.is_trial_level(da)


def test_select_region_and_errors():
    da = trial_assembly()
    assert A.select_region(da, "V4").sizes["neuroid"] == 3
    with pytest.raises(A.AssemblyError, match="available regions"):
        A.select_region(da, "V1")


def test_select_time_bin():
    values = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    da = xr.DataArray(values, dims=("presentation", "neuroid", "time_bin"),
                      coords={"stimulus_id": ("presentation", ["a", "b"]), "time_bin_start": ("time_bin", [70, 170]), "time_bin_end": ("time_bin", [170, 270])})
    assert np.array_equal(A.select_time_bin(da, (170, 270)).values, values[..., 1])
    assert np.array_equal(A.select_time_bin(da, "mean").values, values.mean(-1))
    with pytest.raises(A.AssemblyError, match="2 time bins"):
        A.select_time_bin(da)
    with pytest.raises(A.AssemblyError, match="available"):
        A.select_time_bin(da, (0, 10))


def test_align_inner_join_in_first_order():
    a = A.make_assembly(np.arange(4)[:, None], stimulus_id=["d", "b", "a", "x"])
    b = A.make_assembly(np.arange(3)[:, None] * 10, stimulus_id=["a", "b", "d"])
    a2, b2 = A.align(a, b)
    assert list(a2.coords["stimulus_id"].values) == ["d", "b", "a"]
    assert list(b2.coords["stimulus_id"].values) == ["d", "b", "a"]
    assert list(b2.values[:, 0]) == [20, 10, 0]


def test_align_trial_level_repeats_the_other():
    trials = trial_assembly()
    features = A.make_assembly(np.arange(4)[:, None], stimulus_id=["s3", "s2", "s1", "s0"])
    f2, t2 = A.align(features, trials)
    assert f2.sizes["presentation"] == t2.sizes["presentation"] == 12
    assert np.array_equal(f2.coords["stimulus_id"].values, t2.coords["stimulus_id"].values)


def test_align_without_overlap_is_an_error():
    a = A.make_assembly(np.zeros((2, 1)), stimulus_id=["a", "b"])
    b = A.make_assembly(np.zeros((2, 1)), stimulus_id=["c", "d"])
    with pytest.raises(A.AssemblyError, match="share no stimulus_id"):
        A.align(a, b)


def test_flatten_pixels_round_trip():
    images = np.random.default_rng(0).random((3, 4, 5))
    flat = A.flatten_pixels(images, presentation={"label": [0, 1, 2]})
    assert flat.sizes["neuroid"] == 20
    np.testing.assert_array_equal(A.unflatten_pixels(flat), images)


def test_netcdf_round_trip_keeps_every_coord(tmp_path):
    da = trial_assembly()
    da.attrs["config"] = {"a": 1}
    da.attrs["note"] = "hello"
    path = A.write_netcdf(da, tmp_path / "x.nc")
    back = A.read_netcdf(path)
    np.testing.assert_array_equal(back.values, da.values)
    assert set(back.coords) == set(da.coords)
    for key in da.coords:
        assert back.coords[key].dims == da.coords[key].dims
        np.testing.assert_array_equal(back.coords[key].values, da.coords[key].values)
    assert back.attrs == {"config": {"a": 1}, "note": "hello"}
    assert not list(tmp_path.glob("*.part"))


def test_brainio_layout_round_trip(shared_data, tmp_path):
    source = shared_data("majajhong2015_slice25.nc")
    da = A.read_netcdf(source)
    assert da.dims == ("presentation", "neuroid", "time_bin")
    assert da.sizes == {"presentation": 700, "neuroid": 296, "time_bin": 1}
    back = A.read_netcdf(A.write_netcdf(da, tmp_path / "slice.nc"))
    for key in da.coords:
        np.testing.assert_array_equal(back.coords[key].values, da.coords[key].values)
    np.testing.assert_array_equal(back.values, da.values)
