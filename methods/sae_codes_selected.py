"""SAE codes with hyperparameters chosen without labels.

The paper tuned width and L1 with Optuna against the ground-truth AUC. Here every candidate
(L1 x token positions) is fitted twice, with different seeds and different SAE training prompts, on
scale-normalised inputs with a per-row summed MSE (one lambda then serves models of any activation
scale; the released element-mean MSE on raw inputs collapses on large ones); the candidate whose
node ranking agrees best between the two fits (Spearman rank correlation) wins, among fits that are
not degenerate. Ground truth is never read: stability is a property of the method's own output.
The reported scores are the mean of the winner's two fits."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from bench.tasks.base import TaskPrompts
from methods.base import MethodResult
from methods.sae_codes import Config as SaeConfig
from methods.sae_codes import fit_and_score, result, scaled_head_outputs


@dataclass(frozen=True)
class Config:
    l1_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)
    positions_grid: tuple[str, ...] = ("mean", "last")
    arch: str = "released"
    n_hidden: int = 200
    n_train_prompts: int = 10
    epochs: int = 500
    tol: float | None = 1e-4

    def __post_init__(self) -> None:
        if not self.l1_grid or not self.positions_grid:
            raise ValueError("l1_grid and positions_grid must not be empty")
        for l1 in self.l1_grid:  # every candidate must be a valid SAE-code setting
            for positions in self.positions_grid:
                SaeConfig(l1=l1, positions=positions, arch=self.arch, n_hidden=self.n_hidden,
                          n_train_prompts=self.n_train_prompts, epochs=self.epochs, tol=self.tol)

    def check_prompts(self, n_pairs: int) -> None:
        SaeConfig(n_train_prompts=self.n_train_prompts).check_prompts(n_pairs)


def _spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    def ranks(x: torch.Tensor) -> torch.Tensor:
        order = x.argsort(stable=True)
        r = torch.empty_like(x)
        r[order] = torch.arange(len(x), dtype=x.dtype)
        for v in x.unique():  # average ranks over ties
            m = x == v
            r[m] = r[m].mean()
        return r

    ra, rb = ranks(a.float()), ranks(b.float())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = (ra.norm() * rb.norm()).item()
    return float((ra @ rb).item() / denom) if denom > 0 else 0.0


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    base = SaeConfig(n_hidden=config.n_hidden, n_train_prompts=config.n_train_prompts, epochs=config.epochs,
                     tol=config.tol, mse="sum", input_scale="unit_msn", arch=config.arch)
    best = None
    table = []
    for positions in config.positions_grid:
        cfg = dataclasses.replace(base, positions=positions)
        pos, neg = scaled_head_outputs(model, prompts, cfg)
        for l1 in config.l1_grid:
            fits = [fit_and_score(pos, neg, dataclasses.replace(cfg, l1=l1), seed * 1000 + m) for m in range(2)]
            ok = all(f.diagnostics["heads_zero_frac"] <= 0.9 and f.diagnostics["l0"] >= 1.0 for f in fits)
            stability = _spearman(fits[0].nodes, fits[1].nodes) if ok else float("-inf")
            table.append((positions, l1, stability))
            if best is None or stability > best[0]:
                best = (stability, positions, l1, fits)
    stability, positions, l1, fits = best
    extra = {"l1": l1, "positions": positions, "stability": stability,
             "candidates": "; ".join(f"{p}/{lam}:{s:.2f}" for p, lam, s in table)}
    return result(model, fits, extra, prompts.task, mlp_rows=False)
