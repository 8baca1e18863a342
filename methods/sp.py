"""Subnetwork probing (Cao et al. 2021) as the ACDC paper used it for circuit discovery: learned
hard-concrete masks, trained to keep the output faithful (KL to the clean output; squared error for a
real-valued output) while a regulariser of strength lambda pushes masks off, with lambda swept to trace
the ROC. This runs auto-circuit's ``subnetwork_probing_prune_scores`` once per lambda over edge masks
(auto-circuit masks edges; the ACDC paper's SP masked nodes), with ablated edges taking the corrupted
prompts' token-wise mean (auto-circuit's ablation for SP). The lambda grid is the ACDC paper's
(``subnetwork_probing/launch_grid_fill.py``; tracr: 10^linspace(-3, 0, 11)); epochs and learning rate are
auto-circuit's kind of schedule, far shorter than the paper's 10,000 epochs, so that a sweep runs on a CPU.

At each lambda an edge is in the circuit when its mask keeps it (deterministic gate below 1/2). An edge's
score is the largest lambda at which it is kept (0 if never); a head's, the largest lambda at which any
incident edge is. The circuits are returned as a sweep for ACDC's Pareto-staircase AUC."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from bench.patching import for_prompts
from bench.progress import track
from bench.tasks.base import TaskPrompts
from methods.base import MethodResult, Sweep, check_target, quiet_progress, resolve_target

# ACDC's subnetwork-probing grid for KL: 10^linspace(-2, 0, 11), 2..10, then 10..250 in 13 steps.
ACDC_GRID = tuple(float(x) for x in np.concatenate([10 ** np.linspace(-2, 0, 11), np.linspace(1, 10, 10)[1:],
                                                    np.linspace(10, 250, 13)[1:]]))


@dataclass(frozen=True)
class Config:
    lambdas: tuple[float, ...] = ACDC_GRID
    epochs: int = 100
    lr: float = 0.1
    target: str = "auto"  # "kl_div", "mse", or "auto": mse where the task's output is a real value

    def __post_init__(self) -> None:
        if not self.lambdas or any(not (x > 0 and np.isfinite(x)) for x in self.lambdas):
            raise ValueError("lambdas must be positive finite numbers")
        if self.epochs < 1 or not (self.lr > 0 and np.isfinite(self.lr)):
            raise ValueError("epochs must be at least 1 and lr positive")
        check_target(self.target)


FAMILY_SETTINGS = {"tracr": {"lambdas": tuple(float(x) for x in 10 ** np.linspace(-3, 0, 11))}}


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    import sys

    import auto_circuit.prune_algos.subnetwork_probing as sp_module

    target = resolve_target(config.target, prompts)
    bridge = for_prompts(model, prompts)
    graph = bridge.graph
    lambdas = sorted(config.lambdas)
    score = torch.zeros(len(graph.edges))
    kept_all = []
    t0 = time.perf_counter()
    # auto-circuit calls torch.optim.adam.Adam; torch 2.13 removes the submodule from torch.optim's namespace
    torch.optim.adam = sys.modules["torch.optim.adam"]  # type: ignore[attr-defined]
    try:
        for lam in track(lambdas, "SP lambda sweep", "lambda"):
            torch.manual_seed(seed)  # the hard-concrete samples
            with quiet_progress(sp_module):
                sp_module.subnetwork_probing_prune_scores(bridge.pm, bridge.loader, None, learning_rate=config.lr,
                                                epochs=config.epochs, regularize_lambda=lam, mask_fn="hard_concrete",
                                                tree_optimisation=True, faithfulness_target=target)
            masks = {k: v.detach() for k, v in bridge.pm.patch_masks.items()}
            kept = graph.fold_internal(bridge.to_graph(masks, fill=1.0) < 0)  # negative parameter: the gate keeps it
            kept_all.append(kept)
            score = torch.where(kept, torch.tensor(lam), score)
    finally:
        del torch.optim.adam
    return MethodResult.from_edges(graph, score, ablation="corrupted token-wise mean", metric=f"{target} (SP)",
                                   sweep=Sweep("lambda", lambdas, torch.stack(kept_all)),
                                   diagnostics={"n_lambdas": len(lambdas), "sweep_s": time.perf_counter() - t0})
