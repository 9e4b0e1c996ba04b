"""Tests for the faults a planted-fault pass found the suite blind to (issue 22, item 10).

Each test checks what the code *did* (the times a field was evaluated at, the classes of the drawn bridges, the unit
a store offers to run again, the folds a classifier was fitted and scored on, the plan and the pairs a sampler
draws), never what it reports about itself, and compares with a formula written out here, not with numbers the
code under test produced. Each was seen to fail with its planted one-line fault (listed in each docstring).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch


# ----------------------------------------------------------------------------- 1. fixed-step integrators
def _recording_field(calls):
    """dz/dt = t^3 (independent of z), recording the t of every call."""

    def field(t, z):
        calls.append(float(t))
        return torch.full_like(z, float(t) ** 3)

    return field


def _expected_times(method, steps):
    h = 1.0 / steps
    out = []
    for k in range(steps):
        t = k * h
        out += {"euler": [t], "midpoint": [t, t + h / 2], "rk4": [t, t + h / 2, t + h / 2, t + h]}[method]
    return np.array(out)


def _expected_value(method, steps):
    """z(1) from z(0) = 0 for dz/dt = t^3 by the rule itself: Euler sums h t_k^3, midpoint h (t_k + h/2)^3, RK4 is
    Simpson's rule, exact for a cubic (1/4)."""
    h = 1.0 / steps
    t = np.arange(steps) * h
    return {"euler": h * np.sum(t ** 3), "midpoint": h * np.sum((t + h / 2) ** 3), "rk4": 0.25}[method]


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
@pytest.mark.parametrize("steps", [1, 4, 7])
def test_fixed_step_integrators_evaluate_the_field_at_the_rule_s_times(method, steps):
    """Planted fault: Euler evaluating the field at t + h (``f(t + h, z)`` in ``_euler``)."""
    from neurobridge.flows.ode import integrate

    calls: list[float] = []
    z, n_evaluations = integrate(_recording_field(calls), torch.zeros(3, 2, dtype=torch.float64), method=method, steps=steps)
    expected = _expected_times(method, steps)
    assert len(calls) == len(expected), f"{method}, {steps} steps: the field was called {len(calls)} times, expected {len(expected)}"
    np.testing.assert_allclose(calls, expected, atol=1e-12, err_msg=f"{method}, {steps} steps: the field was evaluated at "
                               "other times than t_k (+ h/2, + h) of the rule")
    assert n_evaluations == len(calls), f"{method}: reports {n_evaluations} evaluations but the field was called {len(calls)} times"
    np.testing.assert_allclose(z.numpy(), _expected_value(method, steps), rtol=1e-12,
                               err_msg=f"{method}, {steps} steps: z(1) differs from the rule applied by hand")


def test_midpoint_and_rk4_evaluate_the_field_at_the_rule_s_states():
    """The states the stages see, for dz/dt = z (z(0) = 1, one step): midpoint sees 1 and 1 + h/2; RK4 sees
    1, 1 + h/2, 1 + h/2 (1 + h/2), 1 + h (1 + h/2 (1 + h/2))."""
    from neurobridge.flows.ode import integrate

    for method, expected in (("midpoint", [1.0, 1.5]), ("rk4", [1.0, 1.5, 1.75, 2.75])):
        seen: list[float] = []

        def field(t, z, seen=seen):
            seen.append(float(z.reshape(-1)[0]))
            return z

        integrate(field, torch.ones(1, 1, dtype=torch.float64), method=method, steps=1)
        np.testing.assert_allclose(seen, expected, rtol=1e-12, err_msg=f"{method}: stage states differ from the rule")


# ----------------------------------------------------------------------------- 2. stratified paired bridges
CLASS_SIZES = {"car": 40, "face": 27, "fruit": 13, "boat": 4}


def _paired_assemblies(seed=0):
    from neurobridge.assemblies import make_assembly

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.concatenate([[c] * n for c, n in CLASS_SIZES.items()]))
    ids = np.array([f"img{i:03d}" for i in range(len(labels))])
    source = make_assembly(rng.normal(size=(len(ids), 5)), stimulus_id=ids, presentation={"object_name": labels})
    order = rng.permutation(len(ids))[: len(ids) - 6]  # the target misses six stimuli and lists the rest in another order
    target = make_assembly(rng.normal(size=(len(order), 4)), stimulus_id=ids[order])
    return source, target


@pytest.mark.filterwarnings("ignore:Bridges.sample. fraction=:UserWarning")  # at least one per class: more than asked
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fraction", [0.1, 0.25])
def test_paired_bridges_are_stratified_in_the_draw_itself(seed, fraction):
    """Planted fault: the draw taking its exemplars from all shared stimuli instead of class by class, while
    ``counts_per_class`` still reports the allocation. The classes are counted from the source assembly's own
    ``object_name`` at the drawn positions, and compared with round(fraction * shared stimuli of the class)."""
    from neurobridge.bridges import Bridges

    source, target = _paired_assemblies()
    bridges = Bridges.sample(source, target, fraction=fraction, seed=seed)
    src_ids = source.stimulus_id.values
    tgt_ids = target.stimulus_id.values
    si, ti = np.asarray(bridges.source_index), np.asarray(bridges.target_index)
    assert len(set(si.tolist())) == len(si), "a source point was drawn twice"
    assert (src_ids[si] == tgt_ids[ti]).all(), "a paired bridge joins two different stimuli"
    shared = np.isin(src_ids, tgt_ids)
    labels = source.object_name.values
    expected = {c: max(1, int(np.floor(fraction * np.sum(shared & (labels == c)) + 0.5))) for c in CLASS_SIZES}
    drawn = pd.Series(labels[si]).value_counts().to_dict()
    assert drawn == expected, f"classes of the drawn bridges {drawn} are not the stratified allocation {expected}"
    reported = {str(k): int(v) for k, v in bridges.counts_per_class.items()}
    assert reported == drawn, f"counts_per_class {reported} does not describe the draw {drawn}"


# ----------------------------------------------------------------------------- 3. the resume key
def _store(tmp_path, device="cpu"):
    from neurobridge.experiments.config import RunConfig
    from neurobridge.experiments.digits import EXPERIMENT
    from neurobridge.experiments.driver import _store as driver_store

    config = RunConfig("digits", (0.2,), (0,), ("bridge-ot",), tmp_path, quick=True, progress=False, device=device,
                       options={"jobs": 1})
    return driver_store(EXPERIMENT, config, resume=True, worker=False)


UNIT = ("bridge-ot", 0.2, 0)


def _stored_unit(tmp_path):
    store = _store(tmp_path)
    assert store.claim(*UNIT), "a fresh folder must offer the unit to run"
    store.add(*UNIT, {"recognition_accuracy": 0.5})
    again = _store(tmp_path)
    assert not again.claim(*UNIT), "the same settings must reuse the stored unit (else the checks below prove nothing)"
    return store


def test_a_unit_stored_on_one_device_type_is_not_reused_on_another(tmp_path):
    """Planted fault: the resume key losing the device type. The store of a run on another device type must offer
    the unit to run again, not reuse the one made on the CPU."""
    _stored_unit(tmp_path)
    other = _store(tmp_path, device="meta")  # a device type every torch build knows, without a GPU
    assert other.record(*UNIT) is None, "a unit made on the CPU was taken as done on device 'meta'"
    assert other.claim(*UNIT), "a unit made on the CPU would be reused by a run on device 'meta'"


def test_a_unit_stored_with_other_method_settings_is_not_reused(tmp_path, monkeypatch):
    """Planted fault: the resume key losing the method's own settings. A change of the Aligner's own default (not part
    of the run's settings) must make the store offer the unit again."""
    from neurobridge.align import Aligner

    before = _stored_unit(tmp_path)
    monkeypatch.setitem(Aligner.__init__.__kwdefaults__, "ode_steps", Aligner.__init__.__kwdefaults__["ode_steps"] + 1)
    other = _store(tmp_path)
    assert other.settings == before.settings, "only the method's own settings were to change, not the run's"
    assert other.record(*UNIT) is None, "a unit made with other Aligner settings was taken as done"
    assert other.claim(*UNIT), "a unit made with another ode_steps default would be reused"


# ----------------------------------------------------------------------------- 4. decoding folds
FOLDS: list[tuple[np.ndarray, np.ndarray]] = []


class _FoldRecorder:
    """A classifier that remembers the rows (column 0 carries the row number) it is fitted on and asked about, and
    predicts the majority class of its training rows."""

    def __init__(self):
        pass

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y):
        self.train_ = np.rint(X[:, 0]).astype(int)
        values, counts = np.unique(y, return_counts=True)
        self.majority_ = values[np.argmax(counts)]
        return self

    def predict(self, X):
        FOLDS.append((self.train_, np.rint(X[:, 0]).astype(int)))
        return np.full(len(X), self.majority_)


def _trials(n_images=24, repeats=4, seed=0):
    """Trial-level assembly: each image ``repeats`` times, 3 categories; every column holds the row number."""
    from neurobridge.assemblies import make_assembly

    rng = np.random.default_rng(seed)
    images = np.repeat(np.arange(n_images), repeats)
    rows = np.arange(len(images), dtype=float)
    return make_assembly(np.tile(rows[:, None], (1, 3)), stimulus_id=[f"im{i}" for i in images],
                         presentation={"category_name": np.array(["a", "b", "c"])[images % 3],
                                       "repetition": np.tile(np.arange(repeats), n_images)}), rng


def _folds_used(assembly, **kwargs):
    from neurobridge.evaluate import decoding_curve

    FOLDS.clear()
    curve = decoding_curve(assembly, label="category_name", n_sites=[3], repeats=1, cv=3, classifier=_FoldRecorder(), **kwargs)
    folds = list(FOLDS)
    assert len(folds) == 3, f"expected 3 folds to be fitted, saw {len(folds)}"
    tested = np.sort(np.concatenate([test for _, test in folds]))
    assert (tested == np.arange(assembly.sizes["presentation"])).all(), "not every row was predicted exactly once"
    return curve, folds


def _shared_stimuli(assembly, folds):
    ids = assembly.stimulus_id.values
    return [sorted(set(ids[train]) & set(ids[test]))[:3] for train, test in folds]


@pytest.mark.parametrize("kwargs", [{}, {"groups": "stimulus_id"}], ids=["default", "explicit"])
def test_decoding_folds_never_share_a_stimulus(kwargs):
    """Planted fault: ``decoding_curve`` ignoring ``groups=`` (folds from StratifiedKFold over trials) while still
    reporting StratifiedGroupKFold. The folds the classifier was actually fitted and scored on are recorded."""
    assembly, _ = _trials()
    curve, folds = _folds_used(assembly, **kwargs)
    shared = _shared_stimuli(assembly, folds)
    assert not any(shared), f"stimuli in both the training and the test rows of a fold (per fold, first 3): {shared}; reported cv={curve.cv}"


def test_trial_level_folds_do_share_stimuli_so_the_check_can_fail():
    """The control: with ``groups=None`` trials of one image sit on both sides, and the recorder sees it."""
    assembly, _ = _trials()
    _, folds = _folds_used(assembly, groups=None)
    assert any(_shared_stimuli(assembly, folds)), "trial-level folds shared no stimulus: the recorder cannot see sharing"


# ----------------------------------------------------------------------------- 5. the exemplar plan
def _exemplar_problem(seed=0, n=30, m=24, K=6):
    from neurobridge.bridges import Bridges

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = rng.normal(size=(m, 3))
    bridges = Bridges.from_indices(rng.choice(n, K, replace=False), rng.choice(m, K, replace=False), n_source=n, n_target=m)
    return x, y, bridges


def _softmax_plan(x, y, bridges, k, temperature):
    """The exemplar coupling written out from the module docstring (route='bridge', euclidean distances)."""
    from scipy.spatial.distance import cdist

    xe, ye = x[bridges.source_index], y[bridges.target_index]
    n, m, K = len(x), len(y), len(xe)
    A = cdist(x, xe)
    A /= A.mean()
    B = cdist(y, ye)
    B /= B.mean()
    WX = np.zeros((n, K))
    for i in range(n):
        near = np.argsort(A[i])[:k]
        w = np.exp(-A[i, near] / temperature)
        WX[i, near] = w / w.sum()
    Q = np.zeros((K, m))
    for j in range(m):
        near = np.argsort(B[j])[:k]
        v = np.exp(-B[j, near] / temperature)
        Q[near, j] += v / v.sum()
    for h in np.flatnonzero(Q.sum(1) == 0):  # a hub no target keeps receives its nearest target point
        Q[h, np.argmin(B[:, h])] = 1.0
    Q /= Q.sum(1, keepdims=True)
    return WX @ Q / n


@pytest.mark.parametrize("temperature", [0.1, 0.5])
@pytest.mark.parametrize("k", [1, 3])
def test_exemplar_plan_is_the_softmax_formula(k, temperature):
    """Planted fault: the softmax temperature x100. The sampler's plan against the formula, entry by entry."""
    from neurobridge.couplings.exemplar import ExemplarSampler

    x, y, bridges = _exemplar_problem()
    sampler = ExemplarSampler(x, y, bridges, k=k, temperature=temperature, metric="euclidean", dtype=torch.float64)
    expected = _softmax_plan(x, y, bridges, k, temperature)
    got = sampler.dense_plan()
    assert abs(got - expected).max() < 1e-4 * expected.max(), (
        f"k={k}, T={temperature}: the exemplar plan differs from the softmax formula by up to {abs(got - expected).max():.3g}")


def test_exemplar_pairs_are_drawn_from_the_softmax_formula():
    """The pairs themselves, not the sampler's own plan: 200,000 draws against the formula (total variation; the
    sampling noise at this size is about 0.02, a temperature x100 moves the plan by far more)."""
    from neurobridge.couplings.exemplar import ExemplarSampler

    x, y, bridges = _exemplar_problem(seed=1)
    sampler = ExemplarSampler(x, y, bridges, k=3, temperature=0.1, metric="euclidean", dtype=torch.float64)
    expected = _softmax_plan(x, y, bridges, 3, 0.1)
    draws = 200_000
    i, j = sampler.sample(draws, np.random.default_rng(0))
    empirical = np.zeros_like(expected)
    np.add.at(empirical, (i, j), 1.0 / draws)
    tv = 0.5 * abs(empirical - expected).sum()
    assert tv < 0.05, f"sampled pairs are {tv:.3f} (total variation) from the softmax formula's plan"


# ----------------------------------------------------------------------------- 6. PinnedBridges
def test_pinned_bridges_give_every_sampled_bridge_source_its_partner():
    """Planted fault: ``PinnedBridges`` not pinning. On the sampled pairs: a bridge source gets one of its known
    partners (each partner of a source with two of them drawn), every other pair is the inner sampler's own."""
    from neurobridge.bridges import Bridges
    from neurobridge.couplings.sampling import PinnedBridges, PlanSampler

    rng = np.random.default_rng(3)
    n, m = 40, 35
    plan = rng.random((n, m))
    sources = np.array([2, 5, 5, 11, 30])
    targets = np.array([7, 1, 20, 33, 0])
    partners = {s: set(targets[sources == s].tolist()) for s in set(sources.tolist())}
    pinned = PinnedBridges(PlanSampler(plan, row_weights="uniform"),
                           Bridges.from_indices(sources, targets, n_source=n, n_target=m))
    inner = PlanSampler(plan, row_weights="uniform")
    src, tgt = pinned.sample(20_000, np.random.default_rng(0))
    inner_src, inner_tgt = inner.sample(20_000, np.random.default_rng(0))
    assert (src == inner_src).all(), "pinning changed the sampled sources"
    is_bridge = np.isin(src, sources)
    assert is_bridge.sum() > 1000, "too few bridge sources were drawn to check pinning"
    wrong = [(int(s), int(t)) for s, t in zip(src[is_bridge], tgt[is_bridge]) if t not in partners[int(s)]]
    assert not wrong, f"{len(wrong)} sampled bridge sources got another target than their partner, e.g. {wrong[:5]}"
    for s, known in partners.items():
        assert set(tgt[src == s].tolist()) == known, f"source {s}: drawn targets {set(tgt[src == s].tolist())}, partners {known}"
    assert (tgt[~is_bridge] == inner_tgt[~is_bridge]).all(), "pairs of points that are not bridges were changed"
