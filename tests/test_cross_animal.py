"""Cross-animal alignment: selecting an animal when loading, and the noise-corrected inter-animal consistency."""
from __future__ import annotations

import numpy as np
import pytest

import neurobridge as nb
from neurobridge.evaluate import inter_animal_consistency
from neurobridge.evaluate.consistency import noise_corrected, trial_array


@pytest.mark.realdata
def test_load_selects_animals_on_the_slice(shared_data):
    shared_data("majajhong2015_slice25.nc")
    everyone = nb.load("majajhong2015.slice25")
    chabo = nb.load("majajhong2015.slice25", animal="Chabo")
    tito_it = nb.load("majajhong2015.slice25", region="IT", animal="Tito")
    both = nb.load("majajhong2015.slice25", animal=["Chabo", "Tito"])
    assert set(chabo.animal.values) == {"Chabo"} and chabo.sizes["neuroid"] == 128
    assert set(tito_it.animal.values) == {"Tito"} and set(tito_it.region.values) == {"IT"}
    assert tito_it.sizes["neuroid"] == 110
    assert both.sizes["neuroid"] == everyone.sizes["neuroid"] == 296
    np.testing.assert_array_equal(chabo.values, everyone.values[:, everyone.animal.values == "Chabo"])
    assert chabo.sizes["presentation"] == 25


@pytest.mark.realdata
def test_load_names_the_animals_present_when_one_is_missing(shared_data):
    shared_data("majajhong2015_slice25.nc")
    with pytest.raises(ValueError, match=r"animal \['Bento'\].*animals present: \['Chabo', 'Tito'\]"):
        nb.load("majajhong2015.slice25", animal="Bento")
    with pytest.raises(ValueError, match="animal must be a name"):
        nb.load("majajhong2015.slice25", animal=[])
    with pytest.raises(ValueError, match="animal must be a name"):
        nb.load("majajhong2015.slice25", animal=3)


def _animals(share: float, reliability: float, *, n_stimuli=600, n_reps=8, d=5, seed=0):
    """Two animals' trials: A's 30 sites are noisy linear read-outs of a d-dim latent; each of B's 40 sites is
    ``share * (a read-out of the latent) + sqrt(1 - share^2) * (a private signal)``, so the noise-free correlation
    between B's best prediction from the latent and B is ``share``. Trial noise sets the per-site Spearman-Brown
    reliability of the n_reps-average to ``reliability``."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n_stimuli, d))
    signal_a = latent @ rng.standard_normal((d, 30))
    shared = latent @ rng.standard_normal((d, 40))
    private = rng.standard_normal((n_stimuli, 40))
    signal_b = share * shared / shared.std(0) + np.sqrt(1 - share ** 2) * private
    signal_a = signal_a / signal_a.std(0)
    noise_sd = np.sqrt(n_reps * (1 - reliability) / reliability)
    trials_a = signal_a + noise_sd * rng.standard_normal((n_reps, n_stimuli, 30))
    trials_b = signal_b + noise_sd * rng.standard_normal((n_reps, n_stimuli, 40))
    return trials_a, trials_b


@pytest.mark.parametrize("share", [1.0, 0.6])
def test_consistency_recovers_the_noise_free_correlation(share):
    a, b = _animals(share, reliability=0.6)
    result = inter_animal_consistency(a, b, n_shared=400, n_splits=3, seed=1)
    assert result.target_reliability == pytest.approx(0.6, abs=0.08)
    assert result.raw < share - 0.15
    assert result.consistency == pytest.approx(share, abs=0.07)
    assert result.n_shared == 400 and result.n_test == 200 and len(result.per_split) == 3


def test_consistency_of_unrelated_animals_is_near_zero():
    a, _ = _animals(1.0, reliability=0.8, seed=2)
    _, b = _animals(1.0, reliability=0.8, seed=3)
    result = inter_animal_consistency(a, b, n_shared=400, n_splits=2, seed=0)
    assert abs(result.consistency) < 0.1


def test_consistency_is_deterministic_and_takes_explicit_splits():
    a, b = _animals(0.8, reliability=0.7, n_stimuli=60)
    first = inter_animal_consistency(a, b, n_shared=10, n_splits=4, seed=5)
    again = inter_animal_consistency(a, b, n_shared=10, n_splits=4, seed=5)
    np.testing.assert_array_equal(first.per_split, again.per_split)
    explicit = inter_animal_consistency(a, b, splits=[(np.arange(10), np.arange(10, 60))], seed=0)
    assert explicit.n_shared == 10 and explicit.n_test == 50
    assert explicit.fraction(explicit.consistency) == pytest.approx(1.0)


def test_noise_corrected_is_spearmans_correction_on_medians():
    assert noise_corrected([0.2, 0.3, 0.4], [0.5, 0.5, 0.5], [0.8, 0.8, 0.9]) == pytest.approx(0.3 / np.sqrt(0.5 * 0.8))
    assert np.isnan(noise_corrected([0.3], [0.0], [0.8]))


def test_consistency_reads_trial_level_assemblies():
    import xarray as xr

    a, b = _animals(0.8, reliability=0.7, n_stimuli=40, n_reps=4)
    ids = np.array([f"im{i:03d}" for i in range(40)])

    def assembly(trials, shuffle):
        reps, stimuli, sites = trials.shape
        values = trials.reshape(reps * stimuli, sites)
        order = np.random.default_rng(shuffle).permutation(len(values))
        return xr.DataArray(values[order], dims=("presentation", "neuroid"),
                            coords={"stimulus_id": ("presentation", np.tile(ids, reps)[order]),
                                    "repetition": ("presentation", np.repeat(np.arange(reps), stimuli)[order])})

    back, back_ids = trial_array(assembly(a, 0))
    np.testing.assert_array_equal(back_ids, ids)
    np.testing.assert_allclose(back, a)
    from_arrays = inter_animal_consistency(a, b, n_shared=10, n_splits=2, seed=0)
    from_assemblies = inter_animal_consistency(assembly(a, 1), assembly(b, 2), n_shared=10, n_splits=2, seed=0)
    np.testing.assert_allclose(from_assemblies.per_split, from_arrays.per_split)


def test_consistency_errors_name_the_argument():
    a, b = _animals(0.8, reliability=0.7, n_stimuli=30)
    with pytest.raises(ValueError, match="n_shared is required"):
        inter_animal_consistency(a, b)
    with pytest.raises(ValueError, match="n_test must be an integer in \\[3, 2\\]"):
        inter_animal_consistency(a, b, n_shared=28)
    with pytest.raises(ValueError, match="source has 1 repetition"):
        inter_animal_consistency(a[:1], b, n_shared=5)
    with pytest.raises(ValueError, match="source has 20 stimuli and target 30"):
        inter_animal_consistency(a[:, :20], b, n_shared=5)
    with pytest.raises(ValueError, match="test stimulus is also a shared"):
        inter_animal_consistency(a, b, splits=[(np.arange(5), np.arange(4, 12))])
    with pytest.raises(ValueError, match="shape \\(n_repetitions, n_stimuli, n_sites\\)"):
        inter_animal_consistency(a.mean(0), b, n_shared=5)


def test_split_half_and_map_reliability_match_the_generator():
    from neurobridge.evaluate.consistency import map_reliability, split_half_reliability

    a, _ = _animals(1.0, reliability=0.5, n_stimuli=2000, n_reps=10, seed=4)
    assert np.median(split_half_reliability(a, seed=0)) == pytest.approx(0.5, abs=0.04)
    assert np.median(map_reliability(lambda x: 2.0 * x + 1.0, a, seed=0)) == pytest.approx(0.5, abs=0.04)
    averaged = map_reliability(lambda x: x.mean(1, keepdims=True), a, seed=0)
    assert averaged[0] > 0.6
