"""Bad arguments to Bridges: booleans and strings are not numbers, positions are integers, min_per_class holds."""
from __future__ import annotations

import numpy as np
import pytest

from neurobridge.bridges import BridgeError, Bridges

SOURCE = np.repeat(["a", "b", "c"], [10, 10, 2])
TARGET = np.repeat(["a", "b", "c"], [5, 5, 5])


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"fraction": True}, TypeError, r"fraction \(the labelled fraction\) must be a real number.*got True \(bool\)"),
        ({"fraction": "0.5"}, TypeError, r"fraction \(the labelled fraction\) must be a real number.*got '0.5'"),
        ({"fraction": 1.5}, BridgeError, r"fraction \(the labelled fraction\) must lie in \(0, 1\]; got 1.5.*count="),
        ({"fraction": float("nan")}, BridgeError, r"fraction \(the labelled fraction\) must be a finite number"),
        ({"count": True}, TypeError, r"count \(the number of bridges\) must be an integer.*got True \(bool\)"),
        ({"count": 4.0}, TypeError, r"count \(the number of bridges\) must be an integer.*got 4.0"),
        ({"fraction": 0.5, "seed": -3}, BridgeError, r"seed must be a non-negative integer; got -3"),
        ({"fraction": 0.5, "seed": True}, TypeError, r"seed must be a non-negative integer; got True \(bool\)"),
        ({"fraction": 0.5, "seed": "0"}, TypeError, r"seed must be a non-negative integer; got '0'"),
        ({"fraction": 0.5, "min_per_class": False}, TypeError, r"min_per_class must be an integer.*got False \(bool\)"),
    ],
    ids=["fraction-bool", "fraction-str", "fraction-big", "fraction-nan", "count-bool", "count-float",
         "seed-negative", "seed-bool", "seed-str", "min-per-class-bool"],
)
def test_sample_argument_types(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        Bridges.sample(SOURCE, TARGET, match="label", **kwargs)


def test_unmet_min_per_class_raises_with_a_fraction():
    with pytest.raises(BridgeError, match=r"min_per_class=3 cannot be met: 1 class\(es\) have fewer candidate points \('c': 2"):
        Bridges.sample(SOURCE, TARGET, 0.5, match="label", min_per_class=3)
    assert Bridges.sample(SOURCE, TARGET, 0.5, match="label", min_per_class=2).counts_per_class["c"] == 2


def test_unmet_min_per_class_raises_with_a_count():
    with pytest.raises(BridgeError, match=r"min_per_class=3 cannot be met: .*'c': 2"):
        Bridges.sample(SOURCE, TARGET, count=15, match="label", min_per_class=3)


@pytest.mark.parametrize(
    "source_index, error, pattern",
    [
        ([0.0, 1.7], TypeError, r"source_index must hold integer positions; got dtype float64"),
        ([True, False], TypeError, r"source_index must hold integer positions; got dtype bool"),
        ([0, 12], BridgeError, r"source_index has position 12 but there are only 10 points"),
        ([-1, 0], BridgeError, r"source_index has negative positions"),
    ],
    ids=["float", "bool", "out-of-range", "negative"],
)
def test_from_indices_positions_must_be_integers(source_index, error, pattern):
    with pytest.raises(error, match=pattern):
        Bridges.from_indices(source_index, [0, 1], n_source=10, n_target=10)
