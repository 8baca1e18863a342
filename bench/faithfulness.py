"""Faithfulness of the circuits a ranking implies (MIB-style), at node level.

For each fraction n of heads (MIB's grid), the circuit is the top-n heads by score; every head
outside it is patched with its activation from the corrupted prompt (``hook_z``). Faithfulness
f = (m(C) - m(empty)) / (m(M) - m(empty)), m the task metric averaged over prompts. CPR is the area
under f over the fraction axis, CMD the area between f and 1 (MIB's definitions; lower CMD is
better). Needs no ground truth, so it runs on any model."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from transformer_lens import HookedTransformer

from bench.tasks.base import TaskPrompts, last_logits

GRID = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


@dataclass(frozen=True)
class FaithfulnessCurve:
    fractions: list[float]  # fraction of heads in the circuit (after rounding up to whole heads)
    faithfulness: list[float]
    cpr: float
    cmd: float


@torch.no_grad()
def _metric_with_circuit(model: HookedTransformer, prompts: TaskPrompts, keep: torch.Tensor,
                         corrupt_z: dict[str, torch.Tensor]) -> float:
    """Mean metric with heads where ``keep`` is False patched from the corrupted run."""
    def patch(z: torch.Tensor, hook) -> torch.Tensor:
        layer = int(hook.name.split(".")[1])
        drop = ~keep[layer]
        z[:, :, drop] = corrupt_z[hook.name][:, :, drop]
        return z

    logits = model.run_with_hooks(prompts.clean.tokens.to(model.cfg.device),
                                  fwd_hooks=[(lambda n: n.endswith("attn.hook_z"), patch)])
    return prompts.metric(last_logits(logits, prompts.clean.to(model.cfg.device))).mean().item()


def _area(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


@torch.no_grad()
def faithfulness_curve(model: HookedTransformer, prompts: TaskPrompts, node_scores: torch.Tensor,
                       grid: tuple[float, ...] = GRID) -> FaithfulnessCurve:
    cfg = model.cfg
    n_total = cfg.n_layers * cfg.n_heads
    _, cache = model.run_with_cache(prompts.corrupted.tokens.to(cfg.device), names_filter=lambda n: n.endswith("attn.hook_z"))
    corrupt_z = {k: v for k, v in cache.items()}
    order = torch.argsort(node_scores.flatten().cpu(), descending=True, stable=True)
    all_heads = torch.ones(cfg.n_layers, cfg.n_heads, dtype=torch.bool)
    m_full = _metric_with_circuit(model, prompts, all_heads, corrupt_z)
    m_empty = _metric_with_circuit(model, prompts, ~all_heads, corrupt_z)
    denom = m_full - m_empty
    fracs, faith = [], []
    for frac in grid:
        k = min(n_total, math.ceil(frac * n_total))
        keep = torch.zeros(n_total, dtype=torch.bool)
        keep[order[:k]] = True
        m = _metric_with_circuit(model, prompts, keep.view(cfg.n_layers, cfg.n_heads), corrupt_z)
        fracs.append(k / n_total)
        faith.append((m - m_empty) / denom if abs(denom) > 1e-9 else float("nan"))
    x, y = np.array(fracs), np.array(faith)
    return FaithfulnessCurve(fracs, faith, _area(x, y), _area(x, np.abs(1 - y)))
