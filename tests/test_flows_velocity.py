import pytest
import torch

from neurobridge.flows import NETWORKS, AdaLNZeroMLP, ConcatMLP, build_velocity, count_parameters


@pytest.mark.parametrize("name,low,high", [("small", 0.5e6, 1.0e6), ("medium", 2.5e6, 4.0e6)])
def test_preset_sizes(name, low, high):
    for d_x, d_y in [(16, 16), (64, 128), (512, 512)]:
        n = count_parameters(build_velocity(name, d_x, d_y))
        assert low <= n <= high, (name, d_x, d_y, n)


def test_large_preset_size_from_formula():
    spec = NETWORKS["large"]
    w, depth, r = spec["width"], spec["depth"], spec["mlp_ratio"]
    per_block = (w * r * w + r * w) + (r * w * w + w) + (w * 3 * w + 3 * w)
    approx = depth * per_block + 2 * w * w
    assert 40e6 <= approx <= 60e6


@pytest.mark.parametrize("network", ["small", "mlp"])
def test_shapes_with_different_dims(network):
    net = build_velocity(network, 5, 3, width=32, depth=2)
    v = net(torch.rand(7), torch.randn(7, 3), torch.randn(7, 5))
    assert v.shape == (7, 3)


def test_adaln_zero_starts_at_zero_velocity_and_identity_blocks():
    net = build_velocity("small", 4, 6, width=32, depth=3)
    assert isinstance(net, AdaLNZeroMLP)
    t, z, x = torch.rand(10), torch.randn(10, 6), torch.randn(10, 4)
    assert torch.count_nonzero(net(t, z, x)) == 0
    h = torch.randn(10, 32)
    c = torch.randn(10, 32)
    for block in net.blocks:
        assert torch.equal(block(h, c), h)


def test_adaln_gradients_reach_modulation_after_one_step():
    net = build_velocity("small", 2, 2, width=16, depth=2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):
        loss = (net(torch.rand(32), torch.randn(32, 2), torch.randn(32, 2)) - 1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert net.blocks[0].modulation.weight.abs().sum() > 0


def test_concat_mlp_depends_on_every_input():
    net = build_velocity("mlp", 3, 2, width=16, depth=2)
    assert isinstance(net, ConcatMLP)
    t, z, x = torch.rand(4), torch.randn(4, 2), torch.randn(4, 3)
    base = net(t, z, x)
    assert not torch.allclose(base, net(t, z, x + 1))
    assert not torch.allclose(base, net(t, z + 1, x))
    assert not torch.allclose(base, net((t + 0.3) % 1, z, x))


def test_initialisation_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = build_velocity("mlp", 3, 2, seed=5)
    b = build_velocity("mlp", 3, 2, seed=5)
    c = build_velocity("mlp", 3, 2, seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="network must be one of"):
        build_velocity("huge", 2, 2)
    with pytest.raises(ValueError, match="d_y"):
        build_velocity("small", 2, 0)
    with pytest.raises(ValueError, match="network_kwargs"):
        build_velocity("mlp", 2, 2, mlp_ratio=3)
