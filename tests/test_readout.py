import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from neurobridge.assemblies import make_assembly
from neurobridge.evaluate import ReadoutResult, linear_probe_readout, prototype_readout
from neurobridge.evaluate.readout import LinearProbe, PrototypeReadout

CLASSES = np.array(["cat", "dog", "fish"])


def blobs(n_per_class, seed, spread=0.1, dim=5):
    rng = np.random.default_rng(seed)
    centres = np.eye(len(CLASSES), dim) * 10
    labels = np.repeat(CLASSES, n_per_class)
    x = np.repeat(centres, n_per_class, axis=0) + spread * rng.standard_normal((len(labels), dim))
    return x, labels


def as_assembly(x, labels, prefix):
    return make_assembly(x, stimulus_id=[f"{prefix}{i}" for i in range(len(x))], presentation={"label": labels})


def test_linear_probe_on_separable_data_is_perfect():
    x_train, y_train = blobs(30, seed=0)
    x_test, y_test = blobs(20, seed=1)
    result = linear_probe_readout(as_assembly(x_train, y_train, "tr"), as_assembly(x_test, y_test, "te"), label="label")
    assert result.accuracy == 1.0
    assert result.balanced_accuracy == 1.0
    assert list(result.confusion.coords["true"].values) == list(CLASSES)
    assert list(result.confusion.coords["predicted"].values) == list(CLASSES)
    np.testing.assert_array_equal(result.confusion.values, np.diag([20, 20, 20]))
    np.testing.assert_array_equal(result.predictions, y_test)


def test_arrays_and_assemblies_give_the_same_readout():
    x_train, y_train = blobs(30, seed=0, spread=4.0)
    x_test, y_test = blobs(30, seed=1, spread=4.0)
    from_arrays = linear_probe_readout(x_train, x_test, train_labels=y_train, test_labels=y_test)
    from_assemblies = linear_probe_readout(as_assembly(x_train, y_train, "a"), as_assembly(x_test, y_test, "b"))
    assert from_arrays.accuracy == from_assemblies.accuracy
    np.testing.assert_array_equal(from_arrays.predictions, from_assemblies.predictions)
    assert from_arrays.accuracy < 1.0


def test_confusion_and_balanced_accuracy_match_sklearn():
    rng = np.random.default_rng(3)
    labels = rng.choice(CLASSES, size=200, p=[0.6, 0.3, 0.1])
    predictions = np.where(rng.random(200) < 0.7, labels, rng.choice(CLASSES, size=200))
    result = ReadoutResult.from_predictions(labels, predictions)
    np.testing.assert_array_equal(result.confusion.values, confusion_matrix(labels, predictions, labels=CLASSES))
    assert result.balanced_accuracy == pytest.approx(balanced_accuracy_score(labels, predictions))
    assert result.accuracy == pytest.approx(np.mean(labels == predictions))
    assert int(result.confusion.sel(true="cat", predicted="dog")) == int(np.sum((labels == "cat") & (predictions == "dog")))


def test_probe_fitted_once_scores_many_point_sets():
    x_train, y_train = blobs(30, seed=0, spread=3.0)
    probe = LinearProbe().fit(x_train, y_train)
    good, y_good = blobs(20, seed=5, spread=0.1)
    bad = np.random.default_rng(6).standard_normal(good.shape) * 10
    assert probe.score(good, y_good).accuracy == 1.0
    assert probe.score(bad, y_good).accuracy < 0.7
    assert probe.predict_proba(good).shape == (60, 3)


def test_prototype_readout_with_one_row_per_class_and_with_class_means():
    x_test, y_test = blobs(10, seed=2, spread=0.5)
    prototypes = as_assembly(np.eye(3, 5) * 10, CLASSES, "p")
    result = prototype_readout(prototypes, as_assembly(x_test, y_test, "t"))
    assert result.accuracy == 1.0
    x_train, y_train = blobs(15, seed=4, spread=0.5)
    readout = PrototypeReadout(metric="euclidean").fit(x_train, y_train)
    np.testing.assert_allclose(readout.prototypes_[list(readout.classes_).index("dog")], x_train[y_train == "dog"].mean(0))
    assert readout.score(x_test, y_test).accuracy == 1.0


def test_cosine_prototype_ignores_norm_but_euclidean_does_not():
    prototypes = np.array([[1.0, 0.0], [0.0, 1.0]])
    points = np.array([[5.0, 0.5]])
    cosine = PrototypeReadout(metric="cosine").fit(prototypes, [0, 1]).predict(points)
    assert cosine[0] == 0
    far = np.array([[0.1, 3.0]])
    assert PrototypeReadout(metric="euclidean").fit(prototypes * 3, [0, 1]).predict(far)[0] == 1


def test_bad_inputs_name_the_argument():
    x_train, y_train = blobs(10, seed=0)
    with pytest.raises(ValueError, match="test_points|points"):
        linear_probe_readout(x_train, x_train[:, :3], train_labels=y_train, test_labels=y_train)
    with pytest.raises(ValueError, match="'label'"):
        linear_probe_readout(make_assembly(x_train), x_train, test_labels=y_train)
    with pytest.raises(ValueError, match="2-D"):
        linear_probe_readout(x_train[:, 0], x_train, train_labels=y_train, test_labels=y_train)
    with pytest.raises(ValueError, match="labels"):
        linear_probe_readout(x_train, x_train, train_labels=y_train[:5], test_labels=y_train)
    with pytest.raises(RuntimeError, match="not fitted"):
        LinearProbe().predict(x_train)
