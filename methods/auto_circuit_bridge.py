"""Run auto-circuit's algorithms on cdbench prompts and map their scores onto the head graph.

auto-circuit names sources ``Resid Start``, ``A{l}.{h}``, ``MLP {l}`` and destinations
``A{l}.{h}.Q|K|V``, ``MLP {l}``, ``Resid End``. MLPs fold into INPUT (as senders) and OUTPUT (as
receivers) like ACDC's IOI encoding; a folded edge takes the max |score| of the edges folded into it.
auto-circuit reads the last position of equal-length prompts, so prompts are restricted to the most
common length (the number kept is reported)."""
from __future__ import annotations

import copy
from collections import Counter

import torch
from transformer_lens import HookedTransformer

from bench.graph import INPUT, OUTPUT, Edge
from bench.tasks.base import LogitDiff, TaskPrompts
from methods.base import graph_of


def equal_length(prompts: TaskPrompts) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clean, corrupted, answers ``[n, 1]``, wrong answers ``[n, 1]`` of the most common prompt length
    (tasks without answer tokens, such as a numeric output, get placeholder answers that ACDC does not read)."""
    length, _ = Counter(prompts.clean.lengths.tolist()).most_common(1)[0]
    keep = (prompts.clean.lengths == length).nonzero().flatten()
    if isinstance(prompts.metric, LogitDiff):
        answer, wrong = prompts.metric.answer[keep, None], prompts.metric.wrong[keep, None]
    else:
        answer = wrong = torch.zeros(len(keep), 1, dtype=torch.long)
    return prompts.clean.tokens[keep, :length], prompts.corrupted.tokens[keep, :length], answer, wrong


def patchable(model: HookedTransformer, prompts: TaskPrompts, batch_size: int | None = None):
    """A patchable copy of ``model`` (auto-circuit wraps modules in place) and a one-batch dataloader."""
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.utils.graph_utils import patchable_model

    clean, corrupt, ans, wrong = equal_length(prompts)
    m = copy.deepcopy(model)
    m.set_use_attn_result(True)
    m.set_use_split_qkv_input(True)
    if not m.cfg.attn_only:
        m.set_use_hook_mlp_in(True)
    ds = PromptDataset(clean, corrupt, list(ans), list(wrong))
    dl = PromptDataLoader(ds, seq_len=None, diverge_idx=0, batch_size=batch_size or len(clean), shuffle=False)
    pm = patchable_model(m, factorized=True, slice_output="last_seq", separate_qkv=True,
                         device=torch.device(model.cfg.device))
    return pm, dl, len(clean)


def _node(name: str, as_sender: bool) -> tuple[str, str]:
    """auto-circuit node name -> (cdbench node, port)."""
    if name == "Resid Start":
        return INPUT, ""
    if name == "Resid End":
        return OUTPUT, "out"
    if name.startswith("MLP"):
        return (INPUT, "") if as_sender else (OUTPUT, "out")
    parts = name[1:].split(".")  # A{l}.{h}[.Q]
    return f"{parts[0]}.{parts[1]}", parts[2].lower() if len(parts) > 2 else ""


def to_head_graph(pm, prune_scores: dict[str, torch.Tensor], model: HookedTransformer) -> torch.Tensor:
    """auto-circuit PruneScores -> scores aligned with ``graph.edges`` (max |score| over folded edges)."""
    g = graph_of(model)
    out = torch.full((len(g.edges),), float("-inf"))
    for e in pm.edges:
        s, _ = _node(e.src.name, True)
        r, port = _node(e.dest.name, False)
        if s == INPUT and r == OUTPUT:
            continue
        idx = g.edge_index.get(Edge(s, r, port))
        if idx is None:  # an MLP -> MLP edge or a same-layer fold: not in the head graph
            continue
        val = e.prune_score(prune_scores).abs().item()
        out[idx] = max(out[idx].item(), val)
    return out.clamp_min(0.0)
