"""Run auto-circuit's machinery on cdbench prompts and map its edges onto the edge graph.

auto-circuit's factorized graph (sources ``Resid Start``, ``A{l}.{h}``, ``MLP {l}``; destinations
``A{l}.{h}.Q|K|V``, ``MLP {l}``, ``Resid End``) is exactly the additive part of cdbench's graph, so every
one of its edges has one cdbench edge. It lacks ACDC's internal q/k/v-input -> q/k/v edges; a method run
through it gets those by ACDC's own reading: a head port's internal edge is kept while any edge into the
port is (removing every incoming edge has the effect of removing the internal one), so its score is the
largest score among the port's incoming edges.

All prompts are used: they go in one right-padded batch (causal attention makes padding exact) and the
model's output is read at each prompt's own last position (``out_slice``)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from bench.graph import INPUT, MLP_PORT, OUTPUT, OUTPUT_PORT, CircuitGraph, Edge
from bench.tasks.base import TaskPrompts, last_logits
from methods.base import edge_hooks, graph_of

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer


def _node(name: str) -> tuple[str, str]:
    """auto-circuit node name -> (cdbench node, port)."""
    if name == "Resid Start":
        return INPUT, ""
    if name == "Resid End":
        return OUTPUT, OUTPUT_PORT
    if name.startswith("MLP "):
        return f"m{name[4:]}", MLP_PORT
    parts = name[1:].split(".")  # A{l}.{h}[.Q]
    return f"{parts[0]}.{parts[1]}", parts[2].lower() if len(parts) > 2 else ""


@dataclass
class Bridge:
    """A patchable copy of the model, a one-batch dataloader of every prompt, and the edge map."""

    pm: Any  # auto_circuit PatchableModel
    loader: Any  # auto_circuit PromptDataLoader
    graph: CircuitGraph
    edges: list[tuple[Any, int]]  # (auto-circuit edge, cdbench edge index)
    n_prompts: int

    def to_graph(self, prune_scores: dict[str, torch.Tensor], fill: float = 0.0) -> torch.Tensor:
        """auto-circuit PruneScores -> scores aligned with ``graph.edges`` (internal edges: port maximum)."""
        out = torch.full((len(self.graph.edges),), float(fill))
        for edge, idx in self.edges:
            out[idx] = edge.prune_score(prune_scores).detach().float().cpu()
        for i, block in self.graph.internal_edges:
            out[i] = out[block.start: block.start + block.count].max()
        return out

    def set_patched(self, patched: torch.Tensor) -> None:
        """Patch (mask 1) exactly the additive edges where ``patched`` is True; internal edges are implied."""
        for mod in self.pm.dest_wrappers:
            mod.patch_mask.data.zero_()
        for edge, idx in self.edges:
            if bool(patched[idx]):
                edge.patch_mask(self.pm).data[edge.patch_idx] = 1.0


def _answers(prompts: TaskPrompts, model: "HookedTransformer") -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-prompt answers for auto-circuit's dataset: answer/wrong tokens for logit differences; the clean
    output value itself for a numeric output (auto-circuit's "mse" target); placeholders otherwise."""
    n = len(prompts.clean)
    tokens = prompts.metric.answer_tokens()
    if tokens is not None:
        return list(tokens[0]), list(tokens[1])
    if prompts.metric.numeric_output:
        with torch.no_grad():
            out = last_logits(model(prompts.clean.tokens.to(model.cfg.device)), prompts.clean.to(model.cfg.device))
        return list(out.float().cpu()), list(out.float().cpu())
    zeros = torch.zeros(n, 1, dtype=torch.long)
    return list(zeros), list(zeros)


_LAST: dict[tuple[int, str, bool], Bridge] = {}


def patchable(model: "HookedTransformer", prompts: TaskPrompts) -> Bridge:
    """A patchable copy of ``model`` (auto-circuit wraps modules in place) for all of ``prompts``; the last
    one is reused while model and prompts stay the same (ACDC, SP and faithfulness on one run)."""
    key = (id(model), prompts.content_hash(), prompts.paired)
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = _build(model, prompts)
    return _LAST[key]


def _build(model: "HookedTransformer", prompts: TaskPrompts) -> Bridge:
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.utils.graph_utils import patchable_model

    m = copy.deepcopy(model)
    for flag, value in edge_hooks(m).items():
        getattr(m, f"set_{flag}")(value)
    device = torch.device(model.cfg.device)
    answers, wrong = _answers(prompts, model)
    ds = PromptDataset(prompts.clean.tokens, prompts.corrupted.tokens, answers, wrong)
    n = len(prompts.clean)
    loader = PromptDataLoader(ds, seq_len=None, diverge_idx=0, batch_size=n, shuffle=False)
    pm = patchable_model(m, factorized=True, slice_output="last_seq", separate_qkv=True, device=device)
    pm.out_slice = (torch.arange(n, device=device), (prompts.clean.lengths - 1).to(device))
    graph = graph_of(model)
    edges = []
    for e in pm.edges:
        s, _ = _node(e.src.name)
        r, port = _node(e.dest.name)
        edges.append((e, graph.edge_index[Edge(s, r, port)]))
    if len(edges) != len(graph.additive):
        raise AssertionError(f"auto-circuit has {len(edges)} edges, cdbench's additive graph {len(graph.additive)}")
    return Bridge(pm, loader, graph, edges, n)
