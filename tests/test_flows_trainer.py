import math
import os

import numpy as np
import pytest
import torch

from neurobridge.flows import FixedPairs, NonFiniteLossError, TrainConfig, Trainer, WarmupCosine, build_velocity
from neurobridge.flows.checkpoint import read_checkpoint


def _pools(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = torch.cat([x[:, :2] * 2, x[:, 2:] - x[:, :1]], dim=1)
    return x, y


def _trainer(steps=40, sampler=None, **config):
    x, y = _pools()
    net = build_velocity("mlp", 3, 3, width=32, depth=2, seed=1)
    sampler = sampler or FixedPairs(np.arange(len(x)), np.arange(len(x)))
    cfg = TrainConfig(steps=steps, batch_size=32, progress=False, log_every=7, **config)
    return Trainer(net, x, y, sampler, config=cfg, device="cpu")


def _weights(trainer):
    return [p.detach().clone() for p in trainer.eval_network.parameters()]


def test_schedule_warms_up_then_decays_by_cosine():
    f = WarmupCosine(steps=100, warmup=10, min_lr_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0)
    assert f(55) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert f(100) == pytest.approx(0.1)
    assert all(f(s) >= f(s + 1) for s in range(10, 100))


def test_training_lowers_the_loss_and_logs_every_step():
    trainer = _trainer(steps=150, lr=3e-3)
    history = trainer.train()
    assert history["step"] == list(range(1, 151))
    assert np.mean(history["loss"][-20:]) < 0.7 * np.mean(history["loss"][:20])


def test_seeded_runs_are_identical_and_seeds_matter():
    a, b, c = _trainer(ema=0.9), _trainer(ema=0.9), _trainer(ema=0.9, seed=1)
    for t in (a, b, c):
        t.train()
    assert a.history["loss"] == b.history["loss"]
    assert all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b)))
    assert a.history["loss"] != c.history["loss"]


def test_resume_from_checkpoint_is_bit_identical(tmp_path):
    kw = dict(ema=0.95, warmup=5, checkpoint_every=None)
    straight = _trainer(steps=40, **kw)
    straight.train()
    first = _trainer(steps=40, **kw)
    first.checkpoint_dir = tmp_path
    first.train(stop_at=17)
    assert first.step == 17 and (tmp_path / "checkpoint.pt").is_file()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]
    second = _trainer(steps=40, **kw)
    second.load_checkpoint(tmp_path / "checkpoint.pt")
    second.train()
    assert second.history["loss"] == straight.history["loss"]
    assert all(torch.equal(p, q) for p, q in zip(_weights(second), _weights(straight)))
    assert all(torch.equal(p, q) for p, q in zip(second.network.parameters(), straight.network.parameters()))


def test_checkpoint_holds_every_state():
    trainer = _trainer(steps=10, ema=0.9)
    trainer.train()
    state = trainer.state_dict()
    for key in ("velocity", "optimizer", "scheduler", "ema", "torch_generator", "numpy_generator", "sampler", "config", "step", "history"):
        assert state[key] is not None, key
    assert state["step"] == 10 and state["numpy_generator"]["bit_generator"] == "PCG64"


def test_resume_refuses_a_different_configuration(tmp_path):
    trainer = _trainer(steps=10)
    trainer.save_checkpoint(tmp_path / "c.pt")
    other = _trainer(steps=10, lr=5e-3)
    with pytest.raises(ValueError, match="lr=0.001"):
        other.load_checkpoint(tmp_path / "c.pt")
    assert read_checkpoint(tmp_path / "c.pt")["step"] == 0


def test_nan_batch_stops_training_and_names_the_step():
    x, y = _pools()
    bad_row = 123
    x[bad_row, 1] = float("nan")
    sampler = FixedPairs(np.arange(len(x)), np.arange(len(x)))
    replay, rng = FixedPairs(np.arange(len(x)), np.arange(len(x))), np.random.default_rng(0)
    expected = next(step for step in range(1, 100) if bad_row in replay.sample(32, rng)[0])
    net = build_velocity("mlp", 3, 3, width=32, depth=2)
    trainer = Trainer(net, x, y, sampler, config=TrainConfig(steps=50, batch_size=32, progress=False, log_every=10), device="cpu")
    with pytest.raises(NonFiniteLossError, match=f"at step {expected} ") as info:
        trainer.train()
    assert info.value.step == expected


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = _pools()
    net = build_velocity("mlp", 3, 3, width=32, depth=2)
    val = (np.arange(150, 200), np.arange(150, 200))
    sampler = FixedPairs(np.arange(150), np.arange(150))
    cfg = TrainConfig(steps=2000, batch_size=32, lr=3e-3, val_every=5, patience=2, min_delta=1.0, progress=False)
    trainer = Trainer(net, x, y, sampler, config=cfg, device="cpu", val_pairs=val)
    trainer.train()
    assert trainer.early.stopped and trainer.step < 2000
    assert len(trainer.history["val_loss"]) == trainer.early.bad + 1 + trainer.history["val_step"].index(trainer.early.best_step)
    assert trainer.validation_loss() == pytest.approx(trainer.early.best, rel=1e-6)


class _BadSampler:
    def __init__(self, out):
        self.out = out

    def sample(self, batch_size, rng):
        return self.out


def test_misbehaving_samplers_are_reported():
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(3,\); both must be \(32,\)"):
        _trainer(sampler=_BadSampler((np.zeros(3, int), np.zeros(3, int)))).train()
    with pytest.raises(ValueError, match="source indices must lie in"):
        _trainer(sampler=_BadSampler((np.full(32, 999), np.zeros(32, int)))).train()
    with pytest.raises(TypeError, match="sample"):
        Trainer(build_velocity("mlp", 3, 3), *_pools(), object(), device="cpu")


def test_config_checks_name_the_argument():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.5)
    with pytest.raises(ValueError, match="fp16"):
        _trainer(precision="fp16")


@pytest.mark.parametrize("max_norm", [1e-3, 1.0, 1e6])
def test_clip_grad_norm_equals_torch_clip_grad_norm_bit_for_bit(max_norm):
    from neurobridge.flows.optim import clip_grad_norm

    g = torch.Generator().manual_seed(0)
    ours, theirs = build_velocity("mlp", 5, 3, width=16, depth=2, seed=0), build_velocity("mlp", 5, 3, width=16, depth=2, seed=0)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        a.grad = torch.randn(a.shape, generator=g) * 3
        b.grad = a.grad.clone()
    next(iter(ours.parameters())).grad = None
    next(iter(theirs.parameters())).grad = None
    clip_grad_norm(list(ours.parameters()), max_norm)
    torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert (a.grad is None and b.grad is None) or torch.equal(a.grad, b.grad)


def _reference_steps(steps=25, lr=3e-3, grad_clip=1.0):
    """The trainer's maths written out with torch's own zero_grad, autocast context and clip_grad_norm_."""
    from neurobridge.flows import FlowMatcher

    x, y = _pools()
    net = build_velocity("mlp", 3, 3, width=32, depth=2, seed=1)
    sampler = FixedPairs(np.arange(len(x)), np.arange(len(x)))
    config = TrainConfig(steps=steps, batch_size=32, lr=lr, progress=False, grad_clip=grad_clip)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=config.betas, weight_decay=0.0, fused=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(steps, config.warmup_steps))
    gen, rng, matcher, losses = torch.Generator().manual_seed(0), np.random.default_rng(0), FlowMatcher(), []
    for _ in range(steps):
        src, tgt = sampler.sample(32, rng)
        noise = matcher.draw(32, 3, generator=gen, device=torch.device("cpu"))
        with torch.autocast("cpu", dtype=torch.float32, enabled=False):
            loss = matcher.loss(net, x[torch.from_numpy(src)], y[torch.from_numpy(tgt)], noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    return net, losses


@pytest.mark.parametrize("grad_clip", [1.0, 0.05, None])
def test_trainer_step_equals_the_plain_torch_loop_bit_for_bit(grad_clip):
    net, losses = _reference_steps(grad_clip=grad_clip)
    trainer = _trainer(steps=25, lr=3e-3, grad_clip=grad_clip)
    trainer.train()
    assert trainer.history["loss"] == losses
    assert all(torch.equal(p, q) for p, q in zip(trainer.network.parameters(), net.parameters()))


@pytest.mark.parametrize("src, tgt, pattern", [
    (np.full(32, -1, dtype=np.int64), np.zeros(32, dtype=np.int64), r"sampler batch at step 1: source indices must lie in \[0, 200\).*min -1"),
    (np.zeros(32, dtype=np.int64), np.full(32, 200, dtype=np.int64), r"sampler batch at step 1: target indices must lie in \[0, 200\).*max 200"),
    (np.zeros(32, dtype=np.int32), np.full(32, 200, dtype=np.int32), r"sampler batch at step 1: target indices must lie in \[0, 200\)"),
    (np.zeros(32), np.zeros(32), r"source indices must be integers"),
])
def test_out_of_range_sampler_batches_name_the_step_and_side(src, tgt, pattern):
    with pytest.raises(ValueError, match=pattern):
        _trainer(sampler=_BadSampler((src, tgt))).train()


def test_adamw_with_weight_decay_equals_torch_adamw_bit_for_bit():
    from neurobridge.flows import FlowMatcher

    x, y = _pools()
    net = build_velocity("mlp", 3, 3, width=32, depth=2, seed=1)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.05, fused=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(20, 1))
    gen, rng, matcher = torch.Generator().manual_seed(0), np.random.default_rng(0), FlowMatcher()
    sampler = FixedPairs(np.arange(len(x)), np.arange(len(x)))
    for _ in range(20):
        src, tgt = sampler.sample(32, rng)
        noise = matcher.draw(32, 3, generator=gen, device=torch.device("cpu"))
        loss = matcher.loss(net, x[torch.from_numpy(src)], y[torch.from_numpy(tgt)], noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
    trainer = _trainer(steps=20, lr=3e-3, optimizer="adamw", weight_decay=0.05)
    trainer.train()
    assert all(torch.equal(p, q) for p, q in zip(trainer.network.parameters(), net.parameters()))
    ours, theirs = trainer.optimizer.state_dict()["state"], opt.state_dict()["state"]
    assert all(torch.equal(ours[k][name], theirs[k][name]) for k in theirs for name in ("step", "exp_avg", "exp_avg_sq"))


def test_optimizer_step_hooks_still_run():
    trainer = _trainer(steps=6)
    calls = []
    trainer.optimizer.register_step_post_hook(lambda opt, args, kwargs: calls.append(1))
    trainer.train()
    assert len(calls) == 6
