"""Aligner.save / nb.Aligner.load (issue 21): round trip, and a clear refusal of another version or a damaged file."""
from __future__ import annotations

import json

import numpy as np
import pytest

import neurobridge as nb
from neurobridge.assemblies import make_assembly


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    labels = np.repeat([f"c{k}" for k in range(3)], 20)
    centres = 2.0 * rng.standard_normal((3, 5))
    x = centres[np.repeat(np.arange(3), 20)] + 0.3 * rng.standard_normal((60, 5))
    source = make_assembly(x, stimulus_id=[f"s{i}" for i in range(60)], presentation={"category_name": labels})
    target = make_assembly(x[:, :3] @ rng.standard_normal((3, 4)), stimulus_id=[f"s{i}" for i in range(60)],
                           presentation={"category_name": labels})
    bridges = nb.Bridges.sample(source, target, fraction=0.2, stratify_by=None, seed=0)
    aligner = nb.Aligner(coupling="bridge-ot", steps=60, batch_size=30, device="cpu", seed=0, progress=False)
    return aligner.fit(source, target, bridges), source


def _rewrite_header(path, **changes):
    from neurobridge.persistence import MAGIC

    raw = path.read_bytes()
    start = len(MAGIC)
    end = raw.index(b"\n", start)
    header = json.loads(raw[start:end])
    header.update(changes)
    path.write_bytes(raw[:start] + json.dumps(header).encode() + raw[end:])


def test_save_and_load_round_trip(fitted, tmp_path):
    aligner, source = fitted
    path = aligner.save(tmp_path / "sub" / "aligner.nb")
    assert path.is_file() and not list(path.parent.glob(".*part"))
    loaded = nb.Aligner.load(path)
    assert type(loaded) is type(aligner) and loaded.get_params() == aligner.get_params()
    np.testing.assert_array_equal(loaded.transform(source, seed=3).values, aligner.transform(source, seed=3).values)
    from neurobridge.persistence import read_header

    header = read_header(path)
    assert header["neurobridge"] == nb.__version__ and header["class"] == "neurobridge.align.Aligner"


def test_a_version_mismatch_is_refused_with_both_versions(fitted, tmp_path):
    aligner, source = fitted
    path = aligner.save(tmp_path / "aligner.nb")
    _rewrite_header(path, neurobridge="0.0.1-other")
    with pytest.raises(ValueError, match=rf"saved by neurobridge '0.0.1-other'; this is neurobridge '{nb.__version__}'.*check_version=False"):
        nb.Aligner.load(path)
    loaded = nb.Aligner.load(path, check_version=False)
    np.testing.assert_array_equal(loaded.transform(source, seed=1).values, aligner.transform(source, seed=1).values)
    _rewrite_header(path, format=99)
    with pytest.raises(ValueError, match="file format 99"):
        nb.Aligner.load(path, check_version=False)


def test_damaged_foreign_and_unfitted(fitted, tmp_path):
    aligner, _ = fitted
    path = aligner.save(tmp_path / "aligner.nb")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        nb.Aligner.load(path)
    other = tmp_path / "other.pt"
    other.write_bytes(b"not a neurobridge file")
    with pytest.raises(ValueError, match="not a file written by Aligner.save"):
        nb.Aligner.load(other)
    with pytest.raises(FileNotFoundError, match="no file at"):
        nb.Aligner.load(tmp_path / "missing.nb")
    with pytest.raises(RuntimeError, match="not fitted"):
        nb.Aligner().save(tmp_path / "unfitted.nb")
