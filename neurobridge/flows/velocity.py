"""Velocity networks ``v_theta(t, z; x)`` for conditional flow matching.

Every network maps a time ``t`` of shape ``(B,)``, a point ``z`` of the target space ``(B, d_y)`` and a source point
``x`` ``(B, d_x)`` to a velocity ``(B, d_y)``; the source and target dimensions may differ (Klein et al. 2023, GENOT).

- :class:`AdaLNZeroMLP`: residual MLP blocks whose LayerNorm is scaled and shifted by a context
  ``c = E_t(t) + E_x(x)`` (sinusoidal time embedding plus source embedding), with a gate on each residual branch;
  the modulation layers and the output layer start at zero, so the network starts as ``v = 0`` and every block
  as the identity (adaLN-Zero, Peebles & Xie 2023, "Scalable Diffusion Models with Transformers").
- :class:`ConcatMLP`: a plain MLP on ``[z, x, E_t(t)]``.

:func:`build_velocity` builds a network by name: ``"small"``, ``"medium"``, ``"large"`` (adaLN-Zero, about 0.7 M,
3 M and 50 M parameters for ``d_x, d_y`` between 16 and 512) or ``"mlp"``. Parameters are initialised from an explicit
:class:`torch.Generator`, never from the global random state.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "NETWORKS",
    "SinusoidalEmbedding",
    "AdaLNZeroBlock",
    "AdaLNZeroMLP",
    "ConcatMLP",
    "build_velocity",
    "count_parameters",
]

NETWORKS: dict[str, dict] = {
    "small": {"kind": "adaln", "width": 128, "depth": 5, "mlp_ratio": 2},
    "medium": {"kind": "adaln", "width": 256, "depth": 6, "mlp_ratio": 2},
    "large": {"kind": "adaln", "width": 1024, "depth": 6, "mlp_ratio": 2},
    "mlp": {"kind": "mlp", "width": 256, "depth": 4},
}


class SinusoidalEmbedding(nn.Module):
    """``t -> [cos(s t w_k), sin(s t w_k)]_k`` with ``w_k = max_period^(-k / (dim/2))`` (Vaswani et al. 2017).

    ``t`` lives in ``[0, 1]``; ``scale`` (default 1000) spreads it over the frequencies as diffusion models do.
    """

    def __init__(self, dim: int, *, scale: float = 1000.0, max_period: float = 10000.0):
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"SinusoidalEmbedding: dim must be an even integer >= 2; got {dim}")
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs * scale, persistent=False)
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        args = t.reshape(-1, 1).to(self.freqs.dtype) * self.freqs
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _embedding_mlp(d_in: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, width), nn.SiLU(), nn.Linear(width, width))


class AdaLNZeroBlock(nn.Module):
    """``h + g(c) * MLP(LN(h) * (1 + a(c)) + b(c))`` with ``(b, a, g)`` a zero-initialised linear map of ``c``."""

    def __init__(self, width: int, mlp_ratio: float = 2.0):
        super().__init__()
        hidden = int(round(width * mlp_ratio))
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.SiLU(), nn.Linear(hidden, width))
        self.modulation = nn.Linear(width, 3 * width)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(c).chunk(3, dim=-1)
        return h + gate * self.mlp(self.norm(h) * (1 + scale) + shift)


class AdaLNZeroMLP(nn.Module):
    """Residual MLP with adaLN-Zero conditioning on time and source (Peebles & Xie 2023; Klein et al. 2023).

    ``c = SiLU(E_t(t) + E_x(x))``; ``h_0 = W_in z``; ``h_{l+1} = AdaLNZeroBlock(h_l, c)``;
    ``v = W_out (LN(h_L) (1 + a(c)) + b(c))``, with ``W_out``, ``a``, ``b`` and every block's modulation zero at init.
    """

    def __init__(
        self,
        d_x: int,
        d_y: int,
        *,
        width: int = 128,
        depth: int = 5,
        mlp_ratio: float = 2.0,
        time_dim: int | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        _check_dims(d_x, d_y, width, depth)
        time_dim = time_dim or width
        self.d_x, self.d_y = d_x, d_y
        self.time_features = SinusoidalEmbedding(time_dim)
        self.time_embed = _embedding_mlp(time_dim, width)
        self.source_embed = _embedding_mlp(d_x, width)
        self.input = nn.Linear(d_y, width)
        self.blocks = nn.ModuleList(AdaLNZeroBlock(width, mlp_ratio) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Linear(width, 2 * width)
        self.output = nn.Linear(width, d_y)
        _init_linears(self, generator)
        for layer in [b.modulation for b in self.blocks] + [self.final_modulation, self.output]:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, t: torch.Tensor, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        c = F.silu(self.time_embed(self.time_features(t)) + self.source_embed(x))
        h = self.input(z)
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_modulation(c).chunk(2, dim=-1)
        return self.output(self.final_norm(h) * (1 + scale) + shift)


class ConcatMLP(nn.Module):
    """``v = MLP([z, x, E_t(t)])`` with SiLU activations (the plain conditional MLP of Tong et al. 2023)."""

    def __init__(
        self,
        d_x: int,
        d_y: int,
        *,
        width: int = 256,
        depth: int = 4,
        time_dim: int = 32,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        _check_dims(d_x, d_y, width, depth)
        self.d_x, self.d_y = d_x, d_y
        self.time_features = SinusoidalEmbedding(time_dim)
        layers: list[nn.Module] = [nn.Linear(d_y + d_x + time_dim, width), nn.SiLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.SiLU()]
        layers.append(nn.Linear(width, d_y))
        self.net = nn.Sequential(*layers)
        _init_linears(self, generator)

    def forward(self, t: torch.Tensor, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, x, self.time_features(t).to(z.dtype)], dim=-1))


def _check_dims(d_x: int, d_y: int, width: int, depth: int) -> None:
    for name, value in (("d_x", d_x), ("d_y", d_y), ("width", width), ("depth", depth)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"velocity network: {name} must be a positive integer; got {value!r}")


def _init_linears(module: nn.Module, generator: torch.Generator | None) -> None:
    """PyTorch's default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for every Linear, drawn from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            bound = 1.0 / math.sqrt(layer.in_features)
            with torch.no_grad():
                nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                if layer.bias is not None:
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def build_velocity(
    network: str,
    d_x: int,
    d_y: int,
    *,
    seed: int | None = 0,
    **overrides,
) -> nn.Module:
    """Build the velocity network called ``network`` (a key of :data:`NETWORKS`) on the CPU.

    ``overrides`` replace the preset's ``width``, ``depth``, ``mlp_ratio`` or ``time_dim``; ``seed`` seeds the
    initialisation through a private :class:`torch.Generator`. The global CPU random state is left as it was
    (``nn.Linear``'s own default initialisation runs inside :func:`torch.random.fork_rng` and is overwritten).
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {sorted(NETWORKS)}; got {network!r}")
    spec = {**NETWORKS[network], **overrides}
    kind = spec.pop("kind")
    generator = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    cls = AdaLNZeroMLP if kind == "adaln" else ConcatMLP
    try:
        with torch.random.fork_rng(devices=[]):
            return cls(d_x, d_y, generator=generator, **spec)
    except TypeError as err:
        raise ValueError(f"network_kwargs {overrides} do not fit network {network!r}: {err}") from None


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
