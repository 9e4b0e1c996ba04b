"""The optimiser step of the flow trainer: the one module that touches torch internals.

:func:`make_optimizer` builds a fused Adam/AdamW where PyTorch offers one; :func:`clip_grad_norm` is
:func:`torch.nn.utils.clip_grad_norm_`'s multi-tensor path without its per-call regrouping; :class:`FusedAdamStep`
calls the fused Adam kernels on the optimizer's own state. Each gives the same numbers as the plain PyTorch call
(``tests/test_flows_trainer.py`` checks them bit for bit) and falls back to it where it does not apply.
"""
from __future__ import annotations

import torch

__all__ = ["make_optimizer", "clip_grad_norm", "FusedAdamStep"]


def make_optimizer(config, params, device: torch.device) -> torch.optim.Optimizer:
    """Adam or AdamW (``config.optimizer``) with ``config``'s ``lr``, ``betas`` and ``weight_decay`` (a
    :class:`~neurobridge.flows.trainer.TrainConfig`); PyTorch's fused implementation on the CPU and CUDA where it
    is available."""
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    params = list(params)
    kwargs = dict(lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    if device.type in ("cpu", "cuda"):
        try:
            return cls(params, fused=True, **kwargs)
        except (RuntimeError, ValueError):
            pass
    return cls(params, **kwargs)


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    """Scale the gradients of ``params`` in place by ``min(1, max_norm / (||g|| + 1e-6))``, ``||g||`` the 2-norm of
    all gradients together (Pascanu et al. 2013), exactly as :func:`torch.nn.utils.clip_grad_norm_` does.

    On CPU or CUDA tensors of one device and dtype this runs the multi-tensor (``foreach``) operations that
    ``clip_grad_norm_`` runs there (``_foreach_norm``, the norm of the stacked norms, ``_foreach_mul_``) without its
    per-call grouping; anything else goes through ``clip_grad_norm_`` itself. Parameters without a gradient are
    skipped.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    first = grads[0]
    if first.device.type not in ("cpu", "cuda") or any(
        g.device != first.device or g.dtype != first.dtype or type(g) is not torch.Tensor or g.is_sparse for g in grads
    ):
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        return
    with torch.no_grad():
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        torch._foreach_mul_(grads, torch.clamp(float(max_norm) / (total + 1e-6), max=1.0))


def _step_hooks(optimizer: torch.optim.Optimizer) -> list | None:
    """The optimizer's own and the global step hooks (dicts), or None where this torch version keeps them elsewhere."""
    from torch.optim import optimizer as module

    hooks = [getattr(optimizer, "_optimizer_step_pre_hooks", None), getattr(optimizer, "_optimizer_step_post_hooks", None),
             getattr(module, "_global_optimizer_pre_hooks", None), getattr(module, "_global_optimizer_post_hooks", None)]
    return None if any(h is None for h in hooks) else hooks


class FusedAdamStep:
    """``optimizer.step()`` of a fused Adam/AdamW (one parameter group, no amsgrad/maximize/capturable, no step
    hooks) as the two kernels that step runs, ``_foreach_add_`` on the step counts and ``_fused_adam_`` (or
    ``_fused_adamw_``), on the optimizer's own state, without the per-call Python around them (hooks, profiler
    record, regrouping: about 0.3 ms of a 3.5 ms step of the digits flow on this CPU). The first step (which creates
    the state) and every optimizer this does not cover go through ``optimizer.step()`` itself;
    ``tests/test_flows_trainer.py`` checks the weights and the checkpointed state agree bit for bit."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.kernel = self._kernel(optimizer)

    @staticmethod
    def _kernel(optimizer):
        if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW) or len(optimizer.param_groups) != 1:
            return None
        group = optimizer.param_groups[0]
        if not group.get("fused") or any(group.get(k) for k in ("amsgrad", "maximize", "capturable", "differentiable")):
            return None
        if _step_hooks(optimizer) is None:
            return None
        kernel = getattr(torch, "_fused_adamw_" if group.get("decoupled_weight_decay") else "_fused_adam_", None)
        try:  # the kernel's keywords as this torch version's Adam calls them; a mismatch keeps optimizer.step()
            device = group["params"][0].device
            probe = [torch.zeros(1, device=device) for _ in range(4)]
            kernel([probe[0]], [probe[1]], [probe[2]], [probe[3]], [], [torch.ones((), device=device)], amsgrad=False, lr=0.0,
                   beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False, grad_scale=None, found_inf=None)
        except (TypeError, RuntimeError):
            return None
        return kernel

    def __call__(self) -> None:
        optimizer = self.optimizer
        if self.kernel is None or any(len(h) for h in _step_hooks(optimizer)):
            optimizer.step()
            return
        group, state = optimizer.param_groups[0], optimizer.state
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        if any(len(state[p]) == 0 for p in params):
            optimizer.step()
            return
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            steps = [state[p]["step"] for p in params]
            torch._foreach_add_(steps, 1)
            self.kernel(params, [p.grad for p in params], [state[p]["exp_avg"] for p in params],
                        [state[p]["exp_avg_sq"] for p in params], [], steps, amsgrad=False, lr=group["lr"], beta1=beta1,
                        beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
                        grad_scale=None, found_inf=None)
