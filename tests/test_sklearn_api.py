"""Aligner, ConditionalFlow and RegressionMap are scikit-learn estimators: clone, get/set_params, GridSearchCV."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from neurobridge import Aligner, Bridges
from neurobridge.baselines import RegressionMap
from neurobridge.couplings import BridgeOT
from neurobridge.flows import ConditionalFlow

TINY = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 16, "depth": 1}}, "steps": 20, "batch_size": 32,
        "ode_steps": 4, "progress": False}


def test_clone_gives_an_unfitted_copy_with_equal_params():
    aligner = Aligner("exemplar", k=3, temperature=0.2, seed=4, **TINY)
    copy = clone(aligner)
    assert copy is not aligner and copy.get_params() == aligner.get_params()
    for estimator in (ConditionalFlow("mlp", steps=7, seed=2), RegressionMap("pls", n_components=3)):
        assert clone(estimator).get_params() == estimator.get_params()


def test_nested_params_of_a_coupling_object():
    aligner = Aligner(BridgeOT(epsilon=0.05), **TINY)
    params = aligner.get_params(deep=True)
    assert params["coupling__epsilon"] == 0.05 and "coupling__cost" in params
    aligner.set_params(coupling__epsilon=0.2, steps=5)
    assert aligner.coupling.epsilon == 0.2 and aligner.steps == 5
    copy = clone(aligner)
    assert copy.coupling is not aligner.coupling and copy.coupling.epsilon == 0.2
    with pytest.raises(ValueError, match="magic"):
        aligner.set_params(magic=1)


def test_constructor_stores_without_checking():
    aligner = Aligner("nonsense", epsilon="0.01", steps=True)
    assert aligner.get_params()["epsilon"] == "0.01"
    flow = ConditionalFlow(network="nonsense")
    assert flow.get_params()["network"] == "nonsense"


def test_grid_search_over_epsilon():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    x = (rng.normal(scale=3.0, size=(3, 4))[labels] + rng.normal(scale=0.3, size=(60, 4))).astype(np.float32)
    y = (x @ rng.normal(size=(4, 2))).astype(np.float32)
    bridges = Bridges.from_labels(labels, labels, 0.2, seed=0)
    every = np.arange(len(x))
    held_out = [np.setdiff1d(every, bridges.source_index)[:20], np.setdiff1d(every, bridges.source_index)[20:40]]

    def score(estimator, source, target):
        return -float(np.mean((estimator.transform(source, seed=0) - target) ** 2))

    search = GridSearchCV(Aligner("bridge-ot", seed=0, **TINY), {"epsilon": [1e-2, 1.0]}, scoring=score,
                          cv=[(every, part) for part in held_out], refit=False)
    search.fit(x, y, bridges=bridges)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and len(scores) == 2
    assert search.best_params_["epsilon"] in (1e-2, 1.0)
