"""benchmarks/bench_layer_sweep.py: its synthetic layers, its choice of reference layers, and a smoke run (slow)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_layer_sweep", ROOT / "benchmarks" / "bench_layer_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_are_seeded_named_and_move_from_pose_to_identity():
    bench = _bench()
    rng = np.random.default_rng(0)
    identity, pose = rng.standard_normal((300, 8)), rng.standard_normal((300, 6))
    features, names = bench.make_layers(identity, pose, n_layers=5, width=40)
    again, _ = bench.make_layers(identity, pose, n_layers=5, width=40)
    assert features.shape == (300, 200) and features.dtype == np.float32
    np.testing.assert_array_equal(features, again)
    assert list(dict.fromkeys(names)) == [f"layer{k:02d}" for k in range(1, 6)]
    weights = [bench.depth_profile(t) for t in np.linspace(0, 1, 5)]
    assert weights[0][0] > weights[-1][0] and weights[0][2] < weights[-1][2]
    assert int(np.argmax([w[1] for w in weights])) not in (0, 4)


def test_reference_layers_spread_over_depth():
    bench = _bench()
    names = [f"layer{k:02d}" for k in range(1, 21)]
    assert bench.reference_layers("2", names) == ["layer07", "layer14"]
    assert bench.reference_layers("all", names) == names
    assert bench.reference_layers("20", names) == names
    with pytest.raises(SystemExit, match="--reference-layers"):
        bench.reference_layers("0", names)


@pytest.mark.slow
def test_quick_run_meets_equality(tmp_path):
    venv = Path(os.environ.get("NEUROBRIDGE_BS_VENV", ROOT / ".venv-bs"))
    if not (venv / "bin" / "python").exists():
        pytest.skip("no Brain-Score environment (scripts/make_brainscore_env.sh)")
    out = tmp_path / "sweep.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_layer_sweep.py"), "--quick", "--json", str(out),
                    "--figures", str(tmp_path)], check=True, capture_output=True, timeout=900)
    figures = json.loads(out.read_text())
    assert figures["met"]["equal to 1e-10"]
    assert (tmp_path / "layer_sweep_scores.png").stat().st_size > 0
