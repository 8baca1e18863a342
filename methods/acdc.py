"""ACDC (Conmy et al. 2023) through auto-circuit, at the paper's best setting: KL divergence to
the clean output, edges patched from the corrupted prompts, over a sweep of thresholds tau.

An edge's score is the smallest tau at which ACDC removed it (never removed: above every tau), so
thresholding the score at tau gives ACDC's circuit at tau and the sweep traces the ROC. ACDC is slow
by design; each tau's outcome is cached on disk (``CDBENCH_ACDC_CACHE``) so an interrupted sweep resumes."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

import torch
from tqdm import tqdm
from transformer_lens import HookedTransformer

from bench.tasks.base import OutputValue, TaskPrompts
from methods.auto_circuit_bridge import patchable, to_head_graph
from methods.base import EdgeScores, HeadScores, MethodResult, graph_of
from methods.edge_attribution import node_scores_from_edges

log = logging.getLogger(__name__)
CACHE = Path(os.environ.get("CDBENCH_ACDC_CACHE", Path.home() / ".cache" / "cdbench" / "acdc"))


@dataclass(frozen=True)
class Config:
    tau_bases: tuple[int, ...] = (1, 3, 5, 7, 9)
    tau_exps: tuple[int, ...] = (-5, -4, -3, -2)  # auto-circuit's default grid: 1e-5 ... 9e-2
    target: str = "kl_div"


def _run_key(model: HookedTransformer, clean: torch.Tensor, corrupt: torch.Tensor, target: str) -> str:
    h = hashlib.sha256()
    h.update(repr(model.cfg).encode())
    h.update(model.W_E.detach().flatten()[:4096].cpu().numpy().tobytes())
    h.update(clean.cpu().numpy().tobytes())
    h.update(corrupt.cpu().numpy().tobytes())
    h.update(target.encode())
    return h.hexdigest()[:16]


@contextmanager
def _quiet_auto_circuit() -> Iterator[None]:
    """auto-circuit draws a progress bar per edge; cdbench shows one bar over the tau sweep instead."""
    import auto_circuit.prune_algos.ACDC as acdc_module

    old = acdc_module.tqdm
    acdc_module.tqdm = partial(tqdm, disable=True)
    try:
        yield
    finally:
        acdc_module.tqdm = old


def run(model: HookedTransformer, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    with _quiet_auto_circuit():
        return _run(model, prompts, config)


def _run(model: HookedTransformer, prompts: TaskPrompts, config: Config) -> MethodResult:
    from auto_circuit.prune_algos.ACDC import acdc_prune_scores

    pm, dl, n_used = patchable(model, prompts)
    batch = next(iter(dl))
    # A numeric output (tracr x-proportion) has no distribution to take a KL of: ACDC uses MSE there, as its paper did.
    target = "mse" if isinstance(prompts.metric, OutputValue) else config.target
    key = _run_key(model, batch.clean, batch.corrupt, target)
    taus = sorted(b * 10.0 ** e for b in config.tau_bases for e in config.tau_exps)
    n_edges = len(graph_of(model).edges)
    score = torch.full((n_edges,), float("inf"))
    work_s, from_cache = 0.0, 0
    for tau in tqdm(taus, desc="ACDC tau sweep", leave=False, disable=None):
        path = CACHE / key / f"tau={tau:.3e}.v2.json"
        if path.is_file():  # {"seconds": time the sweep took, "kept": {auto-circuit edge name: kept at this tau}}
            entry = json.loads(path.read_text())
            from_cache += 1
        else:
            t0 = time.perf_counter()
            b, e = f"{tau:.0e}".split("e")
            ps = acdc_prune_scores(pm, dl, None, tao_exps=[int(e)], tao_bases=[int(b)], faithfulness_target=target)
            entry = {"seconds": time.perf_counter() - t0,
                     "kept": {edge.name: bool(torch.isinf(edge.prune_score(ps)).item()) for edge in pm.edges}}
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(entry))
            os.replace(tmp, path)
        work_s += entry["seconds"]
        kept_by_name = entry["kept"]
        kept_mask = {e.dest.module_name: torch.zeros_like(e.patch_mask(pm).detach()) for e in pm.edges}
        for edge in pm.edges:
            kept_mask[edge.dest.module_name][edge.patch_idx] = float(kept_by_name[edge.name])
        # a folded head-graph edge (MLPs into INPUT/OUTPUT) is in the circuit if any edge folded into it was kept
        removed = to_head_graph(pm, kept_mask, model) == 0
        score = torch.where(removed, torch.minimum(score, torch.tensor(tau)), score)
    score = torch.where(torch.isinf(score), torch.tensor(max(taus) * 10), score)
    return MethodResult(HeadScores(node_scores_from_edges(model, score)), EdgeScores(score),
                        {"ablation": "corrupted-patching", "metric": f"{target} (ACDC)",
                         "n_prompts_used": n_used, "n_taus": len(taus), "taus_from_cache": from_cache,
                         # the sweep's compute time even when some taus came from the cache (harness wall_s)
                         "work_s": work_s})
