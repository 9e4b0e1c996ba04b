import numpy as np
import pytest
import torch
from scipy.stats import ortho_group
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from neurobridge.assemblies import make_assembly
from neurobridge.baselines import FusedVAE, RegressionMap, SupervisedClassifier, labelled_indices
from neurobridge.evaluate.readout import LinearProbe


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    images, labels = d.images[order].astype(np.float32), d.target[order]
    labelled = np.random.default_rng(1).choice(1400, 280, replace=False)
    return images[:1400], labels[:1400], images[1400:], labels[1400:], labelled


def test_procrustes_recovers_a_rotation_exactly():
    rng = np.random.default_rng(0)
    q = ortho_group.rvs(6, random_state=1)
    x = rng.standard_normal((40, 6)) * [3, 2, 1, 1, 1, 0.5] + 2.0
    y = 2.5 * x @ q - 1.0
    new = rng.standard_normal((10, 6))
    fitted = RegressionMap("procrustes").fit(x, y)
    np.testing.assert_allclose(fitted.transform(new), 2.5 * new @ q - 1.0, atol=1e-9)


def test_procrustes_zero_pads_to_map_between_dimensions():
    rng = np.random.default_rng(2)
    q = ortho_group.rvs(5, random_state=3)
    x = rng.standard_normal((30, 3))
    y = np.hstack([x, np.zeros((30, 2))]) @ q
    fitted = RegressionMap("procrustes").fit(x, y)
    new = rng.standard_normal((8, 3))
    np.testing.assert_allclose(fitted.transform(new), np.hstack([new, np.zeros((8, 2))]) @ q, atol=1e-9)
    feature_scaled = RegressionMap("procrustes", scaling="feature").fit(x, y).transform(new)
    assert feature_scaled.shape == (8, 5)


@pytest.mark.parametrize("kind, options", [("ridge", {"alpha": 1e-8}), ("pls", {"n_components": 4})])
def test_ridge_and_pls_recover_a_linear_map(kind, options):
    rng = np.random.default_rng(4)
    w, b = rng.standard_normal((4, 7)), rng.standard_normal(7)
    x = rng.standard_normal((60, 4))
    new = rng.standard_normal((10, 4))
    fitted = RegressionMap(kind, **options).fit(x, x @ w + b)
    np.testing.assert_allclose(fitted.transform(new), new @ w + b, atol=1e-5)


def test_regression_map_readout_uses_the_target_probe():
    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1, 2], 40)
    y = np.eye(3, 4)[labels] * 5 + 0.3 * rng.standard_normal((120, 4))
    q = ortho_group.rvs(4, random_state=6)
    x = y @ q.T
    probe = LinearProbe().fit(y, labels)
    source = make_assembly(x, presentation={"label": labels})
    bridges = np.arange(0, 120, 10)
    fitted = RegressionMap("procrustes").fit(x[bridges], y[bridges])
    assert fitted.readout(source, probe).accuracy == 1.0
    assert fitted.transform(source).coords["label"].values.tolist() == labels.tolist()


def test_labelled_indices_accepts_masks_and_indices_and_names_the_argument():
    mask = np.zeros(10, dtype=bool)
    mask[[1, 3]] = True
    np.testing.assert_array_equal(labelled_indices(mask, 10), [1, 3])
    np.testing.assert_array_equal(labelled_indices([3, 1, 3], 10), [1, 3])
    with pytest.raises(ValueError, match="labelled"):
        labelled_indices([0, 12], 10)
    with pytest.raises(ValueError, match="labelled"):
        labelled_indices(mask[:5], 10)
    unfitted = RegressionMap("cca")
    assert unfitted.get_params()["kind"] == "cca"
    with pytest.raises(ValueError, match="kind"):
        unfitted.fit(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(TypeError, match="alpha"):
        RegressionMap(alpha="1").fit(np.ones((5, 2)), np.ones((5, 2)))
    with pytest.raises(TypeError, match="n_components"):
        RegressionMap("pls", n_components=True).fit(np.ones((5, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="x_bridges.*y_bridges"):
        RegressionMap().fit(np.zeros((5, 2)), np.zeros((4, 2)))


def test_logistic_baseline_uses_only_the_labelled_rows(digits):
    train_x, train_y, test_x, test_y, labelled = digits
    hidden = np.full_like(train_y, -1)
    hidden[labelled] = train_y[labelled]
    model = SupervisedClassifier("logistic").fit(train_x.reshape(1400, -1), hidden, labelled)
    full = SupervisedClassifier("logistic").fit(train_x.reshape(1400, -1), train_y, labelled)
    np.testing.assert_array_equal(model.predict(test_x.reshape(len(test_x), -1)), full.predict(test_x.reshape(len(test_x), -1)))
    assert -1 not in model.classes_
    assert model.score(test_x.reshape(len(test_x), -1), test_y).accuracy > 0.85


def test_cnn_baseline_learns_from_few_labels(digits):
    train_x, train_y, test_x, test_y, labelled = digits
    model = SupervisedClassifier("cnn", seed=0, device="cpu").fit(train_x, train_y, labelled)
    assert model.score(test_x, test_y).accuracy > 0.85


def test_fused_vae_generates_and_recognises(digits):
    train_x, train_y, test_x, test_y, labelled = digits
    judge = LogisticRegression(max_iter=3000).fit(train_x.reshape(1400, -1), train_y)
    vae = FusedVAE(seed=0, device="cpu", epochs=40).fit(train_x, train_y, labelled)
    generated = vae.generate(np.arange(10).repeat(5))
    assert generated.shape == (50, 8, 8)
    assert 0 <= generated.min() and generated.max() <= 16
    assert np.mean(judge.predict(generated.reshape(50, -1)) == np.arange(10).repeat(5)) > 0.8
    assert vae.score(test_x, test_y).accuracy > 0.6
    assert vae.encode_labels([0, 1]).shape == (2, 8)


def test_fused_vae_is_reproducible_and_leaves_the_global_rng_alone(digits):
    train_x, train_y, _, _, labelled = digits
    state = torch.get_rng_state()
    a = FusedVAE(seed=3, device="cpu", epochs=2).fit(train_x[:300], train_y[:300], labelled[labelled < 300])
    b = FusedVAE(seed=3, device="cpu", epochs=2).fit(train_x[:300], train_y[:300], labelled[labelled < 300])
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(a.encode_labels([1, 2]), b.encode_labels([1, 2]))
    with pytest.raises(ValueError, match="labels"):
        FusedVAE().fit(train_x, train_y[:10], labelled)


@pytest.mark.parametrize("model", ["fused-vae", "cnn"])
def test_multi_tensor_adam_trains_to_the_same_weights_as_the_per_parameter_loop(digits, monkeypatch, model):
    """The baselines' Adam takes one multi-tensor step for all parameters (speed); the weights it reaches equal
    those of torch's per-parameter loop (``foreach=False``) on the same seed."""
    import neurobridge._training as training

    train_x, train_y, _, _, labelled = digits
    rows = labelled[labelled < 400]

    def fit():
        if model == "fused-vae":
            net = FusedVAE(seed=5, device="cpu", epochs=3).fit(train_x[:400], train_y[:400], rows).net_
        else:
            net = SupervisedClassifier("cnn", seed=5, device="cpu", config={"epochs": 2, "min_steps": 10}).fit(
                train_x[:400], train_y[:400], rows).model_
        return [p.detach().clone() for p in net.parameters()]

    calls = []
    real = torch.optim.Adam

    def spy(params, **kwargs):
        calls.append(kwargs.get("foreach"))
        return real(params, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", spy)
    fast = fit()
    assert calls and all(c is True for c in calls)
    monkeypatch.setattr(training, "adam", lambda params, **kw: real(params, foreach=False, **kw))
    if model == "fused-vae":
        import neurobridge.baselines.fused_vae as fused_vae

        monkeypatch.setattr(fused_vae, "adam", lambda params, **kw: real(params, foreach=False, **kw))
    slow = fit()
    assert len(fast) == len(slow) > 2
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
