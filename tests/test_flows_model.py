import json

import numpy as np
import pytest
import torch
import xarray as xr

from neurobridge.assemblies import make_assembly
from neurobridge.flows import ConditionalFlow, PairSampler, TransportResult

TINY = {"width": 64, "depth": 2}


def _linear_problem(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3, 2)) * 2
    b = rng.normal(size=3) * 3
    x = rng.normal(size=(n, 2))
    y = x @ a.T + b + 0.05 * rng.normal(size=(n, 3))
    return x.astype(np.float32), y.astype(np.float32), a, b


def _flow(**kw):
    params = dict(network="small", network_kwargs=TINY, steps=300, progress=False, device="cpu")
    params.update(kw)
    return ConditionalFlow(**params)


@pytest.fixture(scope="module")
def linear_flow():
    x, y, a, b = _linear_problem()
    return _flow().fit(x, y), a, b


def test_learns_a_known_linear_map_from_2d_to_3d(linear_flow):
    flow, a, b = linear_flow
    x_new = np.random.default_rng(1).uniform(-1.5, 1.5, size=(100, 2)).astype(np.float32)
    result = flow.transport(x_new, n_samples=16)
    assert isinstance(result, TransportResult)
    assert result.samples.shape == (100, 16, 3) and result.mean.shape == (100, 3)
    truth = x_new @ a.T + b
    rmse = np.sqrt(((result.mean - truth) ** 2).mean(axis=0))
    assert np.all(rmse < 0.1 * truth.std(axis=0)), (rmse, truth.std(axis=0))
    assert np.allclose(result.mean, result.samples.mean(axis=1), atol=1e-5)


class _SameClassPairs:
    """Label-matched coupling: each sampled source point is paired with a random target point of its class."""

    def __init__(self, source_labels, target_labels):
        self.source_labels = source_labels
        self.by_class = {c: np.flatnonzero(target_labels == c) for c in np.unique(target_labels)}

    def sample(self, batch_size, rng):
        src = rng.integers(0, len(self.source_labels), size=batch_size)
        tgt = np.array([rng.choice(self.by_class[c]) for c in self.source_labels[src]], dtype=np.int64)
        return src.astype(np.int64), tgt


def test_class_conditional_mixture_map_lands_on_class_means():
    rng = np.random.default_rng(0)
    n_class, n = 3, 900
    src_centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    tgt_means = np.array([[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]])
    offset = np.array([1.0, 0.0])
    ls, lt = rng.integers(0, n_class, n), rng.integers(0, n_class, n)
    x = src_centres[ls] + 0.3 * rng.normal(size=(n, 2))
    mode = rng.choice([-1.0, 1.0], size=(n, 1))
    y = tgt_means[lt] + mode * offset + 0.15 * rng.normal(size=(n, 2))
    sampler = _SameClassPairs(ls, lt)
    assert isinstance(sampler, PairSampler)
    flow = _flow(steps=600, lr=2e-3).fit(x.astype(np.float32), y.astype(np.float32), sampler=sampler)
    x_test = src_centres + 0.1 * rng.normal(size=(n_class, 2))
    result = flow.transport(x_test.astype(np.float32), n_samples=200, seed=3)
    assert np.linalg.norm(result.mean - tgt_means, axis=1).max() < 0.35
    spread = np.abs(result.samples[:, :, 0] - result.mean[:, None, 0]).mean(axis=1)
    assert np.all(spread > 0.5), spread


def test_different_source_and_target_dimensions_and_methods(linear_flow):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = np.tanh(x[:, :2] @ rng.normal(size=(2, 2))).astype(np.float32)
    flow = _flow(network="mlp", network_kwargs={"width": 32, "depth": 2}, steps=50).fit(x, y)
    assert (flow.d_x_, flow.d_y_) == (6, 2)
    for method, steps, nfe in [("euler", 4, 4), ("midpoint", 4, 8), ("rk4", 4, 16)]:
        out = flow.transport(x[:5], method=method, steps=steps, n_samples=3)
        assert out.samples.shape == (5, 3, 2) and out.nfe == nfe and out.method == method
    out = flow.transport(x[:5], method="dopri5", rtol=1e-4, atol=1e-4)
    assert out.mean.shape == (5, 2) and out.nfe > 0


def test_euler_and_dopri5_agree_on_a_trained_flow(linear_flow):
    flow, _, _ = linear_flow
    x = np.random.default_rng(4).normal(size=(50, 2)).astype(np.float32)
    fine = flow.transport(x, method="dopri5", rtol=1e-6, atol=1e-6, seed=1).mean
    coarse = flow.transport(x, method="euler", steps=64, seed=1).mean
    assert np.abs(fine - coarse).max() < 0.1


def test_transport_is_seeded_and_batch_independent(linear_flow):
    flow, _, _ = linear_flow
    x = np.random.default_rng(5).normal(size=(40, 2)).astype(np.float32)
    a = flow.transport(x, n_samples=3, seed=7).samples
    b = flow.transport(x, n_samples=3, seed=7, batch_size=16).samples
    c = flow.transport(x, n_samples=3, seed=8).samples
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert not np.allclose(a, c)


def test_tensor_input_gives_tensors(linear_flow):
    flow, _, _ = linear_flow
    out = flow.transport(torch.zeros(4, 2), n_samples=2)
    assert isinstance(out.mean, torch.Tensor) and out.samples.shape == (4, 2, 3)


def test_seeded_fits_are_deterministic():
    x, y, _, _ = _linear_problem(n=200)
    a = _flow(steps=30, ema=0.9).fit(x, y)
    b = _flow(steps=30, ema=0.9).fit(x, y)
    c = _flow(steps=30, ema=0.9, seed=1).fit(x, y)
    sa, sb, sc = (f.module_.state_dict() for f in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert a.history_ == b.history_


def test_save_then_load_gives_the_same_outputs(linear_flow, tmp_path):
    flow, _, _ = linear_flow
    flow.save(tmp_path / "flow")
    assert sorted(p.name for p in (tmp_path / "flow").iterdir()) == ["config.json", "history.json", "model.pt"]
    config = json.loads((tmp_path / "flow" / "config.json").read_text())
    assert config["d_x"] == 2 and config["d_y"] == 3 and config["params"]["network_kwargs"] == TINY
    loaded = ConditionalFlow.load(tmp_path / "flow", device="cpu")
    x = np.random.default_rng(6).normal(size=(20, 2)).astype(np.float32)
    np.testing.assert_array_equal(flow.transport(x, n_samples=2).samples, loaded.transport(x, n_samples=2).samples)
    assert loaded.history_ == flow.history_ and loaded.n_parameters_ == flow.n_parameters_
    state = torch.load(tmp_path / "flow" / "model.pt", weights_only=True)
    assert {"x_scaler.mean", "x_scaler.std", "y_scaler.mean", "y_scaler.std"} <= set(state)


def test_normalisation_statistics_are_stored(linear_flow):
    flow, _, _ = linear_flow
    x, y, _, _ = _linear_problem()
    np.testing.assert_allclose(flow.module_.y_scaler.mean.numpy(), y.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(flow.module_.x_scaler.std.numpy(), x.std(0), rtol=1e-4)


def test_resumed_fit_equals_an_uninterrupted_fit(tmp_path):
    x, y, _, _ = _linear_problem(n=300)
    kw = dict(steps=40, ema=0.9, val_fraction=0.1, val_every=10, warmup=4)
    straight = _flow(checkpoint_dir=tmp_path / "a", checkpoint_every=20, **kw).fit(x, y)
    _flow(checkpoint_dir=tmp_path / "b", **kw).fit(x, y, stop_at_step=20)
    resumed = _flow(checkpoint_dir=tmp_path / "b", **kw).fit(x, y, resume=True)
    assert resumed.n_steps_ == straight.n_steps_ == 40
    sa, sb = straight.module_.state_dict(), resumed.module_.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert resumed.history_ == straight.history_
    with pytest.raises(ValueError, match="statistics differ"):
        _flow(checkpoint_dir=tmp_path / "b", **kw).fit(x * 2, y, resume=True)
    with pytest.raises(ValueError, match="network_kwargs"):
        _flow(checkpoint_dir=tmp_path / "b", network_kwargs={"width": 32, "depth": 2}, **kw).fit(x, y, resume=True)


def test_assemblies_keep_presentation_coords_and_take_target_neuroid_coords():
    x, y, _, _ = _linear_problem(n=200)
    ids = [f"img{i}" for i in range(200)]
    source = make_assembly(x, stimulus_id=ids, neuroid_id=["s_a", "s_b"], presentation={"object_name": np.array(["car", "dog"] * 100)})
    target = make_assembly(y, stimulus_id=ids, neuroid_id=["IT_1", "IT_2", "V4_1"], neuroid={"region": ["IT", "IT", "V4"]})
    flow = _flow(steps=20).fit(source, target)
    out = flow.transport(source[:10], n_samples=4)
    assert isinstance(out.mean, xr.DataArray) and out.mean.dims == ("presentation", "neuroid")
    assert out.samples.dims == ("presentation", "sample", "neuroid") and out.samples.shape == (10, 4, 3)
    assert list(out.mean.coords["stimulus_id"].values) == ids[:10]
    assert list(out.mean.coords["object_name"].values) == ["car", "dog"] * 5
    assert list(out.mean.coords["neuroid_id"].values) == ["IT_1", "IT_2", "V4_1"]
    assert list(out.mean.coords["region"].values) == ["IT", "IT", "V4"]
    shuffled = source[:10].isel(neuroid=[1, 0])
    np.testing.assert_allclose(flow.transport(shuffled, n_samples=4).mean.values, out.mean.values, atol=1e-6)


def test_mismatched_dims_are_rejected_at_transport(linear_flow):
    flow, _, _ = linear_flow
    with pytest.raises(ValueError, match=r"x has 5 features .* d_x=2"):
        flow.transport(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        flow.transport(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="method"):
        flow.transport(np.zeros((3, 2), np.float32), method="leapfrog")


def test_transport_rejects_other_source_neuroids():
    x, y, _, _ = _linear_problem(n=100)
    flow = _flow(steps=5).fit(make_assembly(x, neuroid_id=["a", "b"]), y)
    with pytest.raises(ValueError, match="neuroid_id"):
        flow.transport(make_assembly(x[:3], neuroid_id=["a", "c"]))


def test_fit_input_checks_name_the_argument():
    x, y, _, _ = _linear_problem(n=50)
    bad = x.copy()
    bad[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or inf in 1 rows \(first rows: \[7\]\)"):
        _flow(steps=5).fit(bad, y)
    with pytest.raises(ValueError, match="x has 50 rows and y has 40"):
        _flow(steps=5).fit(x, y[:40])
    with pytest.raises(ValueError, match="not both"):
        _flow(steps=5).fit(x, y, pairs=([0], [0]), sampler=object())
    with pytest.raises(ValueError, match="patience needs validation"):
        _flow(steps=5, patience=3).fit(x, y)
    with pytest.raises(RuntimeError, match="not fitted"):
        _flow().transport(x)


def test_pairs_shortcut_and_validation_split():
    x, y, _, _ = _linear_problem(n=120)
    order = np.random.default_rng(0).permutation(120)
    flow = _flow(steps=20, val_fraction=0.25, val_every=10).fit(x[order], y, pairs=(np.argsort(order), np.arange(120)))
    assert flow.history_["val_step"] == [10, 20] and all(np.isfinite(flow.history_["val_loss"]))


@pytest.mark.parametrize("network", ["mlp", "small"])
def test_transport_chunks_change_no_number(network):
    from neurobridge.flows.model import TRANSPORT_ROWS

    rng = np.random.default_rng(9)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = rng.normal(size=(300, 3)).astype(np.float32)
    flow = _flow(network=network, network_kwargs={"width": 32, "depth": 2}, steps=30).fit(x, y)
    n_samples = 9  # 2,700 trajectories: a full CPU chunk plus a remainder
    assert len(x) * n_samples > TRANSPORT_ROWS["cpu"]
    whole = flow.transport(x, n_samples=n_samples, steps=4, seed=2, batch_size=len(x) * n_samples).samples
    for batch_size in (None, 7, 1000):
        chunked = flow.transport(x, n_samples=n_samples, steps=4, seed=2, batch_size=batch_size).samples
        np.testing.assert_array_equal(chunked, whole)
