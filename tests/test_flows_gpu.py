import numpy as np
import pytest
import torch

from neurobridge.flows import ConditionalFlow

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _problem(n=1024, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, :4] @ rng.normal(size=(4, 5))).astype(np.float32)
    return x, y


@pytest.mark.parametrize("precision", ["auto", "fp16", "fp32"])
def test_trains_on_cuda_with_autocast(precision):
    x, y = _problem()
    flow = ConditionalFlow("small", steps=200, device="cuda", precision=precision, progress=False, ema=0.99).fit(x, y)
    assert flow.device_.type == "cuda"
    assert next(flow.module_.parameters()).is_cuda
    assert np.mean(flow.history_["loss"][-20:]) < np.mean(flow.history_["loss"][:20])
    out = flow.transport(x[:64], n_samples=4, method="rk4", steps=8)
    assert out.samples.shape == (64, 4, 5) and np.isfinite(out.samples).all()


def test_gpu_model_loads_on_cpu_with_same_outputs(tmp_path):
    x, y = _problem()
    flow = ConditionalFlow("small", steps=100, device="cuda", progress=False).fit(x, y)
    flow.save(tmp_path / "m")
    cpu = ConditionalFlow.load(tmp_path / "m", device="cpu")
    assert cpu.device_.type == "cpu" and not next(cpu.module_.parameters()).is_cuda
    a = flow.transport(x[:32], n_samples=2, seed=1).samples
    b = cpu.transport(x[:32], n_samples=2, seed=1).samples
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_auto_device_prefers_cuda():
    x, y = _problem(n=256)
    flow = ConditionalFlow("mlp", steps=5, progress=False).fit(x, y)
    assert flow.device_.type == "cuda"
