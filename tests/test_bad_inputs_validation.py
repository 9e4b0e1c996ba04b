"""Bad inputs to the shared checks of neurobridge._validation: each names the argument and what was wrong."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from neurobridge._validation import (
    check_float,
    check_images,
    check_int,
    check_labels,
    check_points,
    check_positions,
    check_seed,
)


def _with(value, row=2, col=1, shape=(5, 3)):
    x = np.ones(shape)
    x[row, col] = value
    return x


@pytest.mark.parametrize(
    "x, error, pattern",
    [
        (_with(np.nan), ValueError, r"source contains NaN or inf in 1 rows \(first rows: \[2\]\): 1 NaN and 0 infinite"),
        (_with(np.inf), ValueError, r"source contains NaN or inf in 1 rows .*0 NaN and 1 infinite"),
        (_with(-np.inf, row=4), ValueError, r"source .*first rows: \[4\]\): 0 NaN and 1 infinite"),
        (np.ones(5), ValueError, r"source must be 2-D .* got shape \(5,\)"),
        (np.ones((5, 0)), ValueError, r"source has shape \(5, 0\); it needs at least 1 point\(s\) and 1 feature"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, r"source must hold real numbers; got dtype <U1 \(strings"),
        (np.ones((2, 2), dtype=complex), TypeError, r"source must hold real numbers; got dtype complex128"),
        ("0.5", TypeError, r"source must be a numeric array.*got the string '0.5'"),
        ([[1.0, 2.0], [3.0]], TypeError, r"source must be a numeric array"),
    ],
    ids=["nan", "inf", "minus-inf", "1-D", "no-features", "strings", "complex", "a-string", "ragged"],
)
def test_check_points_rejects(x, error, pattern):
    with pytest.raises(error, match=pattern):
        check_points(x, "source")


def test_check_points_float32_overflow_has_its_own_message():
    x = _with(1e39)
    with pytest.raises(ValueError, match=r"target holds 1 finite values beyond float32's range .*largest 1e\+39") as info:
        check_points(x, "target", dtype=np.float32)
    assert "NaN" not in str(info.value)
    assert check_points(x, "target").dtype == np.float64


def test_check_points_assembly_with_inf_names_the_assembly():
    values = np.ones((4, 2))
    values[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"neural contains NaN or inf in 1 rows .*0 NaN and 1 infinite values"):
        check_points(xr.DataArray(values, dims=("presentation", "neuroid"), coords={"stimulus_id": ("presentation", list("abcd"))}), "neural")


def test_check_points_takes_a_half_precision_tensor():
    out = check_points(torch.ones(3, 2, dtype=torch.bfloat16), "x", dtype=np.float32)
    assert out.dtype == np.float32 and out.shape == (3, 2)


@pytest.mark.parametrize(
    "value, kwargs, error, pattern",
    [
        (True, {}, TypeError, r"steps must be an integer; got True \(bool\)"),
        (2.0, {}, TypeError, r"steps must be an integer; got 2.0 \(float\)"),
        ("10", {}, TypeError, r"steps must be an integer; got '10' \(str\) \(a string: convert it with int"),
        (0, {"low": 1}, ValueError, r"steps must be an integer >= 1; got 0"),
        (11, {"low": 1, "high": 10}, ValueError, r"steps must be an integer in \[1, 10\]; got 11"),
    ],
    ids=["bool", "float", "str", "below", "above"],
)
def test_check_int(value, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        check_int(value, "steps", **kwargs)


@pytest.mark.parametrize(
    "value, kwargs, error, pattern",
    [
        ("0.01", {"positive": True}, TypeError, r"epsilon must be a real number; got '0.01' \(str\) \(a string"),
        (True, {"positive": True}, TypeError, r"epsilon must be a real number; got True \(bool\)"),
        (0.0, {"positive": True}, ValueError, r"epsilon must lie in \(0.0, inf\]; got 0.0"),
        (float("nan"), {"positive": True}, ValueError, r"epsilon must be a finite number .*got nan"),
        (float("inf"), {}, ValueError, r"epsilon must be a finite number .*got inf"),
        (1.0, {"low": 0, "high": 1, "high_open": True}, ValueError, r"epsilon must lie in \[0, 1\); got 1.0"),
    ],
    ids=["str", "bool", "zero", "nan", "inf", "open-bound"],
)
def test_check_float(value, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        check_float(value, "epsilon", **kwargs)


@pytest.mark.parametrize(
    "seed, error, pattern",
    [
        (-1, ValueError, r"seed must be a non-negative integer; got -1"),
        (False, TypeError, r"seed must be a non-negative integer; got False \(bool\)"),
        (1.5, TypeError, r"seed must be a non-negative integer; got 1.5"),
        (None, TypeError, r"seed must be a non-negative integer; got None"),
    ],
    ids=["negative", "bool", "float", "none"],
)
def test_check_seed(seed, error, pattern):
    with pytest.raises(error, match=pattern):
        check_seed(seed)


@pytest.mark.parametrize(
    "index, error, pattern",
    [
        (np.array([0.0, 1.5]), TypeError, r"rows must hold integer positions; got dtype float64"),
        (np.array([True, False]), TypeError, r"rows must hold integer positions; got dtype bool \(a boolean mask"),
        (np.array([0, -1]), ValueError, r"rows has negative positions \(min -1\)"),
        (np.array([0, 9]), ValueError, r"rows has position 9 but there are only 5 points"),
        (np.zeros((2, 2), dtype=int), ValueError, r"rows must be 1-D integer positions; got shape \(2, 2\)"),
    ],
    ids=["float", "bool-mask", "negative", "out-of-range", "2-D"],
)
def test_check_positions(index, error, pattern):
    with pytest.raises(error, match=pattern):
        check_positions(index, 5, "rows")


@pytest.mark.parametrize(
    "labels, error, pattern",
    [
        (np.zeros((3, 2)), ValueError, r"targets must be 1-D \(one label per point\); got shape \(3, 2\)"),
        (np.zeros(4), ValueError, r"targets has 4 entries; expected 3, one per point"),
        (np.array([0.0, np.nan, 1.0]), ValueError, r"targets contains 1 NaN or infinite labels"),
        (None, TypeError, r"targets is None"),
    ],
    ids=["2-D", "length", "nan-label", "none"],
)
def test_check_labels(labels, error, pattern):
    with pytest.raises(error, match=pattern):
        check_labels(labels, 3, name="targets")


@pytest.mark.parametrize(
    "images, error, pattern",
    [
        (np.ones((2, 10)), ValueError, r"digits has shape \(2, 10\): cannot tell the image size of 10 pixels"),
        (_with(np.nan, row=1, shape=(2, 4, 4)), ValueError, r"digits contains NaN or inf in 1 rows"),
        (np.ones((2, 3, 4, 4)), ValueError, r"digits must have shape \(n, H, W\)"),
        (np.ones((0, 4, 4)), ValueError, r"digits is empty"),
    ],
    ids=["pixels", "nan", "channels", "empty"],
)
def test_check_images(images, error, pattern):
    with pytest.raises(error, match=pattern):
        check_images(images, "digits")


def test_checks_return_canonical_values():
    assert check_int(np.int64(3), "n") == 3 and type(check_int(np.int64(3), "n")) is int
    assert check_float(np.float32(0.5), "f", low=0, high=1) == 0.5
    assert check_seed(np.uint8(4)) == 4
    assert check_positions([2, 0], 3).dtype == np.int64
    assert check_images(np.ones((2, 64))).shape == (2, 8, 8)
