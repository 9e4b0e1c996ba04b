import numpy as np
import pytest
import torch

from neurobridge.bridges import Bridges
from neurobridge.couplings import (
    BridgeSampler,
    CouplingError,
    MinibatchBridgeSampler,
    PairSampler,
    PlanSampler,
    hard_assignment,
    pairs_for_epoch,
    sample_pairs,
    solve,
)


def _plan(n=6, m=5, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((n, m)) ** 3
    return P / P.sum()


def test_plan_sampler_is_deterministic_and_follows_the_plan():
    P = _plan()
    sampler = PlanSampler(P)
    assert isinstance(sampler, PairSampler)
    a = sampler.sample(64, np.random.default_rng(1))
    b = sampler.sample(64, np.random.default_rng(1))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert a[0].dtype == np.int64 and a[1].dtype == np.int64 and len(a[0]) == 64
    src, tgt = sampler.sample(200_000, np.random.default_rng(2))
    counts = np.zeros_like(P)
    np.add.at(counts, (src, tgt), 1)
    np.testing.assert_allclose(counts / counts.sum(), P, atol=4e-3)


@pytest.mark.parametrize("cached", [True, False])
def test_plan_sampler_draws_the_same_pairs_as_the_plain_inverse_cdf(cached, monkeypatch):
    """The cached row sums and binary search give exactly the pairs of ``rng.choice`` over the row marginal
    followed by ``(cumsum(P[i]) < u * P[i].sum()).sum()``, zero entries and empty columns included."""
    from neurobridge.couplings import sampling

    if not cached:
        monkeypatch.setattr(sampling, "_CDF_CACHE_ENTRIES", 0)
    P = _plan(n=40, m=33, seed=3)
    P[:, 4:9] = 0
    P[7, :] = 0
    sampler = PlanSampler(P)
    assert (sampler._cdf is None) is not cached
    for seed in range(20):
        src, tgt = sampler.sample(257, np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        mass = P.sum(1)
        rows = rng.choice(len(P), size=257, p=mass / mass.sum())
        cdf = np.cumsum(P[rows], axis=1)
        u = rng.random(257) * cdf[:, -1]
        cols = np.minimum((cdf < u[:, None]).sum(1), P.shape[1] - 1)
        np.testing.assert_array_equal(src, rows)
        np.testing.assert_array_equal(tgt, cols)
        assert not np.isin(tgt, np.arange(4, 9)).any() and not (src == 7).any()


def test_plan_sampler_epoch_rows_visit_every_source_once():
    sampler = PlanSampler(torch.as_tensor(_plan(n=10)), row_weights="epoch")
    src, _ = sampler.sample(10, np.random.default_rng(0))
    assert sorted(src.tolist()) == list(range(10))


def test_uniform_rows_ignore_the_row_marginal():
    P = np.zeros((4, 3))
    P[0] = [0.97, 0.0, 0.0]
    P[1:, 1] = 0.01
    src, tgt = PlanSampler(P, row_weights="uniform").sample(4000, np.random.default_rng(0))
    assert abs(np.mean(src == 0) - 0.25) < 0.03
    assert (tgt[src == 0] == 0).all() and (tgt[src > 0] == 1).all()


def test_sample_pairs_per_row():
    P = _plan(n=8, m=6)
    src, tgt = sample_pairs(P, np.random.default_rng(0), per_row=3, replace=False)
    assert np.array_equal(src, np.repeat(np.arange(8), 3))
    assert all(len(set(tgt[src == i])) == 3 for i in range(8))
    src, tgt = sample_pairs(P, np.random.default_rng(0), per_row=2)
    assert len(src) == 16


def test_hard_assignment_recovers_a_permutation():
    perm = np.random.default_rng(0).permutation(7)
    P = np.full((7, 7), 0.01)
    P[np.arange(7), perm] = 1.0
    for method in ("hungarian", "argmax"):
        r, c = hard_assignment(P, method)
        assert np.array_equal(c[np.argsort(r)], perm)


def test_bridge_sampler_draws_only_bridges():
    br = Bridges.from_indices([2, 5, 7], [1, 0, 4])
    src, tgt = BridgeSampler(br).sample(50, np.random.default_rng(0))
    assert set(zip(src.tolist(), tgt.tolist())) <= {(2, 1), (5, 0), (7, 4)}
    src, _ = BridgeSampler(br, replace=False).sample(3, np.random.default_rng(0))
    assert sorted(src.tolist()) == [2, 5, 7]


def test_minibatch_sampler():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 4)), rng.normal(size=(80, 3))
    br = Bridges.from_indices(np.arange(10), np.arange(10), n_source=100, n_target=80)
    sampler = MinibatchBridgeSampler(x, y, br, epsilon=0.1)
    a = sampler.sample(32, np.random.default_rng(5))
    b = sampler.sample(32, np.random.default_rng(5))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert len(a[0]) == 32 and a[0].max() < 100 and a[1].max() < 80
    assert sampler.last_coupling.converged and sampler.last_coupling.shape == (32, 32)
    hard = MinibatchBridgeSampler(x, y, br, epsilon=0.1, pairing="hungarian", mode="softmin")
    s, t = hard.sample(16, np.random.default_rng(1))
    assert len(set(t.tolist())) == 16


def test_pairs_for_epoch_and_coupling_sampler():
    P = _plan(n=20, m=10)
    coupling = solve(-np.log(P), epsilon=1.0)
    src, tgt = pairs_for_epoch(coupling.pair_sampler(), 1000, np.random.default_rng(0), batch_size=128)
    assert len(src) == len(tgt) == 1000


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: PlanSampler(_plan()).sample(0, np.random.default_rng(0)), "batch_size"),
        (lambda: PlanSampler(_plan()).sample(3, 0), "rng"),
        (lambda: PlanSampler(-_plan()), "non-negative"),
        (lambda: PlanSampler(_plan(), row_weights="x"), "row_weights"),
        (lambda: hard_assignment(_plan(), "greedy"), "method"),
    ],
)
def test_sampler_errors(call, match):
    with pytest.raises(CouplingError, match=match):
        call()


@pytest.mark.parametrize("sampler_kind", ["plan", "exemplar"])
def test_resumed_flow_with_an_epoch_sampler_is_bit_identical(tmp_path, sampler_kind):
    """Samplers that keep a position in a pass over the rows checkpoint it, so resuming changes nothing."""
    from neurobridge.bridges import Bridges
    from neurobridge.couplings import ExemplarSampler, PinnedBridges, PlanSampler
    from neurobridge.flows import ConditionalFlow

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3)).astype(np.float32)
    y = (x @ rng.normal(size=(3, 2))).astype(np.float32)
    bridges = Bridges.from_indices(np.arange(10), np.arange(10), n_source=120, n_target=120)

    def sampler():
        inner = PlanSampler(np.eye(120) / 120, row_weights="epoch") if sampler_kind == "plan" else ExemplarSampler(x, y, bridges, k=3, row_weights="epoch")
        return PinnedBridges(inner, bridges)

    kw = dict(network="mlp", network_kwargs={"width": 32, "depth": 2}, steps=30, batch_size=50, progress=False, device="cpu", seed=1)
    straight = ConditionalFlow(**kw).fit(x, y, sampler=sampler())
    ConditionalFlow(checkpoint_dir=tmp_path, **kw).fit(x, y, sampler=sampler(), stop_at_step=13)
    resumed = ConditionalFlow(checkpoint_dir=tmp_path, **kw).fit(x, y, sampler=sampler(), resume=True)
    a, b = straight.module_.state_dict(), resumed.module_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("repeat", ["columns", "rows", "both"])
def test_plan_sampler_on_repeated_lines_draws_from_the_plan(repeat, monkeypatch):
    """A large plan whose columns (label codes as targets) or rows (label codes as sources) repeat is sampled from its
    distinct lines; the pairs must still follow ``P``, and every column of a group must be drawn."""
    from neurobridge.couplings import sampling

    monkeypatch.setattr(sampling, "_CDF_CACHE_ENTRIES", 0)
    rng = np.random.default_rng(5)
    n, m, groups = 24, 30, 3
    row_of, col_of = rng.integers(0, groups, n), rng.integers(0, groups, m)
    row_of[:groups], col_of[:groups] = np.arange(groups), np.arange(groups)
    base = rng.random((n if repeat == "columns" else groups, m if repeat == "rows" else groups)) + 0.1
    P = base[row_of] if repeat == "rows" else base
    P = P[:, col_of] if repeat != "rows" else P
    P = P[row_of] if repeat == "both" else P
    P = P / P.sum()
    sampler = PlanSampler(P)
    assert sampler._repeated is not None
    src, tgt = sampler.sample(1_000_000, np.random.default_rng(6))
    counts = np.zeros_like(P)
    np.add.at(counts, (src, tgt), 1)
    np.testing.assert_allclose(counts / counts.sum(), P, rtol=0.25)
