import numpy as np
import pytest
from scipy.stats import ortho_group

from neurobridge.assemblies import make_assembly
from neurobridge.evaluate import identification_accuracy, linear_cka, rsa


def hsic_cka(x, y):
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    kx, ky = h @ x @ x.T @ h, h @ y @ y.T @ h
    return np.sum(kx * ky) / np.sqrt(np.sum(kx * kx) * np.sum(ky * ky))


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((200, 6)) @ np.diag([3, 2, 1, 1, 0.5, 0.2])


def test_cka_is_one_for_identical_and_invariant_to_rotation_and_isotropic_scaling(x):
    q = ortho_group.rvs(6, random_state=1)
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.7 * x @ q + 5.0) == pytest.approx(1.0)
    assert linear_cka(x, x @ np.diag([1, 1, 1, 1, 10, 10])) < 0.9


def test_cka_matches_the_hsic_definition_in_both_regimes(x):
    rng = np.random.default_rng(2)
    y = x[:, :4] @ rng.standard_normal((4, 3)) + rng.standard_normal((200, 3))
    assert linear_cka(x, y) == pytest.approx(hsic_cka(x, y))
    wide_x, wide_y = rng.standard_normal((20, 50)), rng.standard_normal((20, 30))
    assert linear_cka(wide_x, wide_y) == pytest.approx(hsic_cka(wide_x, wide_y))
    assert linear_cka(x, rng.standard_normal((200, 6))) < 0.2


def test_rsa_is_one_for_identical_and_invariant_to_per_stimulus_affine_changes(x):
    assert rsa(x, x) == pytest.approx(1.0)
    assert rsa(x, x * 2.0 + 1.0, method="pearson") == pytest.approx(1.0)
    unrelated = rsa(x, np.random.default_rng(3).standard_normal(x.shape))
    assert abs(unrelated) < 0.2


def test_identification_of_the_identity_map_is_perfect(x):
    for metric in ("cosine", "euclidean"):
        assert identification_accuracy(x, x, metric=metric) == {"top1": 1.0, "top5": 1.0}


def test_identification_counts_true_partners_among_nearest(x):
    perm = np.arange(len(x))
    perm[:50] = np.roll(perm[:50], 1)
    result = identification_accuracy(x[perm], x, metric="euclidean", top_k=(1, 5))
    assert result["top1"] == pytest.approx(150 / 200)
    noisy = x + 0.8 * np.random.default_rng(4).standard_normal(x.shape)
    scores = identification_accuracy(noisy, x, top_k=(1, 5, 200), chunk_size=7)
    assert scores["top1"] <= scores["top5"] < scores["top200"] == 1.0
    assert scores["top1"] == identification_accuracy(noisy, x, top_k=(1,))["top1"]


def test_assemblies_are_aligned_on_stimulus_id(x):
    ids = [f"s{i}" for i in range(len(x))]
    order = np.random.default_rng(5).permutation(len(x))
    a = make_assembly(x, stimulus_id=ids)
    b = make_assembly(x[order], stimulus_id=np.array(ids)[order])
    assert identification_accuracy(a, b)["top1"] == 1.0
    assert linear_cka(a, b) == pytest.approx(1.0)
    assert identification_accuracy(x, x[order])["top1"] < 0.1


def test_bad_inputs_name_the_argument(x):
    with pytest.raises(ValueError, match="predicted.*target"):
        identification_accuracy(x, x[:10])
    with pytest.raises(ValueError, match="target space"):
        identification_accuracy(x, x[:, :3])
    with pytest.raises(ValueError, match="method"):
        rsa(x, x, method="kendall")
    with pytest.raises(ValueError, match="2-D"):
        linear_cka(x[:, 0], x)
