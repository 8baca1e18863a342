"""Certify a planted circuit from the weights: task accuracy, interchange-intervention accuracy per
variable, and resample ablations of everything outside the circuit at node and edge level."""
from __future__ import annotations

import torch

from bench.models.planted.highlevel import Batch
from bench.planting import siit
from bench.planting.recipe import Recipe


def certify(model, recipe: Recipe, seed: int, n: int = 1000) -> dict:
    """Task accuracy, interchange-intervention accuracy on held-out pairs, and the resample-ablation checks
    (node level: components; edge level: every edge outside the circuit patched from corrupted prompts)."""
    from bench.graph import CircuitGraph
    from ground_truth.build import expand

    hl = recipe.high_level()
    gen = torch.Generator().manual_seed(seed + 7777)
    model.eval()
    clean, resample = hl.sample(gen, n), hl.sample(gen, n)
    corrupted = recipe.corrupt(clean, gen)  # first: a metric may compare with the negative's answer
    metric = lambda logits: recipe.metric(logits, clean)  # noqa: E731
    fidelity = (lambda logits: recipe.fidelity(logits, clean)) if recipe.fidelity else metric  # noqa: E731
    circuit = recipe.circuit
    comps = siit.all_components(model.cfg)
    from_negatives = siit.ablation_fractions(model, comps, circuit, metric, clean.tokens, corrupted)
    from_others = siit.ablation_fractions(model, comps, circuit, fidelity, clean.tokens, resample.tokens)
    with torch.no_grad():
        m_clean = metric(model(clean.tokens)).mean().item()
        m_corrupt = metric(model(corrupted)).mean().item()
    cfg = model.cfg
    graph = CircuitGraph(cfg.n_layers, cfg.n_heads, bool(cfg.attn_only))
    kept_by_version = {}
    for version, class_edges in (("siit.v1", recipe.class_edges), ("siit.v2", recipe.realised_edges)):
        if not class_edges:
            continue
        data = {"graph": {"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "attn_only": bool(cfg.attn_only)},
                "groups": recipe.groups, "construction": {"rule": "class_edges", "class_edges": class_edges}}
        edges = {tuple(e) for e in expand(data)}
        kept_by_version[version] = round(edge_level_fraction(model, graph, edges, clean, corrupted, metric), 4)
    return {"task_accuracy": round(siit.accuracy(model, hl, gen, n), 4),
            "interchange_accuracy": {k: round(v, 4) for k, v in siit.interchange_accuracy(model, hl, recipe.component_mapping, gen, n).items()},
            "resample_ablation_from_negatives": from_negatives,
            "resample_ablation_from_other_inputs": {**from_others, "score": "task metric" if recipe.fidelity is None
                                                    else recipe.fidelity.__doc__.strip().splitlines()[0]},
            "task_metric_clean": round(m_clean, 4), "task_metric_corrupted": round(m_corrupt, 4),
            "edge_level_fraction_kept_patching_all_non_circuit_edges_from_corrupted": kept_by_version.get("siit.v1"),
            "edge_level_fraction_kept_by_version": kept_by_version,
            "heads_in_circuit": sum(1 for c in circuit if not c.startswith("m")), "heads_total": cfg.n_layers * cfg.n_heads,
            "mlps_in_circuit": sum(1 for c in circuit if c.startswith("m")), "mlps_total": 0 if cfg.attn_only else cfg.n_layers,
            "n_eval": n}


@torch.no_grad()
def edge_level_fraction(model, graph, edges: set, clean: Batch, corrupted: torch.Tensor, metric) -> float:
    """Metric kept, relative to the full model, when every additive edge outside ``edges`` carries its
    sender's activation on the corrupted input (through auto-circuit's edge patching)."""
    from auto_circuit.utils.ablation_activations import src_ablations
    from auto_circuit.utils.graph_utils import patch_mode

    from bench.patching import patchable

    placeholder = list(torch.zeros(len(clean.tokens), 1, dtype=torch.long))  # the metric reads its own positions
    bridge = patchable(model, clean.tokens, corrupted, None, placeholder, placeholder)
    keep = torch.tensor([(e.sender, e.receiver, e.port) in edges for e in graph.edges])
    bridge.set_patched(~keep)
    with patch_mode(bridge.pm, src_ablations(bridge.pm, corrupted)):
        patched = metric(bridge.pm(clean.tokens)).mean().item()
    full = metric(model(clean.tokens)).mean().item()
    return patched / full
