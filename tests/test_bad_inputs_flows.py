"""Bad settings and diverging runs of the conditional flow: checked at fit, before any step is trained; a non-finite
loss, non-finite weights or a non-finite transport is an error that names where it happened."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurobridge.flows import ConditionalFlow, FixedPairs, TrainConfig, Trainer, build_velocity
from neurobridge.flows.ode import check_options, integrate
from neurobridge.flows.trainer import NonFiniteLossError

TINY = {"width": 16, "depth": 1}


def _flow(**kw):
    params = dict(network="small", network_kwargs=TINY, steps=5, batch_size=16, progress=False, device="cpu")
    params.update(kw)
    return ConditionalFlow(**params)


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 2)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32)


class _Spy:
    """A pair sampler that records whether training started."""

    def __init__(self, n):
        self.calls = 0
        self.n = n

    def sample(self, batch_size, rng):
        self.calls += 1
        idx = rng.integers(0, self.n, size=batch_size)
        return idx, idx


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"steps": True}, TypeError, r"steps must be an integer >= 1; got True \(bool\)"),
        ({"steps": 10.0}, TypeError, r"steps must be an integer >= 1; got 10.0"),
        ({"steps": 0}, ValueError, r"steps must be an integer >= 1; got 0"),
        ({"batch_size": "64"}, TypeError, r"batch_size must be an integer >= 1; got '64' \(str\)"),
        ({"lr": "1e-3"}, TypeError, r"lr must be a real number; got '1e-3' \(str\)"),
        ({"lr": 0.0}, ValueError, r"lr must lie in \(0.0, inf\]; got 0.0"),
        ({"lr": float("inf")}, ValueError, r"lr must be a finite number"),
        ({"seed": -1}, ValueError, r"seed must be a non-negative integer; got -1"),
        ({"seed": True}, TypeError, r"seed must be a non-negative integer; got True"),
        ({"sigma": 0}, ValueError, r"sigma must lie in \(0.0, inf\]; got 0.0"),
        ({"network": "huge"}, ValueError, r"network must be one of .*got 'huge'"),
        ({"val_fraction": 1.0}, ValueError, r"val_fraction must lie in \[0, 1\); got 1.0"),
        ({"warmup": True}, TypeError, r"warmup \(steps, or a float fraction of steps\) must be an integer"),
        ({"grad_clip": -1.0}, ValueError, r"grad_clip must lie in \(0.0, inf\]; got -1.0"),
        ({"weight_decay": "0"}, TypeError, r"weight_decay must be a real number; got '0'"),
    ],
    ids=["steps-bool", "steps-float", "steps-zero", "batch-str", "lr-str", "lr-zero", "lr-inf", "seed-negative",
         "seed-bool", "sigma-zero", "network", "val-fraction", "warmup-bool", "grad-clip", "weight-decay-str"],
)
def test_fit_checks_settings_before_training(kwargs, error, pattern):
    x, y = _data()
    spy = _Spy(len(x))
    with pytest.raises(error, match=pattern):
        _flow(**kwargs).fit(x, y, sampler=spy)
    assert spy.calls == 0


def test_fit_checks_stop_at_step_before_training():
    x, y = _data()
    spy = _Spy(len(x))
    with pytest.raises(TypeError, match=r"stop_at_step must be an integer >= 1 or None; got 2.5"):
        _flow().fit(x, y, sampler=spy, stop_at_step=2.5)
    assert spy.calls == 0


def test_fit_refuses_values_beyond_float32():
    x, y = _data()
    y = y.astype(np.float64)
    y[3, 0] = 1e300
    with pytest.raises(ValueError, match=r"y holds 1 finite values beyond float32's range"):
        _flow().fit(x, y)


@pytest.mark.parametrize(
    "options, error, pattern",
    [
        ({"method": "heun"}, ValueError, r"method \(the ODE solver\) must be one of .*got 'heun'"),
        ({"method": "euler", "steps": 0}, ValueError, r"steps \(fixed steps of method='euler'\) must be an integer >= 1"),
        ({"method": "rk4", "steps": True}, TypeError, r"steps \(fixed steps of method='rk4'\) must be an integer"),
        ({"method": "dopri5", "rtol": -1.0}, ValueError, r"rtol must lie in \(0.0, inf\]"),
        ({"method": "dopri5", "atol": "1e-5"}, TypeError, r"atol must be a real number; got '1e-5'"),
    ],
    ids=["method", "steps-zero", "steps-bool", "rtol", "atol-str"],
)
def test_transport_options_are_checked_without_a_model(options, error, pattern):
    with pytest.raises(error, match=pattern):
        check_options(**options)
    with pytest.raises(error, match=pattern):
        integrate(lambda t, z: z, torch.zeros(1, 1), **options)


@pytest.fixture(scope="module")
def fitted():
    x, y = _data()
    return _flow(steps=3).fit(x, y)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"n_samples": True}, TypeError, r"n_samples must be an integer >= 1; got True"),
        ({"seed": -2}, ValueError, r"seed must be a non-negative integer; got -2"),
        ({"method": "rk5"}, ValueError, r"method \(the ODE solver\) must be one of"),
        ({"batch_size": 0}, ValueError, r"batch_size must be an integer >= 1; got 0"),
    ],
    ids=["n-samples-bool", "seed-negative", "method", "batch-size"],
)
def test_transport_arguments(fitted, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        fitted.transport(np.zeros((2, 2), dtype=np.float32), **kwargs)


def test_transport_checks_its_output():
    flow = _flow(steps=3).fit(*_data())
    with torch.no_grad():
        next(flow.module_.velocity.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"transport produced NaN or infinite points for 2 of 2 source points \(rows \[0, 1\]\) with method='euler'"):
        flow.transport(np.zeros((2, 2), dtype=np.float32))


def test_training_stops_when_the_weights_become_non_finite():
    x, y = _data()
    net = build_velocity("mlp", 2, 3, width=8, depth=1)
    trainer = Trainer(net, torch.from_numpy(x), torch.from_numpy(y), FixedPairs(np.arange(40), np.arange(40)),
                      config=TrainConfig(steps=6, batch_size=8, log_every=3, progress=False, grad_clip=None), device="cpu")

    def poison(optimizer, args, kwargs):
        if trainer.step == 5:
            with torch.no_grad():
                next(net.parameters()).view(-1)[0] = float("inf")

    trainer.optimizer.register_step_post_hook(poison)
    with pytest.raises(NonFiniteLossError, match=r"network's parameters became NaN or infinite at one of steps 4-6 \(of 6\)") as info:
        trainer.train()
    assert info.value.step == 6


def test_training_stops_when_the_loss_diverges():
    x, y = _data()
    y = y * 1e20
    net = build_velocity("mlp", 2, 3, width=8, depth=1)
    trainer = Trainer(net, torch.from_numpy(x), torch.from_numpy(y), FixedPairs(np.arange(40), np.arange(40)),
                      config=TrainConfig(steps=4, batch_size=8, log_every=2, progress=False), device="cpu")
    with pytest.raises(NonFiniteLossError, match=r"the training loss became inf at step 1 \(of 4\)"):
        trainer.train()


def test_check_params_is_public_and_needs_no_data():
    with pytest.raises(TypeError, match=r"lr must be a real number; got '0.1' \(str\)"):
        _flow(lr="0.1").check_params()
    _flow().check_params()
