"""``auto`` for label-matched bridges: screening, the no-validation fallback and validation on the outcome."""
import warnings

import numpy as np
import pytest

import neurobridge as nb
from neurobridge.couplings import AutoCoupling
from neurobridge.couplings.methods.auto import spreading_imbalance


def _prompt_like(n_per_class=60, classes=5, templates=6, seed=0):
    """Source: one well-separated blob per class. Target: ``templates x classes`` points that cluster by template
    (a template direction 4x stronger than the class direction), as text prompts do. Test points: fresh draws of the
    source blobs."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, 6)) * 4
    labels = np.repeat(np.arange(classes), n_per_class)
    x = centres[labels] + rng.standard_normal((labels.size, 6))
    test_labels = np.repeat(np.arange(classes), 20)
    test = centres[test_labels] + rng.standard_normal((test_labels.size, 6))
    template_dirs, class_dirs = rng.standard_normal((templates, 16)) * 4, rng.standard_normal((classes, 16))
    target_labels = np.tile(np.arange(classes), templates)
    target_templates = np.repeat(np.arange(templates), classes)
    y = template_dirs[target_templates] + class_dirs[target_labels] + 0.05 * rng.standard_normal((target_labels.size, 16))
    return x, y, labels, target_labels, test, test_labels, class_dirs


def _blob_pools(n_per_class=60, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    cx, cy = rng.standard_normal((classes, 6)) * 4, rng.standard_normal((classes, 4)) * 4
    labels = np.repeat(np.arange(classes), n_per_class)
    return cx[labels] + rng.standard_normal((labels.size, 6)), cy[labels] + rng.standard_normal((labels.size, 4)), labels


def test_spreading_imbalance_is_the_largest_total_variation_over_pools():
    codes = np.array([0, 1, 2, 2])  # bridges' class shares 1/4, 1/4, 1/2
    balanced = np.eye(3)[[0, 1, 2, 2]]
    skewed = np.eye(3)[[0, 0, 0, 1]]
    assert spreading_imbalance([balanced], codes, 3) == 0.0
    assert spreading_imbalance([balanced, skewed], codes, 3) == pytest.approx(0.5 * (0.5 + 0.0 + 0.5))


def test_label_spreading_is_screened_out_where_neighbourhoods_follow_templates_not_classes():
    x, y, lx, ly, *_ = _prompt_like()
    bridges = nb.Bridges.from_labels(lx, ly, count=10, seed=0)
    coupling = AutoCoupling(seed=0).fit(x, y, bridges)
    assert "label-spreading" in coupling.log["screened"]
    assert coupling.log["imbalance"]["label-spreading"] > 0.2
    assert coupling.log["selected"] != "label-spreading"
    assert "collapse_threshold" in coupling.log["selection"]["label-spreading"]["screened"]


def test_one_bridge_per_class_falls_back_to_the_documented_order():
    x, y, lx, ly, *_ = _prompt_like()
    one_each = nb.Bridges.from_labels(lx, ly, count=5, seed=0)
    with pytest.warns(RuntimeWarning, match="'bridge-ot'"):
        coupling = AutoCoupling(seed=0).fit(x, y, one_each)
    assert coupling.log["selected"] == "bridge-ot" and coupling.log["validated"] is False  # label spreading screened
    bx, by, labels = _blob_pools()
    one_each = nb.Bridges.from_labels(labels, labels, count=5, seed=0)
    with pytest.warns(RuntimeWarning, match="'label-spreading'"):
        coupling = AutoCoupling(seed=0).fit(bx, by, one_each)
    assert coupling.log["selected"] == "label-spreading" and coupling.log["screened"] == {}


@pytest.mark.slow
def test_validation_ranks_candidates_as_their_flows_outcome_does():
    """scikit-learn's digits (PCA-20) -> a real pretrained sentence model's prompt embeddings, 10 % labels: the
    candidates' validation means rank as their flows' zero-shot test accuracy does (about a minute on 2 cores)."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    from neurobridge.experiments.text_image import DIGIT_NAMES, TEMPLATES
    from neurobridge.text import class_prompt_embeddings

    digits = load_digits()
    x = PCA(20, random_state=0).fit_transform(digits.data / 16.0)
    prompts = class_prompt_embeddings(list(DIGIT_NAMES), templates=TEMPLATES)
    y, ly = prompts.values.astype(np.float64), prompts.coords["label"].values
    order = np.random.default_rng(0).permutation(len(x))
    pool, test = order[:1200], order[1200:]
    bridges = nb.Bridges.from_labels(digits.target[pool], ly, fraction=0.1, seed=0)
    names = ["bridge-ot", "supervised"]
    auto = AutoCoupling(names, seed=0).fit(x[pool], y, bridges)
    validated = {name: auto.log["selection"][name]["mean"] for name in names}
    prototypes = np.stack([y[ly == c].mean(0) for c in range(10)])
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    outcome = {}
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aligner = nb.Aligner(name, flow="mlp", steps=400, lr=2e-3, progress=False, seed=0).fit(x[pool], y, bridges)
        moved = np.asarray(aligner.transform(x[test], n_samples=4))
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        outcome[name] = float(np.mean((moved @ prototypes.T).argmax(1) == digits.target[test]))
    assert max(validated, key=validated.get) == max(outcome, key=outcome.get) == "bridge-ot", (validated, outcome)


def test_bad_screen_and_score_settings_are_named():
    from neurobridge.couplings import CouplingError

    x, y, labels = _blob_pools()
    bridges = nb.Bridges.from_labels(labels, labels, count=10, seed=0)
    for kwargs, name in (({"collapse_threshold": 1.5}, "collapse_threshold"), ({"consistency_threshold": -0.1}, "consistency_threshold"),
                         ({"label_score": "accuracy"}, "label_score"), ({"validation_flow": "short"}, "validation_flow")):
        with pytest.raises((CouplingError, TypeError), match=name):
            AutoCoupling(**kwargs).fit(x, y, bridges)
