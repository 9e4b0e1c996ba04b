import numpy as np
import pandas as pd
import pytest

from neurobridge.assemblies import make_assembly
from neurobridge.bridges import BridgeError, Bridges


def _pair(n=200, n_classes=4, seed=0, shared=None):
    rng = np.random.default_rng(seed)
    labels = np.array([f"c{i % n_classes}" for i in range(n)])
    ids = np.array([f"s{i}" for i in range(n)])
    src = make_assembly(rng.normal(size=(n, 5)), stimulus_id=ids, presentation={"category_name": labels})
    order = rng.permutation(n) if shared is None else shared
    tgt = make_assembly(rng.normal(size=(len(order), 3)), stimulus_id=ids[order], presentation={"category_name": labels[order]})
    return src, tgt


def test_paired_bridges_share_stimuli_and_are_stratified():
    src, tgt = _pair()
    br = Bridges.sample(src, tgt, 0.1, match="stimulus_id", seed=3)
    s_ids = src.coords["stimulus_id"].values[br.source_index]
    t_ids = tgt.coords["stimulus_id"].values[br.target_index]
    assert (s_ids == t_ids).all()
    assert len(br) == 20
    assert dict(br.counts_per_class) == {f"c{i}": 5 for i in range(4)}
    assert (br.labels == src.coords["category_name"].values[br.source_index]).all()
    assert "K=20" in repr(br) and "stimulus_id" in repr(br)


def test_seed_controls_the_draw():
    src, tgt = _pair()
    a = Bridges.sample(src, tgt, 0.1, seed=1)
    b = Bridges.sample(src, tgt, 0.1, seed=1)
    c = Bridges.sample(src, tgt, 0.1, seed=2)
    assert np.array_equal(a.source_index, b.source_index)
    assert not np.array_equal(a.source_index, c.source_index)


def test_label_matched_bridges_pair_same_class():
    src, tgt = _pair(seed=1)
    br = Bridges.sample(src, tgt, match="category_name", count=13, seed=0)
    assert len(br) == 13 and int(br.counts_per_class.sum()) == 13
    assert (br.counts_per_class >= 1).all()
    sl = src.coords["category_name"].values[br.source_index]
    tl = tgt.coords["category_name"].values[br.target_index]
    assert (sl == tl).all() and (br.labels == sl).all()


def test_label_matching_with_prototypes_and_arrays():
    source_labels = np.repeat(np.arange(5), 20)
    target_labels = np.arange(5)
    br = Bridges.from_labels(source_labels, target_labels, 0.25, seed=0)
    assert len(br) == 25
    assert (target_labels[br.target_index] == source_labels[br.source_index]).all()


def test_partial_overlap_uses_shared_stimuli_only():
    src, tgt = _pair(shared=np.arange(50, 150))
    br = Bridges.sample(src, tgt, 1.0, seed=0)
    assert len(br) == 100
    assert set(br.source_index) == set(range(50, 150))


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan")])
def test_fraction_outside_unit_interval(fraction):
    src, tgt = _pair()
    with pytest.raises(BridgeError, match="fraction"):
        Bridges.sample(src, tgt, fraction)


def test_no_shared_stimuli():
    src, _ = _pair()
    other = make_assembly(np.zeros((3, 2)), stimulus_id=["x", "y", "z"])
    with pytest.raises(BridgeError, match="share no stimulus_id"):
        Bridges.sample(src, other, 0.5)


def test_class_without_target_exemplar():
    src, tgt = _pair()
    keep = np.flatnonzero(tgt.coords["category_name"].values != "c2")
    with pytest.raises(BridgeError, match="c2"):
        Bridges.sample(src, tgt.isel(presentation=keep), 0.1, match="category_name")
    br = Bridges.sample(src, tgt.isel(presentation=keep), 0.1, match="category_name", min_per_class=0)
    assert "c2" not in br.counts_per_class.index


def test_count_too_small_for_classes():
    src, tgt = _pair()
    with pytest.raises(BridgeError, match="count=3"):
        Bridges.sample(src, tgt, count=3)


def test_missing_label_coord_names_it():
    src, tgt = _pair()
    with pytest.raises(BridgeError, match="object_name"):
        Bridges.sample(src, tgt, 0.1, match="object_name")


def test_from_indices_and_exemplars():
    x = np.arange(20).reshape(10, 2)
    br = Bridges.from_indices([1, 4], [0, 3], labels=["a", "b"], n_source=10, n_target=5)
    assert np.array_equal(br.source_exemplars(x), x[[1, 4]])
    assert isinstance(br.counts_per_class, pd.Series)
    with pytest.raises(BridgeError, match="target_index"):
        Bridges.from_indices([1, 4], [0, 7], n_source=10, n_target=5)
