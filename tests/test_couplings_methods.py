"""Coupling methods as objects: the METHODS table, parameters, and the same numbers as the functions they wrap."""
import numpy as np
import pytest
import torch

from neurobridge import Bridges
from neurobridge.couplings import (
    METHODS,
    BridgeOT,
    Coupling,
    CouplingMethod,
    Exemplar,
    GromovWasserstein,
    MinibatchBridgeOT,
    Supervised,
    bridge_cost,
    exemplar_coupling,
    fused_gromov_wasserstein,
    gromov_wasserstein,
    map_coupling,
    relative_coupling,
    solve,
)


def pools(seed=0, n_per=15):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per)
    centres = rng.normal(scale=3.0, size=(3, 4))
    x = (centres[labels] + rng.normal(scale=0.3, size=(len(labels), 4))).astype(np.float32)
    y = (x @ rng.normal(size=(4, 3))).astype(np.float32)
    return x, y, Bridges.from_labels(labels, labels, 0.2, seed=0)


def test_table_holds_every_named_method():
    assert {"bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised", "gw", "fgw", "map", "relative"} <= set(METHODS)
    for name, cls in METHODS.items():
        assert issubclass(cls, CouplingMethod) and cls.name == name


@pytest.mark.parametrize("name", ["bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised", "gw", "fgw", "map", "relative"])
def test_every_method_gives_a_coupling_with_a_pair_sampler(name):
    x, y, bridges = pools()
    coupling = METHODS[name]().fit(x, y, bridges)
    assert isinstance(coupling, Coupling)
    src, tgt = coupling.pair_sampler().sample(32, np.random.default_rng(0))
    assert src.shape == tgt.shape == (32,)
    assert src.max() < len(x) and tgt.max() < len(y)


def test_params_round_trip_and_unknown_names_are_refused():
    method = BridgeOT(epsilon=0.05, cost="softmin")
    assert method.get_params()["epsilon"] == 0.05
    clone = BridgeOT(**method.get_params())
    assert clone.get_params() == method.get_params()
    assert method.set_params(epsilon=0.2).epsilon == 0.2
    with pytest.raises(ValueError, match="no parameter 'k'.*epsilon"):
        method.set_params(k=3)


def test_bridge_ot_is_entropic_ot_on_the_bridge_cost():
    x, y, bridges = pools()
    expected = solve(bridge_cost(x, y, bridges).cost, epsilon=1e-2, tol=1e-4)
    got = BridgeOT().fit(x, y, bridges)
    np.testing.assert_array_equal(got.plan_numpy(), expected.plan_numpy())


def test_soft_min_temperature_reaches_the_cost():
    x, y, bridges = pools()
    for temperature in (0.05, 0.5):
        expected = solve(bridge_cost(x, y, bridges, mode="softmin", temperature=temperature).cost, epsilon=1e-2, tol=1e-4)
        got = BridgeOT(cost="softmin", temperature=temperature).fit(x, y, bridges)
        np.testing.assert_array_equal(got.plan_numpy(), expected.plan_numpy())
    cold = BridgeOT(cost="softmin", temperature=0.05).fit(x, y, bridges).plan_numpy()
    warm = BridgeOT(cost="softmin", temperature=0.5).fit(x, y, bridges).plan_numpy()
    assert not np.allclose(cold, warm)


def test_minibatch_cost_and_temperature_reach_the_sampler():
    x, y, bridges = pools()
    sampler = MinibatchBridgeOT(cost="softmin", temperature=0.3, epsilon=0.05).fit(x, y, bridges).pair_sampler()
    assert (sampler.mode, sampler.temperature, sampler.epsilon) == ("softmin", 0.3, 0.05)
    assert sampler.solver_kwargs["tol"] == 1e-4


def test_objects_match_the_functions_they_wrap():
    x, y, bridges = pools()
    rng = lambda: np.random.default_rng(1)  # noqa: E731
    a = Exemplar(k=3, temperature=0.2).fit(x, y, bridges).pair_sampler().sample(64, rng())
    b = exemplar_coupling(x, y, bridges, k=3, temperature=0.2).sampler.sample(64, rng())
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(GromovWasserstein().fit(x, y, bridges).plan_numpy(), gromov_wasserstein(x, y).plan_numpy())
    np.testing.assert_array_equal(METHODS["fgw"](alpha=0.3).fit(x, y, bridges).plan_numpy(),
                                  fused_gromov_wasserstein(x, y, bridges, alpha=0.3).plan_numpy())
    np.testing.assert_array_equal(METHODS["map"](map="lstsq").fit(x, y, bridges).plan_numpy(),
                                  map_coupling(x, y, bridges, method="lstsq").plan_numpy())
    np.testing.assert_array_equal(METHODS["relative"](epsilon=0.1).fit(x, y, bridges).plan_numpy(),
                                  relative_coupling(x, y, bridges, epsilon=0.1).plan_numpy())
    src, tgt = Supervised().fit(x, y, bridges).pair_sampler().sample(50, rng())
    pairs = set(zip(bridges.source_index.tolist(), bridges.target_index.tolist()))
    assert set(zip(src.tolist(), tgt.tolist())) <= pairs


def test_plan_free_couplings_report_their_shape():
    x, y, bridges = pools()
    for method in (MinibatchBridgeOT(), Exemplar(), Supervised()):
        coupling = method.fit(x, y, bridges)
        assert coupling.plan is None and coupling.shape == (len(x), len(y))


def test_result_module_imports_only_the_exceptions_at_module_level():
    """``result`` is a leaf at import time; ``pair_sampler`` imports the plan sampler lazily from ``sampling``, which
    does not import ``result`` (no cycle: see tests/test_architecture.py)."""
    import ast
    import inspect

    from neurobridge.couplings import result

    tree = ast.parse(inspect.getsource(result))
    top = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert top <= {"__future__", "dataclasses", "typing", "errors"}
    coupling = Coupling(plan=torch.full((2, 3), 1 / 6))
    assert coupling.pair_sampler().sample(4, np.random.default_rng(0))[1].shape == (4,)
