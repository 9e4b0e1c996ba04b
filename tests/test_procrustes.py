"""The one Procrustes implementation agrees with SciPy's and serves both of its callers."""
import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes

from neurobridge._procrustes import pad, rotation, scaling_stats


def test_rotation_matches_scipy_in_numpy_and_torch():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(30, 4))
    expected, _ = orthogonal_procrustes(x, y)
    np.testing.assert_allclose(rotation(x, y), expected, atol=1e-12)
    np.testing.assert_allclose(rotation(torch.as_tensor(x), torch.as_tensor(y)).numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("scaling", ["isotropic", "feature", "zscore", None])
def test_scalings_agree_between_backends(scaling):
    a = np.random.default_rng(1).normal(size=(20, 3)) * [1.0, 5.0, 0.0]
    mean, scale = scaling_stats(a, scaling)
    tmean, tscale = scaling_stats(torch.as_tensor(a), scaling)
    np.testing.assert_allclose(mean, tmean.numpy(), atol=1e-12)
    np.testing.assert_allclose(np.broadcast_to(scale, (3,)), np.broadcast_to(tscale.numpy(), (3,)), atol=1e-12)
    assert pad(a, 5).shape == (20, 5) and pad(torch.as_tensor(a), 5).shape == (20, 5)


def test_unknown_scaling_is_named():
    with pytest.raises(ValueError, match="scaling"):
        scaling_stats(np.ones((3, 2)), "minmax")
