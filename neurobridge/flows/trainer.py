"""The training loop of a conditional flow: optimiser, schedule, EMA, mixed precision, validation, checkpoints, DDP.

One optimisation step: draw ``batch_size`` pairs from the :class:`~neurobridge.flows.pairs.PairSampler` (numpy
generator), draw the path noise (torch generator), take an Adam/AdamW step on the flow-matching loss of
:class:`~neurobridge.flows.matcher.FlowMatcher` with gradient-norm clipping, step the learning-rate schedule
(linear warm-up, then cosine decay to ``min_lr_ratio * lr``; Loshchilov & Hutter 2017), and update the EMA weights.

Speed: Adam/AdamW use PyTorch's fused implementation on the CPU and CUDA where available (the optimiser, its step
and the gradient clipping, the code that touches torch internals, are in :mod:`neurobridge.flows.optim`), and the
loop never synchronises with the device inside a step. Losses are kept as device scalars and read every
``log_every`` steps (progress bar, history, non-finite check naming the exact step). A step of a small network on a
CPU costs a few milliseconds, so the loop avoids per-step Python work that changes no number: no autocast context
when training in fp32, gradients released by ``p.grad = None`` (what ``zero_grad(set_to_none=True)`` does), gradient
clipping by :func:`~neurobridge.flows.optim.clip_grad_norm` (the same multi-tensor operations as
:func:`torch.nn.utils.clip_grad_norm_`, without its per-call regrouping), the fused Adam kernels called on the
optimizer's own state (:class:`~neurobridge.flows.optim.FusedAdamStep`), and, on a CPU, the sampler's index range
checked by ``index_select`` itself (the named error of :func:`~neurobridge.flows.pairs.check_pair_indices` on a
refusal). ``tests/test_flows_trainer.py`` checks that the weights, losses and optimizer state equal a plain PyTorch
loop's bit for bit; ``benchmarks/bench_flow_step.py`` measures the saving.

Reproducibility: all randomness comes from one :class:`torch.Generator` and one :class:`numpy.random.Generator`
seeded from ``seed``. A checkpoint holds the network, optimiser, schedule, EMA, gradient scaler, both generators'
states, the sampler's state (if it has one), the history, the early-stopping state and the caller's ``extra_state``
(normalisation, model configuration); resuming on the CPU continues bit-identically.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .._device import resolve_device
from .._validation import check_float, check_int, check_seed
from .checkpoint import CHECKPOINT_NAME, atomic_save, check_checkpoint_dir, read_checkpoint
from .distributed import DistributedContext, all_reduce_mean, current_context, shard_bounds
from .matcher import FlowMatcher
from .optim import FusedAdamStep, clip_grad_norm, make_optimizer
from .pairs import PairSampler, check_pair_indices

__all__ = ["TrainConfig", "Trainer", "NonFiniteLossError", "WarmupCosine"]

CHECKPOINT_FORMAT = "neurobridge.flows.checkpoint/1"
_RESUME_FREE_KEYS = {"progress", "checkpoint_every", "log_every"}
_CHECKPOINT_KEYS = ("step", "config", "velocity", "optimizer", "scheduler", "scaler", "torch_generator", "numpy_generator",
                    "sampler", "history", "early_stopping")


class NonFiniteLossError(FloatingPointError):
    """The training loss or the network's parameters became NaN or infinite; ``step`` is the (1-based)
    optimisation step where it was detected."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


DIVERGENCE_FACTOR = 100.0


class DivergedError(NonFiniteLossError):
    """The training loss stayed finite but ended far above where it started: the fit diverged.

    The first step's loss is that of a network that has learned nothing (its output is near zero at
    initialisation, so the loss is about ``E|u|^2``, the loss of the zero velocity field). A fit that ends with a
    loss :data:`DIVERGENCE_FACTOR` (100) times higher does worse than predicting nothing; its transport is
    meaningless (often NaN or far outside the target). Training stops as soon as a logged window exceeds the first
    loss ``DIVERGENCE_FACTOR**3`` times, and at the end when the last window exceeds it ``DIVERGENCE_FACTOR`` times.
    """


@dataclass
class TrainConfig:
    """Hyper-parameters of :class:`Trainer`.

    ``batch_size`` is the global batch (split across ranks under DDP). ``warmup`` is a number of steps (int) or a
    fraction of ``steps`` (float < 1). ``ema`` is the EMA decay (e.g. 0.999) or None. ``precision``: "auto" (bf16
    autocast on a CUDA device that supports it, else fp16 with loss scaling; fp32 elsewhere), "fp32", "bf16", "fp16".
    ``patience`` counts validations (every ``val_every`` steps) without an improvement of at least ``min_delta``.
    """

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup: int | float = 0.05
    min_lr_ratio: float = 0.0
    grad_clip: float | None = 1.0
    ema: float | None = None
    precision: str = "auto"
    seed: int = 0
    log_every: int = 50
    val_every: int = 100
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    checkpoint_every: int | None = None
    progress: bool = True

    def __post_init__(self):
        if not (isinstance(self.betas, (tuple, list)) and len(self.betas) == 2):
            raise TypeError(f"betas must be a pair (beta1, beta2); got {self.betas!r}")
        self.betas = tuple(check_float(b, "betas", low=0, high=1, high_open=True) for b in self.betas)
        for name in ("steps", "batch_size", "log_every", "val_every"):
            setattr(self, name, check_int(getattr(self, name), name, low=1))
        self.lr = check_float(self.lr, "lr", positive=True)
        self.seed = check_seed(self.seed)
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw'; got {self.optimizer!r}")
        self.weight_decay = check_float(self.weight_decay, "weight_decay", low=0)
        if isinstance(self.warmup, (float, np.floating)):
            self.warmup = check_float(self.warmup, "warmup (a float is a fraction of steps)", low=0, high=1, high_open=True)
        else:
            self.warmup = check_int(self.warmup, "warmup (steps, or a float fraction of steps)", low=0)
        self.min_lr_ratio = check_float(self.min_lr_ratio, "min_lr_ratio", low=0, high=1)
        self.grad_clip = check_float(self.grad_clip, "grad_clip", positive=True, allow_none=True)
        if self.ema is not None:
            self.ema = check_float(self.ema, "ema (the EMA decay in (0, 1), e.g. 0.999, or None)", low=0, high=1, low_open=True, high_open=True)
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be 'auto', 'fp32', 'bf16' or 'fp16'; got {self.precision!r}")
        self.patience = check_int(self.patience, "patience (validations without improvement)", low=1, allow_none=True)
        self.min_delta = check_float(self.min_delta, "min_delta", low=0)
        self.checkpoint_every = check_int(self.checkpoint_every, "checkpoint_every", low=1, allow_none=True)

    @property
    def warmup_steps(self) -> int:
        return int(round(self.warmup * self.steps)) if isinstance(self.warmup, float) else int(self.warmup)


class WarmupCosine:
    """Learning-rate factor: ``(s + 1) / W`` for ``s < W``, then ``r + (1 - r) (1 + cos(pi p)) / 2`` with
    ``p = (s - W) / (S - W)`` (linear warm-up, cosine decay to ``r = min_lr_ratio``)."""

    def __init__(self, steps: int, warmup: int, min_lr_ratio: float = 0.0):
        self.steps, self.warmup, self.min_lr_ratio = steps, min(warmup, steps), min_lr_ratio

    def __call__(self, s: int) -> float:
        if s < self.warmup:
            return (s + 1) / self.warmup
        progress = min(1.0, (s - self.warmup) / max(1, self.steps - self.warmup))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _amp_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(f"precision='fp16' needs a CUDA device (loss scaling); the device is {device}. Use 'bf16' or 'fp32'")
    return torch.bfloat16 if precision == "bf16" else torch.float16


@dataclass
class _EarlyStopping:
    best: float = math.inf
    best_step: int = 0
    bad: int = 0
    stopped: bool = False
    best_state: dict | None = field(default=None, repr=False)


class Trainer:
    """Train ``velocity`` on pairs from ``sampler`` indexing the pools ``x_pool`` (n, d_x) and ``y_pool`` (m, d_y).

    The pools are the (already normalised) float tensors the network sees. ``val_pairs`` is an optional
    ``(source_index, target_index)`` held-out set scored every ``config.val_every`` steps with fixed noise.
    ``checkpoint_dir`` receives ``checkpoint.pt`` every ``config.checkpoint_every`` steps and at the end of
    :meth:`train`. Under an initialised ``torch.distributed`` process group the network is wrapped in
    DistributedDataParallel (see :mod:`neurobridge.flows.distributed`).
    """

    def __init__(
        self,
        velocity: nn.Module,
        x_pool: torch.Tensor,
        y_pool: torch.Tensor,
        sampler: PairSampler,
        *,
        matcher: FlowMatcher | None = None,
        config: TrainConfig | None = None,
        device: str | torch.device = "auto",
        val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
        checkpoint_dir: str | Path | None = None,
        extra_state: dict | None = None,
        context: DistributedContext | None = None,
    ):
        if not callable(getattr(sampler, "sample", None)):
            raise TypeError(
                f"sampler must have a sample(batch_size, rng) method returning (source_index, target_index); got {type(sampler).__name__}"
            )
        for name, pool in (("x_pool", x_pool), ("y_pool", y_pool)):
            if not isinstance(pool, torch.Tensor) or pool.ndim != 2 or len(pool) == 0:
                raise ValueError(f"{name} must be a non-empty 2-D torch tensor (points x features); got {getattr(pool, 'shape', type(pool))}")
        self.config = config or TrainConfig()
        self.matcher = matcher or FlowMatcher()
        self.context = context or current_context()
        self.device = resolve_device(device)
        self.sampler = sampler
        self.extra_state = dict(extra_state or {})
        self.checkpoint_dir = check_checkpoint_dir(checkpoint_dir) if checkpoint_dir is not None and self.context.is_main else (
            Path(checkpoint_dir) if checkpoint_dir is not None else None)
        self.shard = shard_bounds(self.config.batch_size, self.context)

        self.network = velocity.to(self.device)
        self.x_pool = x_pool.to(self.device, torch.float32)
        self.y_pool = y_pool.to(self.device, torch.float32)
        self.d_y = self.y_pool.shape[1]
        self.amp_dtype = _amp_dtype(self.config.precision, self.device)
        self.optimizer = make_optimizer(self.config, self.network.parameters(), self.device)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, WarmupCosine(self.config.steps, self.config.warmup_steps, self.config.min_lr_ratio)
        )
        self._optimizer_step = FusedAdamStep(self.optimizer)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.ema = (
            AveragedModel(self.network, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema), use_buffers=False)
            if self.config.ema is not None
            else None
        )
        self.generator = torch.Generator(device=self.device).manual_seed(self.config.seed)
        self.rng = np.random.default_rng(self.config.seed)
        self._train_net = self._wrap_ddp(self.network)

        self.step = 0
        self.history: dict[str, list] = {"step": [], "loss": [], "val_step": [], "val_loss": []}
        self.early = _EarlyStopping()
        self._params = list(self.network.parameters())
        self._losses: list[torch.Tensor] = []
        self._val = self._prepare_validation(val_pairs)

    def _wrap_ddp(self, net: nn.Module) -> nn.Module:
        if not self.context.is_distributed:
            return net
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index if self.device.index is not None else torch.cuda.current_device()] if self.device.type == "cuda" else None
        return DistributedDataParallel(net, device_ids=ids)

    def _prepare_validation(self, val_pairs):
        if val_pairs is None:
            return None
        src, tgt = check_pair_indices(*val_pairs, len(self.x_pool), len(self.y_pool), name="val_pairs")
        if len(src) == 0:
            return None
        noise_gen = torch.Generator(device=self.device).manual_seed(self.config.seed + 7919)
        noise = self.matcher.draw(len(src), self.d_y, generator=noise_gen, device=self.device)
        return torch.from_numpy(src).to(self.device), torch.from_numpy(tgt).to(self.device), noise

    @property
    def eval_network(self) -> nn.Module:
        """The weights used for validation and transport: the EMA copy when ``ema`` is set, else the raw network."""
        return self.ema.module if self.ema is not None else self.network

    @property
    def finished(self) -> bool:
        return self.step >= self.config.steps or self.early.stopped

    def train(self, stop_at: int | None = None) -> dict[str, list]:
        """Run until ``config.steps`` (or ``stop_at`` steps in total, to split a run into sessions), early stopping
        or a non-finite loss (:class:`NonFiniteLossError`). Returns the history."""
        end = self.config.steps if stop_at is None else min(int(stop_at), self.config.steps)
        bar = self._progress_bar(end)
        try:
            self.network.train()
            while self.step < end and not self.early.stopped:
                self._one_step()
                self.step += 1
                if len(self._losses) == self.config.log_every or self.step == end:
                    self._flush(bar)
                if self._val is not None and self.step % self.config.val_every == 0:
                    self._validate_and_check_patience()
                if self.config.checkpoint_every and self.step % self.config.checkpoint_every == 0:
                    self.save_checkpoint()
            self._flush(bar)
            if self.finished:
                self._check_divergence(self.history["loss"][-self.config.log_every:], DIVERGENCE_FACTOR)
        finally:
            if bar is not None:
                bar.close()
        if self.checkpoint_dir is not None and (self.config.checkpoint_every is None or self.step % self.config.checkpoint_every):
            self.save_checkpoint()
        if self.finished and self.config.restore_best and self.early.best_state is not None:
            self.eval_network.load_state_dict(self.early.best_state)
        self.eval_network.eval()
        return self.history

    def _progress_bar(self, end: int):
        if not (self.config.progress and self.context.is_main):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=end, initial=self.step, desc="flow", unit="step", dynamic_ncols=True, leave=False)

    def _draw_batch(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """The sampler's batch as int64 arrays, and whether their range is still to be checked.

        On a CPU, int64 arrays of the right shape skip the range check here: ``index_select`` refuses an index out of
        range, and :meth:`_gather` then raises the same named error as :func:`check_pair_indices` (on an accelerator
        an out-of-range index would be a device-side assert, so the check runs first)."""
        batch = self.config.batch_size
        out = self.sampler.sample(batch, self.rng)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"sampler.sample must return a tuple (source_index, target_index); got {type(out).__name__}")
        src, tgt = np.asarray(out[0]), np.asarray(out[1])
        if src.shape != (batch,) or tgt.shape != (batch,):
            raise ValueError(f"sampler.sample({batch}, rng) returned index arrays of shapes {src.shape} and {tgt.shape}; both must be ({batch},)")
        if self.device.type == "cpu" and src.dtype == np.int64 and tgt.dtype == np.int64:
            return src, tgt, True
        return (*check_pair_indices(src, tgt, len(self.x_pool), len(self.y_pool), name=self._batch_name()), False)

    def _batch_name(self) -> str:
        return f"sampler batch at step {self.step + 1}"

    def _gather(self, src: np.ndarray, tgt: np.ndarray, unchecked: bool) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            xb = self.x_pool.index_select(0, torch.from_numpy(src).to(self.device, non_blocking=True))
            yb = self.y_pool.index_select(0, torch.from_numpy(tgt).to(self.device, non_blocking=True))
        except (IndexError, RuntimeError):
            if unchecked:
                check_pair_indices(src, tgt, len(self.x_pool), len(self.y_pool), name=self._batch_name())
            raise
        return xb, yb

    def _one_step(self) -> None:
        src, tgt, unchecked = self._draw_batch()
        noise = self.matcher.draw(self.config.batch_size, self.d_y, generator=self.generator, device=self.device)
        start, stop = self.shard
        if self.context.is_distributed:
            src, tgt, noise = src[start:stop], tgt[start:stop], noise.shard(start, stop)
        xb, yb = self._gather(src, tgt, unchecked)
        if self.amp_dtype is None:
            loss = self.matcher.loss(self._train_net, xb, yb, noise)
        else:
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                loss = self.matcher.loss(self._train_net, xb, yb, noise)
        for p in self._params:
            p.grad = None
        if self.scaler.is_enabled():
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.config.grad_clip is not None:
            clip_grad_norm(self._params, self.config.grad_clip)
        if self.scaler.is_enabled():
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self._optimizer_step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.network)
        self._losses.append(loss.detach())

    def _flush(self, bar) -> None:
        if not self._losses:
            return
        values = all_reduce_mean(torch.stack(self._losses).float(), self.context).cpu().tolist()
        first = self.step - len(self._losses) + 1
        self._losses.clear()
        for offset, value in enumerate(values):
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"the training loss became {value} at step {first + offset} (of {self.config.steps}). "
                    "Check the pools for NaN/inf values, or lower lr / keep grad_clip set.",
                    step=first + offset,
                )
        self._check_parameters(first)
        self.history["step"].extend(range(first, first + len(values)))
        self.history["loss"].extend(values)
        self._check_divergence(values, DIVERGENCE_FACTOR ** 3)
        if bar is not None:
            bar.update(self.step - bar.n)
            postfix = {"loss": f"{np.mean(values):.4f}"}
            if self.history["val_loss"]:
                postfix["val"] = f"{self.history['val_loss'][-1]:.4f}"
            bar.set_postfix(postfix, refresh=False)

    def _check_divergence(self, window, factor: float) -> None:
        """Raise :class:`DivergedError` when the mean loss of ``window`` exceeds ``factor`` times the first step's."""
        if not self.history["loss"] or not len(window):
            return
        start, recent = float(self.history["loss"][0]), float(np.mean(window))
        if start > 0 and recent > factor * start:
            clip = "set grad_clip (it is off)" if self.config.grad_clip is None else f"lower grad_clip (now {self.config.grad_clip:g})"
            raise DivergedError(
                f"the fit diverged: the training loss rose from {start:.3g} at step 1 to {recent:.3g} over steps "
                f"{self.step - len(window) + 1}-{self.step} (of {self.config.steps}), more than {factor:g} times its "
                f"start. Lower lr (now {self.config.lr:g}), {clip}, or standardise the pools",
                step=self.step,
            )

    @torch.no_grad()
    def _check_parameters(self, first: int) -> None:
        """Raise :class:`NonFiniteLossError` when a weight of the network (or its EMA copy) is NaN or infinite."""
        nets = [("network", self.network)] + ([("EMA network", self.ema.module)] if self.ema is not None else [])
        for label, net in nets:
            tensors = [p for p in net.parameters()]
            if not tensors:
                continue
            flags = torch.stack([torch.isfinite(p).all() for p in tensors])
            if bool(flags.all()):
                continue
            names = [n for (n, _), ok in zip(net.named_parameters(), flags.tolist()) if not ok]
            where = f"step {self.step}" if first >= self.step else f"one of steps {first}-{self.step}"
            raise NonFiniteLossError(
                f"the {label}'s parameters became NaN or infinite at {where} (of {self.config.steps}), in {names[:3]}. "
                "Lower lr, keep grad_clip set, or check the pools for extreme values.",
                step=self.step,
            )

    @torch.no_grad()
    def validation_loss(self) -> float:
        """Flow-matching loss of :attr:`eval_network` on the validation pairs, with noise fixed at construction."""
        if self._val is None:
            raise ValueError("no validation pairs were given; pass val_pairs=(source_index, target_index)")
        src, tgt, noise = self._val
        net = self.eval_network
        was_training = net.training
        net.eval()
        total, n = 0.0, len(src)
        chunk = max(self.config.batch_size, 1024)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
                part = self.matcher.loss(net, self.x_pool[src[a:b]], self.y_pool[tgt[a:b]], noise.shard(a, b))
            total += part.item() * (b - a)
        net.train(was_training)
        return total / n

    def _validate_and_check_patience(self) -> None:
        value = self.validation_loss()
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"the validation loss became {value} at step {self.step} (of {self.config.steps}); "
                "lower lr, keep grad_clip set, or check the pools for extreme values",
                step=self.step,
            )
        self.history["val_step"].append(self.step)
        self.history["val_loss"].append(value)
        if value < self.early.best - self.config.min_delta:
            self.early.best, self.early.best_step, self.early.bad = value, self.step, 0
            self.early.best_state = {k: v.detach().clone() for k, v in self.eval_network.state_dict().items()}
        else:
            self.early.bad += 1
            if self.config.patience is not None and self.early.bad >= self.config.patience:
                self.early.stopped = True

    def state_dict(self) -> dict[str, Any]:
        """Everything a bit-identical resume needs (see the module docstring)."""
        sampler_state = self.sampler.state_dict() if callable(getattr(self.sampler, "state_dict", None)) else None
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "config": asdict(self.config),
            "velocity": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "torch_generator": self.generator.get_state(),
            "numpy_generator": self.rng.bit_generator.state,
            "sampler": sampler_state,
            "history": self.history,
            "early_stopping": asdict(self.early),
            "extra": self.extra_state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the configuration must match except progress/log/checkpoint frequency."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a flow checkpoint (format {state.get('format')!r}, expected {CHECKPOINT_FORMAT!r})")
        missing = [k for k in _CHECKPOINT_KEYS if k not in state]
        if missing:
            raise ValueError(f"the flow checkpoint lacks {missing}; it is incomplete. Delete it and train again")
        mine, theirs = asdict(self.config), dict(state["config"])
        theirs["betas"] = tuple(theirs["betas"])
        differ = sorted(k for k in mine if k not in _RESUME_FREE_KEYS and mine[k] != theirs.get(k))
        if differ:
            raise ValueError(
                "cannot resume: the checkpoint was trained with different settings "
                + ", ".join(f"{k}={theirs.get(k)!r} (now {mine[k]!r})" for k in differ)
                + "; use the same settings or start without resume"
            )
        self.network.load_state_dict(state["velocity"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.generator.set_state(state["torch_generator"].cpu())
        self.rng.bit_generator.state = state["numpy_generator"]
        if state["sampler"] is not None:
            if not callable(getattr(self.sampler, "load_state_dict", None)):
                raise ValueError(f"the checkpoint holds sampler state but {type(self.sampler).__name__} has no load_state_dict")
            self.sampler.load_state_dict(state["sampler"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.early = _EarlyStopping(**state["early_stopping"])
        self.extra_state = dict(state.get("extra") or {})
        self.step = int(state["step"])

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write :meth:`state_dict` atomically to ``path`` (default ``checkpoint_dir/checkpoint.pt``); rank 0 only."""
        if path is None:
            if self.checkpoint_dir is None:
                raise ValueError("no checkpoint path: pass path=... or construct the Trainer with checkpoint_dir=...")
            path = self.checkpoint_dir / CHECKPOINT_NAME
        if not self.context.is_main:
            return None
        return atomic_save(self.state_dict(), path)

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        """Resume from ``path`` (default ``checkpoint_dir/checkpoint.pt``)."""
        if path is None:
            if self.checkpoint_dir is None:
                raise ValueError("no checkpoint path: pass path=... or construct the Trainer with checkpoint_dir=...")
            path = self.checkpoint_dir / CHECKPOINT_NAME
        state = read_checkpoint(path, map_location=self.device)
        try:
            self.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError, TypeError) as error:
            raise ValueError(f"{path}: {error}") from None
