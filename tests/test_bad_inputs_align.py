"""Bad Aligner parameters and inputs: checked at fit before any training, each error names the argument."""
import numpy as np
import pytest

from neurobridge import Aligner, Bridges
from neurobridge.couplings import BridgeOT

TINY = {"flow": "mlp", "flow_kwargs": {"network_kwargs": {"width": 8, "depth": 1}}, "steps": 5, "batch_size": 16,
        "ode_steps": 2, "progress": False}


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    x = (rng.normal(scale=3.0, size=(3, 4))[labels] + rng.normal(scale=0.3, size=(30, 4))).astype(np.float32)
    y = (x @ rng.normal(size=(4, 3))).astype(np.float32)
    return x, y, Bridges.from_labels(labels, labels, 0.2, seed=0)


BAD = [
    ({"coupling": "magic"}, ValueError, "coupling must be one of"),
    ({"coupling": 42}, TypeError, "coupling must be a name"),
    ({"coupling": "exemplar", "epsilon": 0.1}, ValueError, "epsilon=0.1 does not apply to coupling='exemplar'"),
    ({"coupling": "supervised", "metric": "cosine"}, ValueError, "metric='cosine' does not apply to coupling='supervised'"),
    ({"coupling": "gw", "unbalanced": (1.0, 1.0)}, ValueError, "unbalanced=.* does not apply to coupling='gw'"),
    ({"coupling": "bridge-ot", "k": 5}, ValueError, "k=5 does not apply to coupling='bridge-ot'"),
    ({"coupling": BridgeOT(), "epsilon": 0.1}, ValueError, "epsilon set on the Aligner, but coupling is an object"),
    ({"epsilon": "0.01"}, TypeError, "epsilon must be a real number.*string"),
    ({"epsilon": True}, TypeError, "epsilon"),
    ({"epsilon": 0.0}, ValueError, "epsilon"),
    ({"cost": "magic"}, ValueError, "cost"),
    ({"coupling": "minibatch-bridge-ot", "cost": "geodesic"}, ValueError, "cost"),
    ({"coupling": "exemplar", "k": True}, TypeError, "k must be an integer"),
    ({"coupling": "exemplar", "temperature": "0.1"}, TypeError, "temperature"),
    ({"steps": True}, TypeError, "steps"),
    ({"steps": 0}, ValueError, "steps"),
    ({"steps": 10.0}, TypeError, "steps"),
    ({"batch_size": "32"}, TypeError, "batch_size"),
    ({"lr": "1e-3"}, TypeError, "lr"),
    ({"lr": -1.0}, ValueError, "lr"),
    ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
    ({"seed": True}, TypeError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"ode_method": "rk5"}, ValueError, "ode_method must be one of"),
    ({"ode_steps": 0}, ValueError, "ode_steps"),
    ({"ode_steps": False}, TypeError, "ode_steps"),
    ({"pin_bridges": "yes"}, TypeError, "pin_bridges"),
    ({"flow_kwargs": "wide"}, TypeError, "flow_kwargs"),
]


@pytest.mark.parametrize("params, error, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_parameter_raises_at_fit_before_training(problem, params, error, message):
    x, y, bridges = problem
    aligner = Aligner(**{**TINY, **params})
    with pytest.raises(error, match=message):
        aligner.fit(x, y, bridges)
    assert not hasattr(aligner, "coupling_") and not hasattr(aligner, "flow_")


def test_bad_data(problem):
    x, y, bridges = problem
    with pytest.raises(TypeError, match="source"):
        Aligner(**TINY).fit("features.npz", y, bridges)
    with pytest.raises(ValueError, match="source: all 30 points are identical"):
        Aligner(**TINY).fit(np.ones_like(x), y, bridges)
    holed = x.copy()
    holed[3] = 0
    with pytest.raises(ValueError, match="all-zero rows"):
        Aligner(**TINY).fit(holed, y, bridges)


def test_huge_epsilon_warns(problem):
    x, y, bridges = problem
    with pytest.warns(UserWarning, match="plan is uniform"):
        Aligner(coupling="bridge-ot", epsilon=1e3, **TINY).fit(x, y, bridges)


def test_bad_transform_arguments(problem):
    x, y, bridges = problem
    aligner = Aligner(**TINY).fit(x, y, bridges)
    with pytest.raises(ValueError, match="n_samples"):
        aligner.transform(x, n_samples=0)
    with pytest.raises(TypeError, match="n_samples"):
        aligner.sample(x, n_samples=True)
    with pytest.raises(ValueError, match="seed"):
        aligner.transform(x, seed=-3)
