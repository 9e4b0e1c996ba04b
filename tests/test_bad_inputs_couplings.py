"""Bad parameters and degenerate pools given to the coupling methods: each error has the right type and names the
culprit; a plan made uniform by a huge epsilon warns."""
import numpy as np
import pytest

from neurobridge import Bridges
from neurobridge.couplings import (
    METHODS,
    BridgeOT,
    Exemplar,
    FusedGromovWasserstein,
    GromovWasserstein,
    MapCoupling,
    MinibatchBridgeOT,
    RelativeCoupling,
    Supervised,
)


@pytest.fixture(scope="module")
def pools():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    x = (rng.normal(scale=3.0, size=(3, 4))[labels] + rng.normal(scale=0.3, size=(30, 4))).astype(np.float32)
    y = (x @ rng.normal(size=(4, 3))).astype(np.float32)
    return x, y, Bridges.from_labels(labels, labels, 0.2, seed=0)


BAD = [
    (BridgeOT(epsilon="0.01"), TypeError, "epsilon"),
    (BridgeOT(epsilon=True), TypeError, "epsilon"),
    (BridgeOT(epsilon=0.0), ValueError, "epsilon"),
    (BridgeOT(epsilon=float("nan")), ValueError, "epsilon"),
    (BridgeOT(cost="magic"), ValueError, "cost"),
    (BridgeOT(metric="manhattan"), ValueError, "metric"),
    (BridgeOT(solver="lbfgs"), ValueError, "solver"),
    (BridgeOT(temperature="0.1"), TypeError, "temperature"),
    (BridgeOT(temperature=-1.0), ValueError, "temperature"),
    (BridgeOT(unbalanced=("a", 1.0)), TypeError, "unbalanced"),
    (BridgeOT(unbalanced=(1.0, 2.0, 3.0)), ValueError, "unbalanced"),
    (BridgeOT(unbalanced=(0.0, 1.0)), ValueError, "unbalanced"),
    (BridgeOT(solver_kwargs=[("tol", 1e-3)]), TypeError, "solver_kwargs"),
    (MinibatchBridgeOT(cost="geodesic"), ValueError, "cost"),
    (MinibatchBridgeOT(pairing="greedy"), ValueError, "pairing"),
    (MinibatchBridgeOT(epsilon="1e-2"), TypeError, "epsilon"),
    (Exemplar(k=True), TypeError, "k"),
    (Exemplar(k=0), ValueError, "k"),
    (Exemplar(k=2.5), TypeError, "k"),
    (Exemplar(temperature="0.1"), TypeError, "temperature"),
    (Exemplar(route="hub"), ValueError, "route"),
    (Supervised(replace="yes"), TypeError, "replace"),
    (GromovWasserstein(max_iter=1.5), TypeError, "max_iter"),
    (GromovWasserstein(epsilon=-1.0), ValueError, "epsilon"),
    (FusedGromovWasserstein(alpha=True), TypeError, "alpha"),
    (FusedGromovWasserstein(alpha=-0.1), ValueError, "alpha"),
    (MapCoupling(map="cca"), ValueError, "map"),
    (RelativeCoupling(epsilon="x"), TypeError, "epsilon"),
]


@pytest.mark.parametrize("method, error, culprit", BAD, ids=[f"{type(m).__name__}-{c}-{i}" for i, (m, _, c) in enumerate(BAD)])
def test_bad_parameter_is_named(pools, method, error, culprit):
    x, y, bridges = pools
    with pytest.raises(error, match=culprit):
        method.fit(x, y, bridges)


@pytest.mark.parametrize("name", ["bridge-ot", "minibatch-bridge-ot", "exemplar", "gw", "fgw"])
def test_identical_source_points_are_refused(pools, name):
    x, y, bridges = pools
    flat = np.ones_like(x)
    with pytest.raises(ValueError, match="source: all 30 points are identical"):
        METHODS[name]().fit(flat, y, bridges)


@pytest.mark.parametrize("name", ["bridge-ot", "minibatch-bridge-ot", "exemplar", "gw", "relative"])
def test_zero_vectors_under_cosine_are_refused(pools, name):
    x, y, bridges = pools
    holed = x.copy()
    holed[5] = 0.0
    with pytest.raises(ValueError, match="source has 1 all-zero rows .*position 5.*metric='euclidean'"):
        METHODS[name]().fit(holed, y, bridges)
    if "metric" in METHODS[name]().get_params():
        METHODS[name](metric="euclidean").fit(holed, y, bridges)


def test_degenerate_target_is_named(pools):
    x, y, bridges = pools
    with pytest.raises(ValueError, match="target: all"):
        BridgeOT().fit(x, np.zeros_like(y) + 2.0, bridges)


def test_huge_epsilon_warns_that_the_plan_is_uniform(pools):
    x, y, bridges = pools
    with pytest.warns(UserWarning, match="epsilon=1000.0 is so large that the plan is uniform"):
        BridgeOT(epsilon=1e3).fit(x, y, bridges)
    with pytest.warns(UserWarning, match="plan is uniform"):
        GromovWasserstein(epsilon=1e3).fit(x, y, bridges)


def test_moderate_epsilon_does_not_warn(pools, recwarn):
    x, y, bridges = pools
    BridgeOT(epsilon=1e-2).fit(x, y, bridges)
    assert not [w for w in recwarn if "uniform" in str(w.message)]
