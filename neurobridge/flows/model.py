"""The fitted conditional flow: :class:`ConditionalFlow` learns ``p(y | x)`` between two spaces and transports.

Fit (GENOT-style conditional flow matching, Klein et al. 2023; Lipman et al. 2023; Tong et al. 2023): standardise
both pools per feature, draw pairs ``(x_i, y_j)`` from a coupling, and regress a velocity field in the (standardised)
target space on ``u = y - z0`` along ``z_t = (1 - t) z0 + t y``, ``z0 ~ N(0, sigma^2 I)``.

Transport: for each source point draw ``n_samples`` starts ``z0 ~ N(0, sigma^2 I)``, integrate
``dz/dt = v_theta(t, z; x)`` from 0 to 1, and map back to target units; the samples follow ``p(y | x)`` and their
mean is a point estimate of ``E[y | x]``.

Saved format (a folder): ``config.json`` (format tag, constructor parameters, ``d_x``, ``d_y``, parameter count,
steps trained, neuroid coords of source and target when they were assemblies), ``model.pt`` (a ``state_dict`` with
``velocity.*`` weights, EMA weights when ``ema`` was set, and ``x_scaler.{mean,std}``, ``y_scaler.{mean,std}``) and
``history.json`` (training and validation loss per step).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from sklearn.base import BaseEstimator
from torch import nn

from .._device import resolve_device
from .._io import CorruptFileError, atomic_write, read_torch
from .._validation import check_float, check_int, check_seed
from ..assemblies import NEUROID, PRESENTATION
from .checkpoint import CHECKPOINT_NAME, read_checkpoint
from .distributed import current_context
from .inputs import as_matrix, coords_from_json, coords_to_json, presentation_coord_dict
from .matcher import FlowMatcher
from .normalize import Standardizer
from .ode import check_options, integrate
from .pairs import FixedPairs, PairSampler, check_pair_indices
from .trainer import TrainConfig, Trainer
from .velocity import NETWORKS, build_velocity, count_parameters

__all__ = ["ConditionalFlow", "TransportResult", "MODEL_FORMAT"]

MODEL_FORMAT = "neurobridge.flows.model/1"
_VAL_SEED_OFFSET = 104729
TRANSPORT_ROWS = {"cpu": 2048, "other": 8192}
"""Default trajectories integrated at a time by :meth:`ConditionalFlow.transport` (``batch_size=None``): on a CPU a
chunk whose activations stay in cache (2,048 rows of a width-128 network: 1 MiB per layer) integrates about a third
faster than 8,192 rows (4 MiB per layer; ``benchmarks/bench_flow_step.py``); accelerators take larger chunks. Every
trajectory is integrated on its own rows, so the chunking changes no number (``tests/test_flows_model.py``)."""


@dataclass(frozen=True)
class TransportResult:
    """Output of :meth:`ConditionalFlow.transport`.

    ``samples``: ``(n, n_samples, d_y)`` draws of ``p(y | x)``; ``mean``: ``(n, d_y)`` their mean (point estimate).
    Both are numpy arrays for array input, torch tensors (on the model's device) for tensor input, and
    ``xr.DataArray`` for assembly input (``mean`` as ``presentation x neuroid``, ``samples`` as
    ``presentation x sample x neuroid``, with the source's presentation coords and the target's neuroid coords).
    ``nfe`` is the number of velocity evaluations per trajectory (the most over batches for dopri5).
    """

    samples: Any
    mean: Any
    nfe: int
    method: str


class _FlowModule(nn.Module):
    def __init__(self, velocity: nn.Module, d_x: int, d_y: int):
        super().__init__()
        self.velocity = velocity
        self.x_scaler = Standardizer(d_x)
        self.y_scaler = Standardizer(d_y)


class ConditionalFlow(BaseEstimator):
    """Conditional flow matching from a source space (d_x) to a target space (d_y), sklearn style.

    Parameters: ``network`` ("small", "medium", "large": adaLN-Zero MLPs of about 0.7 M, 3 M, 50 M parameters;
    "mlp": concatenation MLP) with ``network_kwargs`` overriding its width/depth; ``sigma`` the standard deviation
    of the start noise (``sigma^2 = 0.5`` by default); ``sigma_min`` the path noise; optimisation ``lr`` (1e-3
    converges on small problems within a few hundred to a few thousand steps; use 1e-4 for the large network),
    ``batch_size`` (global), ``steps``, ``optimizer`` ("adam"/"adamw"), ``weight_decay``, ``warmup`` (steps, or a
    fraction of ``steps`` as a float), ``ema`` (decay or None), ``grad_clip``, ``precision``; ``device`` ("auto":
    CUDA, then MPS, then CPU); ``seed`` (all randomness); ``val_fraction`` of the pairs held out (0 keeps every
    bridge for training), scored every ``val_every`` steps, early stopping after ``patience`` validations without
    improvement; ``checkpoint_dir`` / ``checkpoint_every`` for resumable checkpoints; ``progress`` for a tqdm bar.

    Learned attributes: ``module_`` (velocity network and normalisation, in eval mode on ``device_``), ``d_x_``,
    ``d_y_``, ``n_parameters_``, ``history_`` (dict of lists: ``step``, ``loss``, ``val_step``, ``val_loss``),
    ``n_steps_``, ``stopped_early_``, ``source_coords_`` / ``target_coords_`` (neuroid coords, assemblies only).
    """

    def __init__(
        self,
        network: str = "small",
        *,
        network_kwargs: dict | None = None,
        sigma: float = math.sqrt(0.5),
        sigma_min: float = 0.0,
        lr: float = 1e-3,
        batch_size: int = 256,
        steps: int = 2000,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        warmup: int | float = 0.05,
        ema: float | None = None,
        grad_clip: float | None = 1.0,
        precision: str = "auto",
        device: str = "auto",
        seed: int = 0,
        val_fraction: float = 0.0,
        val_every: int = 100,
        patience: int | None = None,
        log_every: int = 50,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        progress: bool = True,
    ):
        self.network = network
        self.network_kwargs = network_kwargs
        self.sigma = sigma
        self.sigma_min = sigma_min
        self.lr = lr
        self.batch_size = batch_size
        self.steps = steps
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.ema = ema
        self.grad_clip = grad_clip
        self.precision = precision
        self.device = device
        self.seed = seed
        self.val_fraction = val_fraction
        self.val_every = val_every
        self.patience = patience
        self.log_every = log_every
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.progress = progress

    _PARAMS = (
        "network", "network_kwargs", "sigma", "sigma_min", "lr", "batch_size", "steps", "optimizer", "weight_decay",
        "warmup", "ema", "grad_clip", "precision", "device", "seed", "val_fraction", "val_every", "patience",
        "log_every", "checkpoint_dir", "checkpoint_every", "progress",
    )

    def _json_params(self) -> dict[str, Any]:
        """The constructor parameters, JSON-ready (paths and devices as strings); ``get_params`` (scikit-learn's)
        returns them unchanged."""
        params = {k: getattr(self, k) for k in self._PARAMS}
        if params["checkpoint_dir"] is not None:
            params["checkpoint_dir"] = str(params["checkpoint_dir"])
        if not isinstance(params["device"], str):
            params["device"] = str(params["device"])
        return params

    def __repr__(self) -> str:
        return f"ConditionalFlow(network={self.network!r}, steps={self.steps}, lr={self.lr}, batch_size={self.batch_size})"

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            steps=self.steps, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
            weight_decay=self.weight_decay, warmup=self.warmup, grad_clip=self.grad_clip, ema=self.ema,
            precision=self.precision, seed=self.seed, log_every=self.log_every, val_every=self.val_every,
            patience=self.patience, checkpoint_every=self.checkpoint_every, progress=self.progress,
        )

    def check_params(self) -> None:
        """Raise a clear error (naming the parameter) for any invalid constructor parameter; :meth:`fit` runs the
        same checks before it touches the data, so a caller that does expensive work first (a coupling) can call it
        up front."""
        self._check_params()

    def _check_params(self) -> tuple[TrainConfig, FlowMatcher]:
        """Check every constructor parameter before any data is touched or any step is trained."""
        if not isinstance(self.network, str) or self.network not in NETWORKS:
            raise ValueError(f"network must be one of {sorted(NETWORKS)}; got {self.network!r}")
        if self.network_kwargs is not None and not isinstance(self.network_kwargs, dict):
            raise TypeError(f"network_kwargs must be a dict (e.g. {{'width': 256}}) or None; got {self.network_kwargs!r}")
        check_float(self.sigma, "sigma", positive=True)
        check_float(self.sigma_min, "sigma_min", low=0)
        check_float(self.val_fraction, "val_fraction", low=0, high=1, high_open=True)
        return self._train_config(), FlowMatcher(float(self.sigma), float(self.sigma_min))

    def _training_device(self) -> torch.device:
        context = current_context()
        if context.is_distributed and isinstance(self.device, str) and self.device in ("auto", "cuda") and torch.cuda.is_available():
            return torch.device("cuda", context.local_rank)
        return resolve_device(self.device)

    def _samplers(self, x, y, sampler, pairs, val_pairs) -> tuple[PairSampler, tuple | None]:
        n, m = len(x.values), len(y.values)
        if sampler is not None and pairs is not None:
            raise ValueError("pass either sampler=... or pairs=(source_index, target_index), not both")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must lie in [0, 1); got {self.val_fraction!r}")
        val_rng = np.random.default_rng(self.seed + _VAL_SEED_OFFSET)
        if val_pairs is not None:
            val_pairs = check_pair_indices(*val_pairs, n, m, name="val_pairs")
        if sampler is not None:
            if not callable(getattr(sampler, "sample", None)):
                raise TypeError(f"sampler must have sample(batch_size, rng) -> (source_index, target_index); got {type(sampler).__name__}")
            if val_pairs is None and self.val_fraction > 0:
                val_pairs = sampler.sample(max(1, round(self.val_fraction * n)), val_rng)
            return sampler, val_pairs
        if pairs is None:
            if n != m:
                raise ValueError(
                    f"x has {n} rows and y has {m}: without pairs=... or sampler=... the rows are taken as paired, "
                    "so both need the same number of rows"
                )
            if x.assembly is not None and y.assembly is not None:
                if not np.array_equal(x.assembly.coords["stimulus_id"].values, y.assembly.coords["stimulus_id"].values):
                    raise ValueError(
                        "x and y are assemblies whose stimulus_id orders differ; align them with "
                        "neurobridge.assemblies.align(x, y) or pass pairs=(source_index, target_index)"
                    )
            pairs = (np.arange(n), np.arange(n))
        src, tgt = check_pair_indices(*pairs, n, m, name="pairs")
        if val_pairs is None and self.val_fraction > 0:
            order = val_rng.permutation(len(src))
            n_val = max(1, round(self.val_fraction * len(src)))
            if n_val >= len(src):
                raise ValueError(f"val_fraction={self.val_fraction} leaves no training pairs out of {len(src)}; lower it")
            val_pairs = (src[order[:n_val]], tgt[order[:n_val]])
            keep = np.sort(order[n_val:])
            src, tgt = src[keep], tgt[keep]
        return FixedPairs(src, tgt), val_pairs

    def fit(
        self,
        x,
        y,
        *,
        sampler: PairSampler | None = None,
        pairs: tuple | None = None,
        val_pairs: tuple | None = None,
        resume: bool = False,
        stop_at_step: int | None = None,
    ) -> ConditionalFlow:
        """Learn ``p(y | x)`` from the source pool ``x`` (n, d_x) and target pool ``y`` (m, d_y).

        Pairs come from ``sampler`` (any :class:`~neurobridge.flows.pairs.PairSampler`, e.g. a coupling), or from
        ``pairs=(source_index, target_index)`` (shorthand for :class:`~neurobridge.flows.pairs.FixedPairs`), or, when
        both are None, from row ``i`` of ``x`` with row ``i`` of ``y``. ``x``/``y`` may be numpy arrays, torch
        tensors or assemblies. ``resume=True`` continues from ``checkpoint_dir/checkpoint.pt`` when it exists;
        ``stop_at_step`` ends this call after that many steps in total (the schedule still spans ``steps``).
        """
        config, matcher = self._check_params()
        stop_at_step = check_int(stop_at_step, "stop_at_step", low=1, allow_none=True)
        xm = as_matrix(x, "x")
        ym = as_matrix(y, "y")
        if self.patience is not None and self.val_fraction == 0 and val_pairs is None:
            raise ValueError("patience needs validation pairs: set val_fraction > 0 or pass val_pairs=(source_index, target_index)")
        train_sampler, val = self._samplers(xm, ym, sampler, pairs, val_pairs)
        d_x, d_y = xm.values.shape[1], ym.values.shape[1]
        device = self._training_device()
        velocity = build_velocity(self.network, d_x, d_y, seed=self.seed, **(self.network_kwargs or {}))
        module = _FlowModule(velocity, d_x, d_y)
        module.x_scaler.fit(xm.values)
        module.y_scaler.fit(ym.values)
        with torch.no_grad():
            x_pool, y_pool = module.x_scaler(xm.values), module.y_scaler(ym.values)
        extra = {
            "model_params": json.dumps(self._json_params()),
            "x_scaler": module.x_scaler.state_dict(),
            "y_scaler": module.y_scaler.state_dict(),
        }
        trainer = Trainer(
            module.velocity, x_pool, y_pool, train_sampler,
            matcher=matcher, config=config, device=device,
            val_pairs=val, checkpoint_dir=self.checkpoint_dir, extra_state=extra,
        )
        if resume:
            if self.checkpoint_dir is None:
                raise ValueError("resume=True needs checkpoint_dir=... (the folder holding checkpoint.pt)")
            checkpoint = Path(self.checkpoint_dir) / CHECKPOINT_NAME
            if checkpoint.is_file():
                state = read_checkpoint(checkpoint, map_location=device)
                try:
                    _check_resumable(state.get("extra") or {}, extra)
                    trainer.load_state_dict(state)
                except (ValueError, KeyError, RuntimeError, TypeError) as error:
                    raise ValueError(f"{checkpoint}: {error}") from None
        trainer.train(stop_at=stop_at_step)
        module.velocity = trainer.eval_network
        self.module_ = module.to(device).eval()
        self.device_ = device
        self.d_x_, self.d_y_ = d_x, d_y
        self.n_parameters_ = count_parameters(module.velocity)
        self.history_ = trainer.history
        self.n_steps_ = trainer.step
        self.stopped_early_ = trainer.early.stopped
        self.source_coords_ = coords_to_json(xm.assembly) if xm.assembly is not None else None
        self.target_coords_ = coords_to_json(ym.assembly) if ym.assembly is not None else None
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise RuntimeError("this ConditionalFlow is not fitted yet; call fit(x, y, ...) or ConditionalFlow.load(path)")

    def _source_matrix(self, x) -> tuple[torch.Tensor, xr.DataArray | None]:
        xm = as_matrix(x, "x")
        values, assembly = xm.values, xm.assembly
        if assembly is not None and self.source_coords_ is not None:
            fitted = np.asarray(self.source_coords_["neuroid_id"]).astype(str)
            given = np.asarray(assembly.coords["neuroid_id"].values).astype(str)
            if not np.array_equal(fitted, given):
                if sorted(fitted.tolist()) != sorted(given.tolist()):
                    raise ValueError(
                        f"x's neuroid_id values differ from the source assembly the flow was fitted on "
                        f"({len(given)} given, {len(fitted)} fitted, e.g. given {given[:3].tolist()} vs fitted {fitted[:3].tolist()}); "
                        "transport needs the same source neuroids"
                    )
                position = {v: i for i, v in enumerate(given)}
                values = values[:, [position[v] for v in fitted]]
        if values.shape[1] != self.d_x_:
            raise ValueError(
                f"x has {values.shape[1]} features (columns / neuroids) but the flow was fitted on d_x={self.d_x_}; "
                f"pass points of the source space, shape (n, {self.d_x_})"
            )
        return values, assembly

    def transport(
        self,
        x,
        *,
        n_samples: int = 1,
        steps: int = 32,
        method: str = "euler",
        seed: int | None = None,
        batch_size: int | None = None,
        rtol: float = 1e-5,
        atol: float = 1e-5,
    ) -> TransportResult:
        """Push source points ``x`` (n, d_x) through the flow: ``n_samples`` draws of ``p(y | x)`` and their mean.

        ``method``: "euler", "midpoint", "rk4" (``steps`` fixed steps) or "dopri5" (adaptive, ``rtol``/``atol``).
        ``seed`` (default: the model's ``seed``) draws the start noise on the CPU, so a seed gives the same noise on
        every device; ``batch_size`` trajectories are integrated at a time on the model's device (None:
        :data:`TRANSPORT_ROWS`, 2,048 on a CPU and 8,192 elsewhere; the result does not depend on it). Returns a
        :class:`TransportResult`.
        """
        self._check_fitted()
        check_options(method, steps, rtol, atol)
        n_samples = check_int(n_samples, "n_samples", low=1)
        device = self.device_
        if batch_size is None:
            batch_size = TRANSPORT_ROWS["cpu" if torch.device(device).type == "cpu" else "other"]
        batch_size = check_int(batch_size, "batch_size", low=1)
        seed = check_seed(seed, allow_none=True)
        values, assembly = self._source_matrix(x)
        n, d_y = len(values), self.d_y_
        generator = torch.Generator().manual_seed(int(self.seed if seed is None else seed))
        z0 = torch.randn(n * n_samples, d_y, generator=generator).mul_(self.sigma).to(device)
        net = self.module_.velocity
        out = torch.empty_like(z0)
        nfe = 0
        with torch.no_grad():
            xn = self.module_.x_scaler(values.to(device))
            rows = torch.arange(n, device=device).repeat_interleave(int(n_samples))
            for a in range(0, len(z0), batch_size):
                xc = xn.index_select(0, rows[a : a + batch_size])
                def field(t, z, xc=xc):
                    return net(t.expand(len(z)), z, xc)

                out[a : a + batch_size], calls = integrate(field, z0[a : a + batch_size], method=method, steps=steps, rtol=rtol, atol=atol)
                nfe = max(nfe, calls)
            samples = self.module_.y_scaler.inverse(out).reshape(n, int(n_samples), d_y)
            finite = torch.isfinite(samples).flatten(1).all(dim=1)
            if not bool(finite.all()):
                rows = torch.nonzero(~finite).flatten()[:5].tolist()
                raise FloatingPointError(
                    f"transport produced NaN or infinite points for {int((~finite).sum())} of {n} source points "
                    f"(rows {rows}) with method={method!r}, steps={steps}; the flow's weights or x may hold extreme "
                    "values. Check x, or use more steps or method='dopri5'"
                )
            mean = samples.mean(dim=1)
        return self._format(samples, mean, x, assembly, nfe, method)

    def _format(self, samples, mean, x, assembly, nfe: int, method: str) -> TransportResult:
        if isinstance(x, torch.Tensor):
            return TransportResult(samples, mean, nfe, method)
        samples_np, mean_np = samples.cpu().numpy(), mean.cpu().numpy()
        if assembly is None:
            return TransportResult(samples_np, mean_np, nfe, method)
        target = self.target_coords_ or {"neuroid_id": [f"n_{j}" for j in range(self.d_y_)]}
        coords = {**presentation_coord_dict(assembly), **coords_from_json(target)}
        mean_da = xr.DataArray(mean_np, dims=(PRESENTATION, NEUROID), coords=coords, name="transported")
        samples_da = xr.DataArray(
            samples_np, dims=(PRESENTATION, "sample", NEUROID),
            coords={**coords, "sample": np.arange(samples_np.shape[1])}, name="transported_samples",
        )
        return TransportResult(samples_da, mean_da, nfe, method)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``config.json``, ``model.pt`` and ``history.json`` into the folder ``path`` (see the module docstring)."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {
            "format": MODEL_FORMAT,
            "params": self._json_params(),
            "d_x": self.d_x_,
            "d_y": self.d_y_,
            "n_parameters": self.n_parameters_,
            "n_steps": self.n_steps_,
            "stopped_early": self.stopped_early_,
            "source_coords": self.source_coords_,
            "target_coords": self.target_coords_,
            "torch_version": torch.__version__,
        }
        state = {k: v.detach().cpu() for k, v in self.module_.state_dict().items()}
        _atomic_write(path / "model.pt", lambda f: torch.save(state, f))
        _atomic_write(path / "history.json", lambda f: f.write(json.dumps(self.history_).encode()))
        _atomic_write(path / "config.json", lambda f: f.write(json.dumps(config, indent=2).encode()))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | torch.device = "auto") -> ConditionalFlow:
        """Read a folder written by :meth:`save`, placing the model on ``device`` (a GPU model loads on a CPU)."""
        path = Path(path)
        config_file = path / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"no saved flow at {path} (missing config.json); write one with ConditionalFlow.save(path)")
        try:
            config = json.loads(config_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CorruptFileError(f"{config_file} is not valid JSON ({error}); the saved flow is corrupt, save it again") from None
        if not isinstance(config, dict) or config.get("format") != MODEL_FORMAT:
            found = config.get("format") if isinstance(config, dict) else type(config).__name__
            raise ValueError(f"{config_file} has format {found!r}; this version reads {MODEL_FORMAT!r}")
        missing = [k for k in ("params", "d_x", "d_y", "n_parameters", "n_steps", "stopped_early", "source_coords", "target_coords") if k not in config]
        if missing:
            raise CorruptFileError(f"{config_file} lacks {missing}; the saved flow is incomplete, save it again")
        if not isinstance(config["params"], dict):
            raise CorruptFileError(f"{config_file}: 'params' is a {type(config['params']).__name__}, not a dict; save the flow again")
        params = dict(config["params"])
        params["device"] = device if isinstance(device, str) else str(device)
        try:
            flow = cls(**params)
        except TypeError as error:
            raise CorruptFileError(f"{config_file}: its params do not fit ConditionalFlow ({error}); save the flow again") from None
        target = resolve_device(device)
        velocity = build_velocity(flow.network, config["d_x"], config["d_y"], seed=None, **(flow.network_kwargs or {}))
        module = _FlowModule(velocity, config["d_x"], config["d_y"])
        model_file = path / "model.pt"
        if not model_file.is_file():
            raise FileNotFoundError(f"the saved flow at {path} has no model.pt; save it again with ConditionalFlow.save(path)")
        state = read_torch(model_file, what="saved flow model", map_location=target)
        try:
            module.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CorruptFileError(f"{model_file} does not match {config_file} ({first}); the saved flow is corrupt, save it again") from None
        history_file = path / "history.json"
        flow.module_ = module.to(target).eval()
        flow.device_ = target
        flow.d_x_, flow.d_y_ = config["d_x"], config["d_y"]
        flow.n_parameters_ = config["n_parameters"]
        flow.n_steps_ = config["n_steps"]
        flow.stopped_early_ = config["stopped_early"]
        try:
            flow.history_ = json.loads(history_file.read_text()) if history_file.is_file() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CorruptFileError(f"{history_file} is not valid JSON ({error}); the saved flow is corrupt, save it again") from None
        flow.source_coords_ = config["source_coords"]
        flow.target_coords_ = config["target_coords"]
        return flow


def _check_resumable(saved: dict, current: dict) -> None:
    """Refuse a checkpoint made with another network, noise or data (normalisation statistics)."""
    if "model_params" not in saved:
        raise ValueError("cannot resume: the checkpoint was not written by ConditionalFlow.fit")
    before, now = json.loads(saved["model_params"]), json.loads(current["model_params"])
    differ = [k for k in ("network", "network_kwargs", "sigma", "sigma_min") if before.get(k) != now.get(k)]
    if differ:
        raise ValueError(
            "cannot resume: the checkpoint was trained with "
            + ", ".join(f"{k}={before.get(k)!r} (now {now.get(k)!r})" for k in differ)
            + "; use the same settings or start without resume"
        )
    for key in ("x_scaler", "y_scaler"):
        if any(not torch.equal(saved[key][k].cpu(), current[key][k].cpu()) for k in current[key]):
            raise ValueError(
                f"cannot resume: the checkpoint's {key} statistics differ from those of the data passed to fit; "
                "resume with the same x and y"
            )


def _atomic_write(path: Path, write) -> None:
    """``write(file)`` on a binary file handle, through :func:`neurobridge._io.atomic_write`."""
    def _write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write(f)

    atomic_write(path, _write)
