"""The majaj experiment evaluates inductively by default: test stimuli sit in neither pool."""
from pathlib import Path

import numpy as np
import pytest

from neurobridge.experiments.config import RunConfig
from neurobridge.experiments.majaj import EXPERIMENT

pytestmark = pytest.mark.realdata


def _context(tmp_path, **options):
    config = RunConfig("majaj", (0.4,), (0,), ("ridge",), Path(tmp_path), device="cpu", progress=False, quick=True,
                       options=options)
    return EXPERIMENT.setup(config), config


def test_inductive_split_keeps_test_stimuli_out_of_both_pools(tmp_path):
    context, config = _context(tmp_path)
    assert EXPERIMENT.settings(config)["protocol"] == "inductive"
    for seed in (0, 1):
        split = EXPERIMENT.bridges(context, 0.4, seed)
        pool_stimuli_source = set(context.trial_stimulus[split.source_rows])
        pool_stimuli_target = set(context.stimuli[split.target_rows])
        assert len(split.test) > 0
        assert not pool_stimuli_source & set(split.test) and not pool_stimuli_target & set(split.test)
        assert set(split.labelled) <= pool_stimuli_source and not set(split.labelled) & set(split.test)
        bridged = context.trial_stimulus[split.source_rows[split.bridges.source_index]]
        assert set(bridged) == set(split.labelled)
        np.testing.assert_array_equal(context.stimuli[split.target_rows[split.bridges.target_index]], bridged)
    other = EXPERIMENT.bridges(context, 0.4, 1)
    assert set(other.test) != set(EXPERIMENT.bridges(context, 0.4, 0).test)  # each seed holds out its own stimuli


def test_transductive_protocol_is_named_and_scores_the_unlabelled_pool(tmp_path):
    context, config = _context(tmp_path, protocol="transductive")
    assert EXPERIMENT.settings(config)["protocol"] == "transductive"
    split = EXPERIMENT.bridges(context, 0.4, 0)
    assert set(split.test) == set(context.stimuli) - set(split.labelled)
    assert set(context.stimuli[split.target_rows]) == set(context.stimuli)


def test_bad_protocol_is_named(tmp_path):
    with pytest.raises(ValueError, match="protocol"):
        _context(tmp_path, protocol="both")
