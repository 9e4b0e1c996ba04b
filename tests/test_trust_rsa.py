"""RSA and CKA with inference, on rsatoolbox (issue 21): our numbers equal rsatoolbox's where both compute them."""
from __future__ import annotations

import numpy as np
import pytest

from neurobridge.assemblies import average_repetitions, make_assembly
from neurobridge.evaluate import rsa
from neurobridge.evaluate.diagnostics import rdm

rsatoolbox = pytest.importorskip("rsatoolbox")


def _spaces(n=20, n_reps=4, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 5))
    ids = np.array([f"img{i:02d}" for i in range(n)])
    model = make_assembly(z @ rng.standard_normal((5, 30)) + 0.5 * rng.standard_normal((n, 30)), stimulus_id=ids)
    mean = z @ rng.standard_normal((5, 16))
    trials = make_assembly(np.concatenate([mean + 0.7 * rng.standard_normal(mean.shape) for _ in range(n_reps)]),
                           stimulus_id=np.tile(ids, n_reps), presentation={"repetition": np.repeat(np.arange(n_reps), n)})
    return model, trials


def test_rdms_and_their_correlation_equal_rsatoolbox():
    from neurobridge.evaluate.rdms import to_rdms

    model, trials = _spaces()
    neural = average_repetitions(trials)
    order = np.argsort(model.stimulus_id.values)
    np.testing.assert_allclose(to_rdms(model).get_vectors()[0], rdm(model.values[order]), atol=1e-12)
    theirs = to_rdms(neural)
    np.testing.assert_allclose(theirs.get_vectors()[0], rdm(neural.sortby("stimulus_id").values), atol=1e-12)
    for ours, method in (("spearman", "spearman"), ("pearson", "corr")):
        expected = rsatoolbox.rdm.compare(to_rdms(model), theirs, method=method)[0, 0]
        assert rsa(model, neural, method=ours) == pytest.approx(expected, abs=1e-12)


def test_rsa_inference_has_a_bootstrap_over_stimuli_and_a_noise_ceiling():
    from neurobridge.evaluate import rsa_inference

    model, trials = _spaces()
    result = rsa_inference(model, trials, n_bootstrap=100, seed=1)
    assert result.value == pytest.approx(rsa(model, average_repetitions(trials)), abs=1e-12)
    assert result.ci95[0] < result.value < result.ci95[1] and result.sem > 0
    low, high = result.noise_ceiling
    assert 0 < low <= high <= 1
    again = rsa_inference(model, trials, n_bootstrap=100, seed=1)
    assert again.sem == result.sem and again.ci95 == result.ci95
    assert rsa_inference(model, trials, n_bootstrap=100, seed=2).sem != result.sem
    assert "noise ceiling" in repr(result) and "95% CI" in repr(result)
    with pytest.raises(ValueError, match="method='kendall'"):
        rsa_inference(model, trials, method="kendall")
    with pytest.raises(ValueError, match="n_bootstrap"):
        rsa_inference(model, trials, n_bootstrap=1)


def test_cka_bootstrap_and_rdm_plot():
    from neurobridge.evaluate import cka_bootstrap, linear_cka, plot_rdm

    model, trials = _spaces()
    neural = average_repetitions(trials)
    out = cka_bootstrap(model, neural, n_bootstrap=50, seed=0)
    assert out["cka"] == linear_cka(model, neural) and out["ci95_low"] <= out["ci95_high"] and out["sem"] > 0
    fig = plot_rdm(neural)
    assert "correlation distance" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt

    plt.close("all")
