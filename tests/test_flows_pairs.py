import numpy as np
import pytest
import torch

from neurobridge.flows import FixedPairs, PairSampler, check_pair_indices


def test_fixed_pairs_use_every_pair_once_per_epoch():
    src, tgt = np.arange(10) * 3, np.arange(10)[::-1].copy()
    sampler = FixedPairs(src, tgt)
    assert isinstance(sampler, PairSampler)
    rng = np.random.default_rng(0)
    got_s, got_t = zip(*(sampler.sample(4, rng) for _ in range(5)))
    s, t = np.concatenate(got_s), np.concatenate(got_t)
    assert s.dtype == np.int64 and len(s) == 20
    for epoch in (slice(0, 10), slice(10, 20)):
        assert sorted(s[epoch].tolist()) == sorted(src.tolist())
    lookup = dict(zip(src.tolist(), tgt.tolist()))
    assert all(lookup[a] == b for a, b in zip(s.tolist(), t.tolist()))


def test_fixed_pairs_batch_larger_than_the_pairs():
    sampler = FixedPairs([0, 1, 2], [2, 1, 0])
    s, t = sampler.sample(8, np.random.default_rng(0))
    assert len(s) == 8 and np.all(s + t == 2)


def test_fixed_pairs_state_round_trip_continues_identically():
    a = FixedPairs(np.arange(7), np.arange(7))
    rng = np.random.default_rng(3)
    a.sample(5, rng)
    state = a.state_dict()
    assert all(isinstance(v, (torch.Tensor, int)) for v in state.values())
    rng_state = rng.bit_generator.state
    expected = [a.sample(4, rng)[0] for _ in range(4)]
    b = FixedPairs(np.arange(7), np.arange(7))
    b.load_state_dict(state)
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = rng_state
    got = [b.sample(4, rng2)[0] for _ in range(4)]
    assert all(np.array_equal(e, g) for e, g in zip(expected, got))


def test_bad_pairs_are_rejected_with_reasons():
    with pytest.raises(ValueError, match="equal length"):
        check_pair_indices([0, 1], [0], 5, 5)
    with pytest.raises(ValueError, match=r"target indices must lie in \[0, 3\)"):
        check_pair_indices([0, 1], [0, 3], 5, 3)
    with pytest.raises(ValueError, match="integers"):
        check_pair_indices([0.5], [0], 5, 5)
    with pytest.raises(ValueError, match="no pairs"):
        FixedPairs([], [])
