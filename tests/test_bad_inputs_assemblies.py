"""Bad assemblies: inf is treated like NaN, non-numbers are refused, time-bin positions must be integers."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurobridge.assemblies import AssemblyError, make_assembly, select_time_bin, validate


def _raw(values, dims=("presentation", "neuroid")):
    n = values.shape[0]
    return xr.DataArray(values, dims=dims, coords={"stimulus_id": ("presentation", [f"s{i}" for i in range(n)])})


@pytest.mark.parametrize(
    "bad, pattern",
    [
        (np.inf, r"it contains 0 NaN and 1 infinite values \(first stimuli affected: \['s2'\]\)"),
        (-np.inf, r"it contains 0 NaN and 1 infinite values"),
        (np.nan, r"it contains 1 NaN and 0 infinite values \(first stimuli affected: \['s2'\]\)"),
    ],
    ids=["inf", "minus-inf", "nan"],
)
def test_validate_treats_inf_like_nan(bad, pattern):
    values = np.ones((4, 3))
    values[2, 1] = bad
    with pytest.raises(AssemblyError, match=pattern):
        validate(_raw(values), name="it")
    assert validate(_raw(values), name="it", allow_nan=True).shape == (4, 3)


def test_make_assembly_refuses_inf():
    values = np.zeros((3, 2))
    values[0, 0] = np.inf
    with pytest.raises(AssemblyError, match=r"assembly contains 0 NaN and 1 infinite values"):
        make_assembly(values)


def test_validate_refuses_strings():
    with pytest.raises(AssemblyError, match=r"responses holds non-numeric values \(dtype <U1, e.g. 'a'\)"):
        validate(_raw(np.array([["a", "b"], ["c", "d"]])), name="responses")


def test_validate_converts_numeric_object_values():
    out = validate(_raw(np.array([[1, 2], [3, 4]], dtype=object)), name="responses")
    assert out.dtype == np.float64


def _binned():
    values = np.arange(12, dtype=float).reshape(2, 2, 3)
    da = _raw(values, dims=("presentation", "neuroid", "time_bin"))
    return da.assign_coords(time_bin_start=("time_bin", [0, 50, 100]), time_bin_end=("time_bin", [50, 100, 150]))


@pytest.mark.parametrize(
    "time_bin, pattern",
    [
        (True, r"time_bin must be an integer position.*got True \(bool\)"),
        (1.0, r"time_bin must be an integer position.*got 1.0 \(float\)"),
        ("first", r"time_bin must be an integer position.*got 'first'"),
        ((0, 50, 100), r"time_bin must be an integer position.*got \(0, 50, 100\)"),
    ],
    ids=["bool", "float", "string", "triple"],
)
def test_select_time_bin_positions_must_be_integers(time_bin, pattern):
    with pytest.raises(TypeError, match=pattern):
        select_time_bin(_binned(), time_bin)
    assert select_time_bin(_binned(), 1).values[0, 0] == 1.0
