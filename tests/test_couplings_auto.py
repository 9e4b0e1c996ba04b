"""``auto``: the coupling chosen by validation over the bridges (issue 11, Deliver 4 and 7)."""
import numpy as np
import pytest
from sklearn.datasets import make_moons

from neurobridge.bridges import Bridges
from neurobridge.couplings import CouplingError
from neurobridge.couplings.methods import METHODS, AutoCoupling
from neurobridge.couplings.methods.auto import LABEL_CANDIDATES, PAIRED_CANDIDATES


def _linear_paired(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5))
    y = x @ rng.standard_normal((5, 7)) + 0.5 * rng.standard_normal((n, 7))
    order = rng.permutation(n)
    partner = np.argsort(order)
    src = np.sort(rng.choice(n, 30, replace=False))
    return x, y[order], Bridges.from_indices(src, partner[src], n_source=n, n_target=n, match="stimulus_id")


def _moons(n=240, seed=0):
    x, labels = make_moons(n, noise=0.06, random_state=seed)
    y = np.eye(2)[labels] + 0.15 * np.random.default_rng(seed).standard_normal((n, 2))
    return x, y, Bridges.from_labels(labels, labels, count=12, seed=seed)


FAST_PAIRED = ["map-refined", "regression-map", "bridge-ot-softmin", "bridge-ot", "supervised"]


def test_auto_picks_map_refined_on_a_paired_linear_problem_and_the_best_mean_score():
    x, y, bridges = _linear_paired()
    coupling = AutoCoupling(FAST_PAIRED, folds=3, validation_size=200).fit(x, y, bridges)
    selection = coupling.log["selection"]
    assert coupling.log["selected"] == "map-refined" and coupling.method == "map-refined"
    assert coupling.log["bridge_type"] == "paired" and coupling.log["score"] == "partner_retrieval"
    means = {name: row["mean"] for name, row in selection.items()}
    assert selection["map-refined"]["chosen"] and means["map-refined"] == max(means.values())
    assert all(len(row["scores"]) == 3 for row in selection.values())
    assert means["map-refined"] > means["bridge-ot"] + 0.3


def test_auto_never_picks_a_candidate_worse_on_held_out_bridges():
    x, y, bridges = _moons()
    names = ["bridge-ot", "geodesic", "label-spreading", "supervised"]
    strict = AutoCoupling(names, folds=3, tolerance=0.0).fit(x, y, bridges)
    selection = strict.log["selection"]
    assert strict.log["bridge_type"] == "label"
    assert all(selection[strict.log["selected"]]["mean"] >= row["mean"] for row in selection.values())
    assert sum(row["chosen"] for row in selection.values()) == 1
    tolerant = AutoCoupling(names, folds=3, tolerance=0.5).fit(x, y, bridges)
    chosen = tolerant.log["selected"]
    best = max(row["mean"] for row in tolerant.log["selection"].values())
    assert tolerant.log["selection"][chosen]["mean"] >= best - 0.5
    earlier = names[: names.index(chosen)]
    assert all(tolerant.log["selection"][name]["mean"] < best - 0.5 for name in earlier)


def test_default_candidates_follow_the_bridge_type():
    x, y, bridges = _moons(120)
    auto = AutoCoupling()
    assert list(auto._candidates(auto._kind(bridges))) == list(LABEL_CANDIDATES)
    xp, yp, paired = _linear_paired(100)
    assert list(auto._candidates(auto._kind(paired))) == list(PAIRED_CANDIDATES)
    assert "label-spreading" not in PAIRED_CANDIDATES


def test_folds_keep_each_target_point_in_one_fold():
    x, y, bridges = _moons(120)
    many_to_one = Bridges.from_indices([0, 1, 2, 3, 4, 5], [7, 7, 8, 8, 9, 9], labels=[0, 0, 1, 1, 0, 0], n_source=120, n_target=120, match="label")
    fold = AutoCoupling(folds=3).fold_ids(many_to_one)
    assert fold[0] == fold[1] and fold[2] == fold[3] and fold[4] == fold[5]
    assert len(set(fold.tolist())) == 3


def test_auto_is_deterministic():
    x, y, bridges = _linear_paired(200, seed=2)
    a = AutoCoupling(["map-refined", "bridge-ot-softmin"], validation_size=120, seed=5).fit(x, y, bridges)
    b = AutoCoupling(["map-refined", "bridge-ot-softmin"], validation_size=120, seed=5).fit(x, y, bridges)
    strip = lambda sel: {name: {k: v for k, v in row.items() if k != "seconds"} for name, row in sel.items()}
    assert strip(a.log["selection"]) == strip(b.log["selection"])
    np.testing.assert_array_equal(a.plan_numpy(), b.plan_numpy())


def test_failing_candidate_drops_out_with_its_reason():
    x, y, bridges = _linear_paired(120)
    coupling = AutoCoupling(["label-spreading", "map-refined"], validation_size=100).fit(x, y, bridges)
    assert "match='label'" in coupling.log["selection"]["label-spreading"]["error"]
    assert coupling.log["selected"] == "map-refined"


def test_bad_parameters_are_named():
    x, y, bridges = _linear_paired(100)
    assert METHODS["auto"] is AutoCoupling
    with pytest.raises(CouplingError, match="folds"):
        AutoCoupling(folds=1).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="unknown candidates"):
        AutoCoupling(["ridge"]).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="tolerance"):
        AutoCoupling(tolerance=-0.1).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="bridge_type"):
        AutoCoupling(bridge_type="both").fit(x, y, bridges)
    with pytest.raises(CouplingError, match="needs bridge labels"):
        AutoCoupling(bridge_type="label").fit(x, y, bridges)


def test_bridges_to_a_single_target_fall_back_to_the_first_candidate_with_a_warning():
    x, y, _ = _linear_paired(60)
    one = Bridges.from_indices([0, 1, 2], [5, 5, 5], n_source=60, n_target=60, match="stimulus_id")
    with pytest.warns(RuntimeWarning, match="single target point"):
        coupling = AutoCoupling(["bridge-ot-softmin", "supervised"]).fit(x, y, one)
    assert coupling.log["selected"] == "bridge-ot-softmin" and coupling.log["selection"]["bridge-ot-softmin"]["chosen"]
