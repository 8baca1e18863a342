"""Faithfulness of the circuits a ranking implies, exactly as MIB's circuit track defines it
(``MIB_circuit_track/evaluation.py``, with EAP-IG's ``Graph.apply_topn`` and ``prune``).

For each circuit size pct in (0.1 %, 0.2 %, 0.5 %, 1 %, 2 %, 5 %, 10 %, 20 %, 50 %, 100 %), the circuit is the
top floor(pct x N) items by score: edges of MIB's graph (cdbench's additive edges; N = their number) for a
method with edge scores, heads (N = number of heads, MLPs always kept) for a node-only method. The circuit is
pruned to what is connected (a component needs an edge in and an edge out), and every edge outside it is
patched with its sender's activation on the corrupted prompt. Faithfulness f = (m(C) - m(empty)) /
(m(M) - m(empty)), m the task metric averaged over prompts, empty = every edge patched (the corrupted run).
CPR = trapezoidal area under f over the nominal percentages with items ranked by signed score; CMD = the
area between f and 1 with items ranked by |score| (MIB's print_results reads CPR from the signed run and
CMD from the absolute one). Where m(M) - m(empty) is not distinguishable from zero (its mean is within two
standard errors of 0 over prompts) the ratio means nothing: CPR and CMD are NaN and ``status`` says why."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

from bench.graph import INPUT, OUTPUT, CircuitGraph
from bench.metrics import MIB_PERCENTAGES as PERCENTAGES  # MIB's circuit sizes, shared with its InterpBench AUROC
from bench.progress import progress
from bench.tasks.base import TaskPrompts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaithfulnessCurve:
    level: str  # "edge" (MIB edge level) or "node" (MIB node level: heads)
    percentages: list[float]
    n_items: list[int]
    faithfulness: list[float]  # items ranked by signed score (CPR's curve)
    faithfulness_abs: list[float]  # items ranked by |score| (CMD's curve)
    cpr: float
    cmd: float
    m_full: float
    m_empty: float
    status: str  # "ok", or why CPR / CMD are NaN


def mib_prune(graph: CircuitGraph, kept: torch.Tensor) -> torch.Tensor:
    """EAP-IG's ``Graph.prune``: repeatedly drop components without an incoming or an outgoing edge in the
    circuit (the embeddings always count as having input; the output is always present), then the edges
    whose sender or receiver was dropped. ``kept`` is a bool mask over ``graph.edges`` (additive used)."""
    index = {n: i for i, n in enumerate(graph.senders)} | {OUTPUT: len(graph.senders)}
    add = torch.tensor(graph.additive)
    send = torch.tensor([index[graph.edges[i].sender] for i in graph.additive])
    recv = torch.tensor([index[graph.edges[i].receiver] for i in graph.additive])
    on = kept[add].clone()
    n_nodes = len(index)
    while True:
        has_out = torch.zeros(n_nodes, dtype=torch.bool).index_fill_(0, send[on], True)
        has_in = torch.zeros(n_nodes, dtype=torch.bool).index_fill_(0, recv[on], True)
        has_in[index[INPUT]] = True
        alive = has_out & has_in
        alive[index[OUTPUT]] = True
        new = on & alive[send] & alive[recv]
        if torch.equal(new, on):
            break
        on = new
    out = torch.zeros_like(kept)
    out[add] = on
    return out


def _top(scores: torch.Tensor, n: int, absolute: bool) -> torch.Tensor:
    order = torch.argsort(scores.abs() if absolute else scores, descending=True, stable=True)
    mask = torch.zeros(len(scores), dtype=torch.bool)
    mask[order[:n]] = True
    return mask


def area(x: list[float], y: list[float]) -> float:
    return float(sum((x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2 for i in range(len(x) - 1)))


# What patching may hold at once: the corrupted prompts' sender outputs, n_senders x batch x positions x d_model
# floats (auto-circuit's src_ablations). Prompts go through in batches of at most this many bytes of it, so
# the curve's memory is bounded whatever the prompt count (GPT-2 small, 20 tokens: about 100 prompts a batch).
PATCH_BYTES = 1 << 30


def batch_size_for(graph: CircuitGraph, n_prompts: int, seq_len: int, d_model: int) -> int:
    """Prompts per batch so the corrupted sender outputs stay within PATCH_BYTES."""
    per_prompt = len(graph.senders) * seq_len * d_model * 4
    return max(1, min(n_prompts, PATCH_BYTES // max(per_prompt, 1)))


@torch.no_grad()
def faithfulness_curve(model, prompts: TaskPrompts, node_scores: torch.Tensor,
                       edge_scores: torch.Tensor | None) -> FaithfulnessCurve:
    """MIB's faithfulness curve, CPR and CMD for one run's scores (edge level when there are edge scores).
    Each distinct circuit is evaluated once (the full model, the empty circuit, and each size under each
    ranking, shared where two are the same), over the prompts in memory-bounded batches."""
    from auto_circuit.utils.ablation_activations import src_ablations
    from auto_circuit.utils.graph_utils import patch_mode

    from bench.patching import for_prompts

    bridge = for_prompts(model, prompts)
    graph = bridge.graph
    pm = bridge.pm
    add = torch.tensor(graph.additive)
    level = "edge" if edge_scores is not None else "node"
    heads_of = graph.endpoint_nodes[0]

    def patched_for(keep_items: torch.Tensor) -> torch.Tensor:
        """Edges to patch for a circuit given as kept edges (edge level) or kept heads (node level)."""
        if level == "edge":
            kept = torch.zeros(len(graph.edges), dtype=torch.bool)
            kept[add] = keep_items
        else:  # a dropped head's outgoing edges are patched; MLPs and the embeddings are unscored, always in
            kept = torch.ones(len(graph.edges), dtype=torch.bool)
            dropped = (heads_of >= 0) & ~keep_items[heads_of.clamp(min=0)]
            kept[dropped] = False
        return ~mib_prune(graph, kept)

    items = edge_scores.float()[add] if level == "edge" else node_scores.float().flatten()
    n_total = len(items)
    sizes = [int(p * n_total) for p in PERCENTAGES]  # MIB: floor, nominal percentage on the x-axis
    rankings = {"signed": False, "abs": True}
    if bool((items >= 0).all()):
        rankings = {"signed": True}  # non-negative scores: both rankings are the same circuit
    circuits: dict[bytes, torch.Tensor] = {}  # distinct patched-edge masks

    def circuit(mask: torch.Tensor) -> bytes:
        key = mask.numpy().tobytes()
        circuits.setdefault(key, mask)
        return key

    full = circuit(torch.zeros(len(graph.edges), dtype=torch.bool))
    empty = circuit(torch.ones(len(graph.edges), dtype=torch.bool))
    jobs = [(name, circuit(patched_for(_top(items, n, rankings[name])))) for name in rankings for n in sizes]
    n = len(prompts.clean)
    size = batch_size_for(graph, n, prompts.clean.tokens.shape[1], model.cfg.d_model)
    values = {key: torch.zeros(n) for key in circuits}  # per-prompt metric under each circuit
    # a bar on a terminal; elsewhere a line per 10 % once the curve has taken 30 s (a long one is never silent)
    bar = progress(len(circuits) * math.ceil(n / size), "faithfulness", "step", leave=False, step_pct=10, quiet_s=30)
    device = model.cfg.device
    for start in range(0, n, size):
        sl = slice(start, min(n, start + size))
        clean = prompts.clean.tokens[sl].to(device)
        metric = prompts.metric.take(sl)
        bridge.read_at(prompts.clean.lengths[sl] - 1)
        patch_outs = src_ablations(pm, prompts.corrupted.tokens[sl].to(device))
        for key, mask in circuits.items():
            bridge.set_patched(mask)
            with patch_mode(pm, patch_outs):
                values[key][sl] = metric(pm(clean)[pm.out_slice]).float().cpu()
            bar.update()
        del patch_outs
    bar.close()
    m_full, m_empty = values[full], values[empty]
    diff = m_full - m_empty
    denom = float(diff.mean())
    se = float(diff.std() / math.sqrt(len(diff))) if len(diff) > 1 else float("inf")
    curves: dict[str, list[float]] = {name: [] for name in rankings}
    for name, key in jobs:
        m = values[key].mean().item()
        curves[name].append((m - m_empty.mean().item()) / denom if denom != 0 else float("nan"))
    signed = curves["signed"]
    absolute = curves.get("abs", signed)
    ok = abs(denom) > 2 * se
    status = "ok" if ok else (f"m(M) - m(empty) = {denom:.3g} is within 2 standard errors ({se:.3g}) of 0: "
                              "the ratio is undefined")
    x = list(PERCENTAGES)
    cpr = area(x, signed) if ok else float("nan")
    cmd = area(x, [abs(1 - f) for f in absolute]) if ok else float("nan")
    return FaithfulnessCurve(level, x, sizes, [float(v) for v in signed], [float(v) for v in absolute], cpr, cmd,
                             float(m_full.mean()), float(m_empty.mean()), status)
