import math

import numpy as np
import pytest
import torch

from neurobridge.flows import FlowMatcher, integrate


def test_path_endpoints_and_target_velocity():
    m = FlowMatcher(sigma=0.8)
    g = torch.Generator().manual_seed(0)
    y = torch.randn(50, 3, generator=g)
    noise = m.draw(50, 3, generator=g, device=torch.device("cpu"))
    assert noise.eps is None
    z0_path, u = m.path(y, noise._replace(t=torch.zeros(50)))
    z1_path, _ = m.path(y, noise._replace(t=torch.ones(50)))
    assert torch.allclose(z0_path, noise.z0)
    assert torch.allclose(z1_path, y)
    assert torch.allclose(u, y - noise.z0)


def test_noise_statistics_follow_sigma():
    m = FlowMatcher(sigma=math.sqrt(0.5))
    noise = m.draw(20000, 4, generator=torch.Generator().manual_seed(1), device=torch.device("cpu"))
    assert abs(noise.z0.var().item() - 0.5) < 0.03
    assert 0.0 <= noise.t.min() and noise.t.max() <= 1.0
    assert abs(noise.t.mean().item() - 0.5) < 0.02


def test_loss_is_zero_for_the_oracle_and_positive_otherwise():
    m = FlowMatcher()
    g = torch.Generator().manual_seed(0)
    y = torch.randn(64, 2, generator=g)
    x = torch.randn(64, 5, generator=g)
    noise = m.draw(64, 2, generator=g, device=torch.device("cpu"))

    def oracle(t, z, x_):
        return (y - z) / (1 - t).unsqueeze(-1)

    assert m.loss(oracle, x, y, noise).item() < 1e-8
    assert m.loss(lambda t, z, x_: torch.zeros_like(z), x, y, noise).item() > 0.1


def test_path_noise_is_added_when_sigma_min_positive():
    m = FlowMatcher(sigma_min=0.1)
    noise = m.draw(8, 2, generator=torch.Generator().manual_seed(0), device=torch.device("cpu"))
    assert noise.eps is not None
    y = torch.zeros(8, 2)
    z_t, _ = m.path(y, noise)
    t = noise.t.unsqueeze(-1)
    assert torch.allclose(z_t, (1 - t) * noise.z0 + 0.1 * noise.eps)


@pytest.mark.parametrize("kwargs", [{"sigma": 0}, {"sigma": -1.0}, {"sigma_min": -0.1}])
def test_matcher_rejects_bad_sigma(kwargs):
    with pytest.raises(ValueError, match="sigma"):
        FlowMatcher(**kwargs)


def _error(method, steps):
    """Max error at t = 1 for dz/dt = t - z, whose solution is z(t) = t - 1 + (z0 + 1) exp(-t)."""
    z0 = torch.linspace(-1, 1, 5, dtype=torch.float64).reshape(5, 1)
    z1, nfe = integrate(lambda t, z: -z + t, z0, method=method, steps=steps)
    exact = (z0 + 1) * math.exp(-1)
    return (z1 - exact).abs().max().item(), nfe


@pytest.mark.parametrize("method,order,stages", [("euler", 1, 1), ("midpoint", 2, 2), ("rk4", 4, 4)])
def test_fixed_step_methods_have_their_order(method, order, stages):
    e1, nfe = _error(method, 8)
    e2, _ = _error(method, 16)
    assert nfe == 8 * stages
    assert np.log2(e1 / e2) == pytest.approx(order, abs=0.35)


def test_dopri5_is_accurate_and_counts_evaluations():
    err, nfe = _error("dopri5", 1)
    assert err < 1e-5
    assert nfe >= 6


def test_integrate_rejects_bad_method_and_steps():
    with pytest.raises(ValueError, match="method"):
        integrate(lambda t, z: z, torch.zeros(1, 1), method="heun")
    with pytest.raises(ValueError, match="steps"):
        integrate(lambda t, z: z, torch.zeros(1, 1), method="euler", steps=0)
