"""Bridges say what they took (issue 21): a fraction is never silently inflated; messages name stratify_by=None."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurobridge import Bridges
from neurobridge.assemblies import make_assembly
from neurobridge.bridges import BridgeError


def _paired(n=25, n_objects=21, seed=0):
    """``n`` stimuli over ``n_objects`` objects (most objects once), as on the MajajHong2015 slice."""
    objects = np.array([f"obj{k % n_objects}" for k in range(n)])
    ids = [f"img{i}" for i in range(n)]
    rng = np.random.default_rng(seed)
    source = make_assembly(rng.standard_normal((n, 4)), stimulus_id=ids, presentation={"object_name": objects})
    target = make_assembly(rng.standard_normal((n, 3)), stimulus_id=ids, presentation={"object_name": objects})
    return source, target


def test_a_stratified_fraction_that_inflates_warns_with_the_number_and_the_way_out():
    source, target = _paired()
    with pytest.warns(UserWarning) as record:
        bridges = Bridges.sample(source, target, fraction=0.2, seed=0)
    message = str(record[0].message)
    assert bridges.K == 21  # every one of the 21 objects gets its min_per_class=1
    assert f"asks for {round(0.2 * 25)} bridges, but {bridges.K} were drawn" in message
    assert "84% labelled" in message and "'object_name' (21 classes)" in message and "stratify_by=None" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = Bridges.sample(source, target, fraction=0.2, seed=0, stratify_by=None)
    assert exact.K == 5


def test_a_fraction_that_does_not_inflate_is_quiet():
    source, target = _paired(n=40, n_objects=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bridges = Bridges.sample(source, target, fraction=0.2, seed=0)
    assert bridges.K == 8


def test_label_matched_inflation_warns_and_names_min_per_class():
    labels = np.array(["a"] * 20 + [f"r{k}" for k in range(6)])
    expected = round(0.1 * 20) + 6
    with pytest.warns(UserWarning, match=rf"asks for {round(0.1 * 26)} bridges, but {expected} were drawn.*min_per_class=0"):
        bridges = Bridges.from_labels(labels, labels, 0.1, seed=0)
    assert bridges.K == expected


def test_a_count_too_small_for_the_strata_names_stratify_by_none():
    source, target = _paired()
    with pytest.raises(BridgeError, match=r"count=6 is too small.*stratify_by=None \(an unstratified draw of exactly 6"):
        Bridges.sample(source, target, count=6, seed=0)
    assert Bridges.sample(source, target, count=6, seed=0, stratify_by=None).K == 6
