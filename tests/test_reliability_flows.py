"""Checks that can fail before a long fit run before it, and a diverged fit fails at `fit`, saying what to change."""
import numpy as np
import pytest

from neurobridge import ConditionalFlow
from neurobridge.flows import trainer as trainer_module


def _pools(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(200, 4)), rng.normal(size=(200, 3))


@pytest.fixture
def no_training(monkeypatch):
    def refuse(self):
        raise AssertionError("a training step ran before the checkpoint folder was checked")

    monkeypatch.setattr(trainer_module.Trainer, "_one_step", refuse)


def test_a_checkpoint_dir_that_is_a_file_fails_before_training(tmp_path, no_training):
    blocker = tmp_path / "checkpoints"
    blocker.write_text("a file")
    x, y = _pools()
    with pytest.raises(ValueError, match="checkpoint_dir=.*is a file"):
        ConditionalFlow(network="mlp", steps=50, progress=False, checkpoint_dir=blocker).fit(x, y)


def test_a_checkpoint_dir_below_a_file_fails_before_training(tmp_path, no_training):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    x, y = _pools()
    with pytest.raises(ValueError, match="checkpoint_dir=.*cannot be written"):
        ConditionalFlow(network="mlp", steps=50, progress=False, checkpoint_dir=blocker / "sub").fit(x, y)


@pytest.mark.parametrize("lr", [3.0, 100.0])
def test_a_diverged_fit_fails_at_fit_and_names_the_learning_rate(lr):
    x, y = _pools()
    flow = ConditionalFlow(network="mlp", steps=300, lr=lr, grad_clip=None, progress=False, seed=0)
    with pytest.raises(FloatingPointError, match="diverged") as err:
        flow.fit(x, y)
    assert f"lr (now {lr:g})" in str(err.value) and "grad_clip" in str(err.value)


def test_a_fit_that_converges_is_not_taken_for_diverged():
    x, y = _pools()
    flow = ConditionalFlow(network="mlp", steps=300, progress=False, seed=0).fit(x, y)
    assert np.isfinite(flow.transport(x[:5], n_samples=2).mean).all()
