"""Inputs that used to end in a raw traceback or a NaN now end in a result or a message naming the file."""
import struct

import numpy as np
import pytest
import torch

from neurobridge.couplings.sinkhorn import sinkhorn
from neurobridge.datasets.manifests import DataError
from neurobridge.datasets.mnist import read_idx


def test_an_idx_header_whose_size_overflows_is_a_data_error(tmp_path):
    path = tmp_path / "overflow.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">III", 2**31, 2**31, 2**31))
    with pytest.raises(DataError, match="overflow.idx"):
        read_idx(path)


def test_an_idx_header_cut_short_is_a_data_error(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">I", 5))
    with pytest.raises(DataError, match="short.idx"):
        read_idx(path)


def test_unscaled_sinkhorn_at_a_small_epsilon_in_float64_converges_without_nan():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 3)), rng.normal(size=(25, 3))
    cost = torch.tensor(((x[:, None] - y[None]) ** 2).sum(-1))
    unscaled = sinkhorn(cost, epsilon=1e-3, epsilon_scaling=False, tol=1e-3)
    scaled = sinkhorn(cost, epsilon=1e-3, tol=1e-9)
    plan = np.asarray(unscaled.plan)
    assert unscaled.converged and np.isfinite(plan).all()
    assert np.abs(plan.sum(1) - 1 / 25).sum() < 1e-3 and np.abs(plan.sum(0) - 1 / 25).sum() < 1e-3
    assert abs(unscaled.value - scaled.value) < 1e-3 * scaled.value


def test_complex_activations_are_refused_with_what_to_do():
    import neurobridge as nb
    from neurobridge.assemblies import AssemblyError, make_assembly

    rng = np.random.default_rng(0)
    values = rng.random((30, 5)) + 1j * rng.random((30, 5))
    with pytest.raises(AssemblyError, match="complex values.*np.abs"):
        make_assembly(values)
    layer = make_assembly(values.real).copy(data=values)
    with pytest.raises(AssemblyError, match="activations holds complex values"):
        nb.assemblies.validate(layer, name="activations")


def test_missing_decoding_labels_are_named():
    from neurobridge.assemblies import make_assembly
    from neurobridge.evaluate import decoding_curve

    rng = np.random.default_rng(0)
    labels = np.array(["a", "b"] * 20, dtype=object)
    labels[3] = None
    data = make_assembly(rng.random((40, 6)), presentation={"category": labels})
    with pytest.raises(ValueError, match="label='category' is missing .* for 1 of 40"):
        decoding_curve(data, label="category", n_sites=[2], repeats=1, groups=None, cv=2)
