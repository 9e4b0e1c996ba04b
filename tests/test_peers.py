"""The peer toolboxes' alignments behind neurobridge.peers: fitted on bridges alone, predicting target responses."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurobridge import peers


def _pair(n=60, d=4, d_x=30, d_y=45, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, d))
    x = latent @ rng.standard_normal((d, d_x)) + noise * rng.standard_normal((n, d_x))
    y = latent @ rng.standard_normal((d, d_y)) + 3.0 + noise * rng.standard_normal((n, d_y))
    return x, y


def _median_r(a, b):
    a, b = a - a.mean(0), b - b.mean(0)
    return float(np.median((a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))))


@pytest.mark.parametrize("name, floor", [("procrustes", 0.9), ("ridge", 0.95), ("ot", 0.5)])
def test_fmralign_peers_predict_held_out_targets_from_bridges_alone(name, floor):
    pytest.importorskip("fmralign", reason="fmralign is in the dev and peers extras")
    x, y = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = peers.available()[name]().fit(x[:40], y[:40])
    predicted = fitted.predict(x[40:])
    assert predicted.shape == (20, 45)
    assert _median_r(predicted, y[40:]) > floor
    shuffled = fitted.predict(np.random.default_rng(1).permutation(x[40:], axis=1))
    assert _median_r(shuffled, y[40:]) < floor


def test_fmralign_procrustes_records_unequal_dimensions_and_equals_the_orthogonal_solution():
    pytest.importorskip("fmralign", reason="fmralign is in the dev and peers extras")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 6))
    rotation = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    y = 2.0 * x @ rotation
    fitted = peers.procrustes(x, y, standardize=False)
    np.testing.assert_allclose(fitted.predict(x), y, atol=1e-8)
    assert fitted.notes_ == []
    assert "semi-orthogonal" in peers.procrustes(x, y[:, :4]).notes_[0]


def test_fmralign_ridge_needs_as_many_bridges_as_folds():
    pytest.importorskip("fmralign", reason="fmralign is in the dev and peers extras")
    x, y = _pair()
    with pytest.raises(ValueError, match="needs at least 4 bridges; got 3"):
        peers.ridge(x[:3], y[:3])


def test_peers_check_their_inputs():
    x, y = _pair()
    with pytest.raises(ValueError, match="x_bridges has 10 rows and y_bridges 12"):
        peers.FmralignProcrustes().fit(x[:10], y[:12])
    with pytest.raises(ValueError, match="x_bridges must be a 2-D array"):
        peers.FmralignOT().fit(x[0], y[:1])
    with pytest.raises(ValueError, match="y_bridges holds NaN"):
        peers.FmralignRidge().fit(x[:10], np.where(y[:10] > 3, np.nan, y[:10]))
    with pytest.raises(RuntimeError, match="call fit"):
        peers.BrainiakSRM().predict(x)
    with pytest.raises(ValueError, match="toolbox must be one of"):
        peers.available("pymvpa")


def test_brainiak_srm_predicts_or_says_how_to_install():
    x, y = _pair(noise=0.1)
    if not peers.available("brainiak"):
        with pytest.raises(ImportError, match=r"neurobridge\[peers\]"):
            peers.srm(x[:40], y[:40])
        return
    fitted = peers.srm(x[:40], y[:40], features=4)
    assert _median_r(fitted.predict(x[40:]), y[40:]) > 0.9
    assert fitted.notes_ == ["SRM with 4 shared features"]
    again = peers.srm(x[:40], y[:40], features=4)
    np.testing.assert_array_equal(fitted.predict(x[40:]), again.predict(x[40:]))
    with pytest.raises(ValueError, match="features must lie in \\[1, 6\\]"):
        peers.srm(x[:6], y[:6], features=7)
