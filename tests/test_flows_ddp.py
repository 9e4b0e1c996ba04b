import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist

from neurobridge.flows.ddp_check import run


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_two_gloo_processes_match_a_single_process(tmp_path):
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "neurobridge.flows.ddp_check", "--out", str(out), "--steps", "30", "--batch-size", "64", "--backend", "gloo",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = torch.load(out, weights_only=True)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = run(steps=30, batch_size=64, device="cpu")
    finally:
        torch.set_num_threads(before)
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert two["step"] == one["step"] == list(range(1, 31))
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-4, atol=1e-6)
    assert one["loss"][-1] < one["loss"][0]
    for key, value in one["velocity"].items():
        np.testing.assert_allclose(two["velocity"][key].numpy(), value.numpy(), rtol=1e-4, atol=1e-5, err_msg=key)
    # Each rank trained on its own half of every global batch, and the halves make up the single process's batch:
    # this fails if every rank trained on the whole batch (which would still give the same loss and weights).
    assert one["shard_bounds"] == [(0, 64)]
    assert two["shard_bounds"] == [(0, 32), (32, 64)]
    assert len(one["inputs"]) == 1 and len(two["inputs"]) == 2
    assert len(one["inputs"][0]) == len(two["inputs"][0]) == len(two["inputs"][1]) == 30
    for step, whole in enumerate(one["inputs"][0]):
        first, second = two["inputs"][0][step], two["inputs"][1][step]
        assert whole.shape == (64, 2) and first.shape == (32, 2) and second.shape == (32, 2), (step, first.shape, second.shape)
        np.testing.assert_allclose(torch.cat([first, second]).numpy(), whole.numpy(), rtol=1e-6, atol=1e-7, err_msg=f"step {step + 1}")
