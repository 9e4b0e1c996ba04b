import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from neurobridge.evaluate import frechet_distance, generation_metrics
from neurobridge.evaluate.generation import gaussian_frechet_distance


def sample_with_moments(mean, cov, n, seed):
    """Draw n points whose sample mean and unbiased sample covariance equal mean and cov exactly."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z @ np.linalg.cholesky(cov).T + mean


def psd_sqrt(a):
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 9.0])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    a = sample_with_moments(mu_a, np.diag(var_a), 500, seed=0)
    b = sample_with_moments(mu_b, np.diag(var_b), 300, seed=1)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_matches_closed_form_for_general_covariances():
    rng = np.random.default_rng(2)
    q1, q2 = ortho_group.rvs(5, random_state=3), ortho_group.rvs(5, random_state=4)
    cov_a, cov_b = q1 @ np.diag([5, 2, 1, 0.5, 0.1]) @ q1.T, q2 @ np.diag([3, 3, 1, 1, 0.2]) @ q2.T
    mu_a, mu_b = rng.standard_normal(5), rng.standard_normal(5)
    root_a = psd_sqrt(cov_a)
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * psd_sqrt(root_a @ cov_b @ root_a))
    assert gaussian_frechet_distance(mu_a, cov_a, mu_b, cov_b) == pytest.approx(expected, rel=1e-8)
    a, b = sample_with_moments(mu_a, cov_a, 400, 5), sample_with_moments(mu_b, cov_b, 400, 6)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_is_finite_with_fewer_samples_than_features():
    rng = np.random.default_rng(7)
    value = frechet_distance(rng.standard_normal((10, 40)), rng.standard_normal((12, 40)))
    assert np.isfinite(value) and value > 0


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="feats_a.*feats_b"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="feats_b"):
        frechet_distance(np.zeros((5, 3)), np.zeros((1, 3)))


class PixelClassifier:
    """A stand-in judge: logistic regression on pixels, features = its decision values."""

    def __init__(self, images, labels):
        self.model = LogisticRegression(max_iter=2000).fit(images.reshape(len(images), -1), labels)

    def predict(self, images):
        return self.model.predict(np.asarray(images).reshape(len(images), -1))

    def features(self, images):
        return self.model.decision_function(np.asarray(images).reshape(len(images), -1))


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    images, labels = d.images[order], d.target[order]
    return images[:1000], labels[:1000], images[1000:], labels[1000:], PixelClassifier(images[:1000], labels[:1000])


def test_real_images_score_well_and_mislabelled_ones_do_not(digits):
    train_x, train_y, test_x, test_y, judge = digits
    real = generation_metrics(test_x, test_y, judge, train_x, train_y)
    assert real.accuracy == pytest.approx(np.mean(judge.predict(test_x) == test_y))
    assert real.accuracy > 0.9
    shuffled = np.roll(test_y, 1)
    wrong = generation_metrics(test_x, shuffled, judge, train_x, train_y)
    assert wrong.accuracy < 0.3
    assert wrong.mse > 5 * real.mse
    noise = np.random.default_rng(1).uniform(0, 16, test_x.shape)
    assert generation_metrics(noise, test_y, judge, train_x, train_y).frechet_distance > 5 * real.frechet_distance


def test_per_class_mse_is_zero_for_class_means(digits):
    train_x, train_y, _, _, judge = digits
    classes = np.arange(10)
    means = np.stack([train_x[train_y == c].mean(0) for c in classes])
    result = generation_metrics(means, classes, judge, train_x, train_y, frechet=False)
    np.testing.assert_allclose(result.per_class_mse.values, 0.0, atol=1e-20)
    assert list(result.per_class_mse.coords["class"].values) == list(classes)
    assert np.isnan(result.frechet_distance)
    blurred = generation_metrics(means + 1.0, classes, judge, train_x, train_y, frechet=False)
    assert blurred.mse == pytest.approx(1.0)


def test_generation_metrics_bad_inputs(digits):
    train_x, train_y, test_x, test_y, judge = digits
    with pytest.raises(ValueError, match="labels"):
        generation_metrics(test_x, test_y[:3], judge, train_x, train_y)
    with pytest.raises(TypeError, match="classifier"):
        generation_metrics(test_x, test_y, object(), train_x, train_y)
    with pytest.raises(ValueError, match="real_images"):
        generation_metrics(test_x, test_y, judge, np.zeros((5, 28, 28)), train_y[:5])
