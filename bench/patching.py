"""Edge patching on the edge graph through auto-circuit: a patchable copy of a model, its edges mapped onto
cdbench's graph, fed with token tensors (what ACDC, SP, faithfulness and the planted models' certificates
share; it knows no task and no method).

auto-circuit's factorized graph (sources ``Resid Start``, ``A{l}.{h}``, ``MLP {l}``; destinations
``A{l}.{h}.Q|K|V``, ``MLP {l}``, ``Resid End``) is exactly the additive part of cdbench's graph, so every
one of its edges has one cdbench edge. It lacks ACDC's internal q/k/v-input -> q/k/v edges; a method run
through it gets those by ACDC's own reading: a head port's internal edge is kept while any edge into the
port is (removing every incoming edge has the effect of removing the internal one), so its score is the
largest score among the port's incoming edges.

All prompts are used: they go in one right-padded batch (causal attention makes padding exact) and the
model's output is read at each prompt's own last position (``out_slice``), or at every position when no
last positions are given. Each call builds its own copy: nothing is shared between callers."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from bench.graph import INPUT, MLP_PORT, OUTPUT, OUTPUT_PORT, CircuitGraph, Edge, edge_hooks

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

    from bench.tasks.base import TaskPrompts


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
    device: str = "cpu"
    _slot_cache: list | None = field(default=None, repr=False)

    def _slots(self) -> list[tuple[str, Any, torch.Tensor, torch.Tensor]]:
        """Per destination module: its name, its patch-mask parameter, the flat positions of its edges in
        that mask and their cdbench edge indices (so masks and scores move as whole tensors)."""
        if self._slot_cache is None:
            import numpy as np

            by_module: dict[str, tuple[Any, list[int], list[int]]] = {}
            for edge, idx in self.edges:
                param = edge.patch_mask(self.pm)
                entry = by_module.setdefault(edge.dest.module_name, (param, [], []))
                entry[1].append(int(np.ravel_multi_index(edge.patch_idx, tuple(param.shape))))
                entry[2].append(idx)
            self._slot_cache = [(name, param, torch.tensor(flat), torch.tensor(idx))
                                for name, (param, flat, idx) in by_module.items()]
        return self._slot_cache

    def to_graph(self, prune_scores: dict[str, torch.Tensor], fill: float = 0.0) -> torch.Tensor:
        """auto-circuit PruneScores -> scores aligned with ``graph.edges`` (internal edges: port maximum)."""
        out = torch.full((len(self.graph.edges),), float(fill))
        for name, _, flat, idx in self._slots():
            out[idx] = prune_scores[name].detach().float().cpu().reshape(-1)[flat]
        return self.graph.fold_internal(out)

    def set_patched(self, patched: torch.Tensor) -> None:
        """Patch (mask 1) exactly the additive edges where ``patched`` is True; internal edges are implied."""
        for _, param, flat, idx in self._slots():
            data = param.data.view(-1)
            data.zero_()
            data[flat.to(data.device)] = patched[idx].to(data.dtype).to(data.device)

    def read_at(self, last: torch.Tensor | None) -> None:
        """Read the output at each row's ``last`` position (None: every position) for the next batch."""
        dev = torch.device(self.device)
        self.pm.out_slice = (slice(None),) if last is None else (torch.arange(len(last), device=dev), last.to(dev))


def patchable(model: "HookedTransformer", clean: torch.Tensor, corrupted: torch.Tensor, last: torch.Tensor | None,
              answers: list[torch.Tensor], wrong: list[torch.Tensor]) -> Bridge:
    """A patchable copy of ``model`` (auto-circuit wraps modules in place, so the caller's model is left as
    it is) over one batch of ``clean`` / ``corrupted`` token rows, read at ``last`` (each row's last real
    position; None: every position) with auto-circuit's per-prompt ``answers`` / ``wrong`` answers."""
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.utils.graph_utils import patchable_model

    m = copy.deepcopy(model)
    for flag, value in edge_hooks(m.cfg).items():
        getattr(m, f"set_{flag}")(value)
    device = torch.device(model.cfg.device)
    ds = PromptDataset(clean, corrupted, answers, wrong)
    n = len(clean)
    loader = PromptDataLoader(ds, seq_len=None, diverge_idx=0, batch_size=n, shuffle=False)
    pm = patchable_model(m, factorized=True, slice_output="last_seq", separate_qkv=True, device=device)
    cfg = model.cfg
    graph = CircuitGraph(cfg.n_layers, cfg.n_heads, bool(cfg.attn_only))
    edges = []
    for e in pm.edges:
        s, _ = _node(e.src.name)
        r, port = _node(e.dest.name)
        edges.append((e, graph.edge_index[Edge(s, r, port)]))
    if len(edges) != len(graph.additive):
        raise AssertionError(f"auto-circuit has {len(edges)} edges, cdbench's additive graph {len(graph.additive)}")
    bridge = Bridge(pm, loader, graph, edges, n, str(device))
    bridge.read_at(last)
    return bridge


def _answers(prompts: "TaskPrompts", model: "HookedTransformer") -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-prompt answers for auto-circuit's dataset: answer/wrong tokens for logit differences; the clean
    output value itself for a numeric output (auto-circuit's "mse" target); placeholders otherwise."""
    from bench.tasks.base import last_logits

    tokens = prompts.metric.answer_tokens()
    if tokens is not None:
        return list(tokens[0]), list(tokens[1])
    if prompts.metric.numeric_output:
        with torch.no_grad():
            out = last_logits(model(prompts.clean.tokens.to(model.cfg.device)), prompts.clean.to(model.cfg.device))
        return list(out.float().cpu()), list(out.float().cpu())
    zeros = torch.zeros(len(prompts.clean), 1, dtype=torch.long)
    return list(zeros), list(zeros)


def for_prompts(model: "HookedTransformer", prompts: "TaskPrompts") -> Bridge:
    """A bridge over every prompt of a task instance, read at each prompt's last position."""
    answers, wrong = _answers(prompts, model)
    return patchable(model, prompts.clean.tokens, prompts.corrupted.tokens, prompts.clean.lengths - 1, answers, wrong)
