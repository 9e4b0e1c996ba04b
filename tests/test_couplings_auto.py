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


def test_paired_auto_scores_held_out_predictions_and_picks_within_noise_of_the_best():
    x, y, bridges = _linear_paired()
    coupling = AutoCoupling(FAST_PAIRED, folds=3, validation_size=200).fit(x, y, bridges)
    selection = coupling.log["selection"]
    assert coupling.log["bridge_type"] == "paired" and coupling.log["score"] == "median_site_r"
    means = {name: row["mean"] for name, row in selection.items()}
    chosen = coupling.log["selected"]
    assert selection[chosen]["chosen"] and means[chosen] >= max(means.values()) - selection[chosen]["margin"]
    assert coupling.log["repeats"] == 2 and coupling.log["rule"] == "one-se"  # 30 bridges: 2 repeats reach 40 scored
    assert all(len(row["scores"]) == 3 * coupling.log["repeats"] for row in selection.values())
    assert means["map-refined"] > means["bridge-ot"]


def test_auto_never_picks_a_candidate_worse_on_held_out_bridges():
    x, y, bridges = _moons()
    names = ["bridge-ot", "geodesic", "label-spreading", "supervised"]
    strict = AutoCoupling(names, folds=3, repeats=1, rule="tolerance", tolerance=0.0).fit(x, y, bridges)
    selection = strict.log["selection"]
    assert strict.log["bridge_type"] == "label"
    assert all(selection[strict.log["selected"]]["mean"] >= row["mean"] for row in selection.values())
    assert sum(row["chosen"] for row in selection.values()) == 1
    tolerant = AutoCoupling(names, folds=3, repeats=1, rule="tolerance", tolerance=0.5).fit(x, y, bridges)
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
    def strip(sel):
        return {name: {k: v for k, v in row.items() if k != "seconds"} for name, row in sel.items()}
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
        AutoCoupling(["forest"]).fit(x, y, bridges)
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


class _OraclePlan:
    """A test candidate that knows the pools' true classes: its plan puts share ``q`` of each row's mass on the row's
    class (spread evenly) and the rest uniformly; ``q`` cycles through ``qualities``, one value per fit."""

    pin_bridges = True

    def __init__(self, source_labels, target_labels, qualities):
        self.ls, self.lt, self.qualities, self.calls = np.asarray(source_labels), np.asarray(target_labels), list(qualities), 0

    def fit(self, x, y, bridges):
        from neurobridge.couplings import Coupling

        q = self.qualities[self.calls % len(self.qualities)]
        self.calls += 1
        same = (self.ls[:, None] == self.lt[None, :]).astype(float)
        plan = q * same / same.sum(1, keepdims=True) + (1 - q) / len(self.lt)
        return Coupling(plan=plan / len(self.ls), method="oracle")


def _blobs(n=90, count=30, seed=0):
    from sklearn.datasets import make_blobs

    x, lx = make_blobs(n, centers=3, random_state=seed)
    y, ly = make_blobs(n, n_features=3, centers=3, random_state=seed + 1)
    return x, y, lx, ly, Bridges.from_labels(lx, ly, count=count, seed=seed)


def test_one_se_rule_keeps_the_preferred_candidate_when_the_better_mean_is_within_noise():
    x, y, lx, ly, bridges = _blobs()
    def make():
        return {"preferred": _OraclePlan(lx, ly, [0.3]), "noisy": _OraclePlan(lx, ly, [1.0, 0.0])}
    coupling = AutoCoupling(make(), folds=3, label_score="class_agreement").fit(x, y, bridges)
    row = coupling.log["selection"]["preferred"]
    assert coupling.log["selected"] == "preferred" and coupling.log["rule"] == "one-se"
    assert coupling.log["selection"]["noisy"]["mean"] > row["mean"] + 0.1  # the noisy one has the better mean ...
    assert row["gap"] > 0.1 and row["se"] > row["gap"] and row["margin"] == row["se"]  # ... but within one SE
    assert coupling.log["repeats"] == 2 and all(len(r["scores"]) == 6 and r["held_out"] == 60 for r in coupling.log["selection"].values())
    fixed = AutoCoupling(make(), folds=3, rule="tolerance", label_score="class_agreement").fit(x, y, bridges)
    assert fixed.log["selected"] == "noisy" and fixed.log["selection"]["preferred"]["margin"] == 0.02


def test_one_se_rule_takes_the_better_candidate_when_the_difference_is_clear():
    x, y, lx, ly, bridges = _blobs()
    coupling = AutoCoupling({"preferred": _OraclePlan(lx, ly, [0.3]), "better": _OraclePlan(lx, ly, [0.95, 1.0])},
                            label_score="class_agreement").fit(x, y, bridges)
    row = coupling.log["selection"]["preferred"]
    assert coupling.log["selected"] == "better"
    assert row["gap"] > 0.4 and row["gap"] > row["margin"] >= 0.02


def test_standard_error_is_the_corrected_paired_one():
    import statistics

    auto = AutoCoupling(["label-spreading", "bridge-ot"], tolerance=0.0)
    scores = {"label-spreading": [0.8, 0.9, 0.7, 0.75], "bridge-ot": [0.9, 0.95, 0.9, 0.7]}
    chosen, stats = auto._choose(auto._candidates("label"), scores, {}, folds=3)
    diffs = [b - a for a, b in zip(scores["label-spreading"], scores["bridge-ot"])]
    se = statistics.stdev(diffs) * (1 / 4 + 1 / 2) ** 0.5
    assert stats["label-spreading"]["se"] == pytest.approx(se) and stats["bridge-ot"]["se"] == 0.0
    assert stats["label-spreading"]["gap"] == pytest.approx(statistics.mean(diffs))
    assert chosen == ("label-spreading" if statistics.mean(diffs) <= se else "bridge-ot") == "label-spreading"
    strict = AutoCoupling(["label-spreading", "bridge-ot"], rule="tolerance", tolerance=0.0)
    assert strict._choose(strict._candidates("label"), scores, {}, folds=3)[0] == "bridge-ot"


def test_label_folds_are_stratified_and_unseen_classes_are_not_scored():
    x, y, lx, ly, bridges = _blobs(count=12)
    auto = AutoCoupling(folds=3)
    fold, labels = auto.fold_ids(bridges), np.asarray(bridges.labels)
    for c in np.unique(labels):
        assert len(set(fold[labels == c].tolist())) == 3  # 4 bridges per class: every fold holds one out
    single = Bridges.from_indices([0, 1, 2, 3], [0, 1, 2, 3], labels=[0, 1, 2, 2], n_source=90, n_target=90, match="label")
    fold = auto.fold_ids(single)
    scored = np.zeros(4, dtype=bool)
    for f in np.unique(fold):
        scored |= auto._scored(fold, f, np.array([0, 1, 2, 2]))
    assert scored.tolist() == [False, False, True, True]


def test_one_bridge_per_class_cannot_be_validated_and_keeps_the_first_candidate():
    x, y, lx, ly, _ = _blobs()
    one_each = Bridges.from_labels(lx, ly, count=3, seed=0)
    with pytest.warns(RuntimeWarning, match="single bridge"):
        coupling = AutoCoupling(["geodesic", "supervised"]).fit(x, y, one_each)
    assert coupling.log["selected"] == "geodesic" and coupling.log["validated"] is False
    assert all(row["held_out"] == 0 for row in coupling.log["selection"].values())


def test_label_matched_auto_is_deterministic_under_its_seed():
    x, y, lx, ly, bridges = _blobs(count=12)
    names = ["bridge-ot", "supervised"]
    runs = [AutoCoupling(names, seed=s).fit(x, y, bridges) for s in (3, 3, 4)]
    def strip(c):
        return {n: (r["scores"], r["se"], r["chosen"]) for n, r in c.log["selection"].items()}
    assert strip(runs[0]) == strip(runs[1])
    np.testing.assert_array_equal(runs[0].plan_numpy(), runs[1].plan_numpy())
    assert runs[0].log["repeats"] == 4  # 12 scored held-out bridges per split: 4 repeats reach 40
    assert strip(runs[0]) != strip(runs[2])  # another seed draws other folds


def test_bridge_ot_candidates_are_the_bridge_ot_method():
    from neurobridge.couplings.methods import BridgeOT
    from neurobridge.couplings.methods.auto import candidate_table

    candidates = candidate_table()
    assert type(candidates["bridge-ot"]) is BridgeOT and candidates["bridge-ot"].cost == "exact"
    assert type(candidates["bridge-ot-softmin"]) is BridgeOT and candidates["bridge-ot-softmin"].cost == "softmin"


def test_bad_repeats_and_rule_are_named():
    x, y, bridges = _linear_paired(60)
    with pytest.raises(CouplingError, match="repeats"):
        AutoCoupling(repeats=0).fit(x, y, bridges)
    with pytest.raises(CouplingError, match="repeats"):
        AutoCoupling(repeats="many").fit(x, y, bridges)
    with pytest.raises(CouplingError, match="rule"):
        AutoCoupling(rule="best").fit(x, y, bridges)


def test_shared_graphs_give_the_same_choice_scores_and_plan_as_recomputing_them():
    x, y, bridges = _moons(n=160, seed=1)
    names = ["label-spreading", "geodesic"]
    kwargs = dict(folds=3, repeats=1, rule="tolerance", tolerance=0.0, label_score="class_agreement")  # whole pools in every fold
    plain = AutoCoupling(names, share_graphs=False, **kwargs).fit(x, y, bridges)
    shared = AutoCoupling(names, **kwargs).fit(x, y, bridges)
    def strip(c):
        return {n: (r["scores"], r["held_out"], r["chosen"]) for n, r in c.log["selection"].items()}
    assert strip(shared) == strip(plain) and shared.log["selected"] == plain.log["selected"]
    np.testing.assert_allclose(shared.plan_numpy(), plain.plan_numpy(), rtol=1e-12, atol=0)
    assert "graph_builds" not in plain.log
    assert shared.log["graph_builds"] == 2  # the whole pools are the validation pools: one graph per pool
    assert shared.log["shortest_path_trees"] == np.unique(bridges.source_index).size + np.unique(bridges.target_index).size
    other = next(n for n in names[:2] if n != shared.log["selected"])
    forced = [AutoCoupling([other], share_graphs=share, **kwargs).fit(x, y, bridges).plan_numpy() for share in (True, False)]
    np.testing.assert_allclose(forced[0], forced[1], rtol=1e-12, atol=0)
    with pytest.raises(CouplingError, match="share_graphs"):
        AutoCoupling(names, share_graphs="yes").fit(x, y, bridges)


def test_paired_validation_uses_at_most_validation_size_target_points_and_the_final_fit_all_bridges():
    x, y, bridges = _linear_paired()
    capped = AutoCoupling(FAST_PAIRED, folds=3, validation_size=20).fit(x, y, bridges)
    assert capped.log["validation_bridges"] == 20 and len(bridges) == 30
    assert capped.log["selected"] == "map-refined"
    pinned = capped.plan_numpy()[np.asarray(bridges.source_index)].argmax(1)
    assert np.mean(pinned == np.asarray(bridges.target_index)) == 1.0
    again = AutoCoupling(FAST_PAIRED, folds=3, validation_size=20).fit(x, y, bridges)
    assert again.log["selection"]["map-refined"]["scores"] == capped.log["selection"]["map-refined"]["scores"]
    whole = AutoCoupling(FAST_PAIRED, folds=3, validation_size=200).fit(x, y, bridges)
    assert whole.log["validation_bridges"] == 30
