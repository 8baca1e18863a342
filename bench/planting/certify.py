"""Certify a planted circuit from the weights: task accuracy, interchange-intervention accuracy per
variable, resample ablations of everything outside the circuit at node and edge level (from the task's
negatives and from other inputs), and how far patching each high-level edge alone moves the metric."""
from __future__ import annotations

import torch

from bench.planting import siit
from bench.planting.edge_patch import EdgeAblation, kept_edges, patched_logits
from bench.planting.recipe import Recipe


def certify(model, recipe: Recipe, seed: int, n: int = 1000) -> dict:
    """Task accuracy, interchange-intervention accuracy on held-out pairs, the resample-ablation checks
    (node level: components; edge level: every edge outside a version's edges patched) and each high-level
    edge's move, each from the negatives and from other inputs: ``alone`` patches only its low-level edges
    in the full model; ``within_circuit`` is what patching them costs the circuit (every edge outside the
    realised edges already patched), which redundant copies of a value outside the circuit cannot hide."""
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
    sources = {"from_negatives": corrupted, "from_other_inputs": resample.tokens}
    kept_by_version = {}
    for version, class_edges in (("siit.v1", recipe.class_edges), ("siit.v2", recipe.realised_edges)):
        if class_edges:
            edges = kept_edges(version_edges(model.cfg, recipe.groups, class_edges))
            kept_by_version[version] = {name: round(edge_fraction(model, clean.tokens, src, EdgeAblation.patching_all_but(
                model.cfg, edges), metric if name == "from_negatives" else fidelity), 4) for name, src in sources.items()}
    moves = {}
    v2 = kept_edges(version_edges(model.cfg, recipe.groups, recipe.realised_edges)) if recipe.causal_edges else set()
    for e in recipe.realised_edges:
        members = kept_edges(version_edges(model.cfg, recipe.groups, [list(e)]))
        move = {}
        for name, src in sources.items():
            score = metric if name == "from_negatives" else fidelity
            frac = lambda ablation: edge_fraction(model, clean.tokens, src, ablation, score)  # noqa: E731
            move[name] = {"alone": round(1 - frac(EdgeAblation.patching_only(model.cfg, members)), 4),
                          "within_circuit": round(frac(EdgeAblation.patching_all_but(model.cfg, v2))
                                                  - frac(EdgeAblation.patching_all_but(model.cfg, v2 - members)), 4)}
        moves[" -> ".join(e[:2]) + f" [{e[2]}]"] = move
    return {"task_accuracy": round(siit.accuracy(model, hl, gen, n), 4),
            "interchange_accuracy": {k: round(v, 4) for k, v in siit.interchange_accuracy(model, hl, recipe.component_mapping, gen, n).items()},
            "resample_ablation_from_negatives": from_negatives,
            "resample_ablation_from_other_inputs": {**from_others, "score": "task metric" if recipe.fidelity is None
                                                    else recipe.fidelity.__doc__.strip().splitlines()[0]},
            "task_metric_clean": round(m_clean, 4), "task_metric_corrupted": round(m_corrupt, 4),
            "edge_level_fraction_kept_by_version": kept_by_version,
            "metric_moved_patching_one_high_level_edge": moves,
            "heads_in_circuit": sum(1 for c in circuit if not c.startswith("m")), "heads_total": cfg.n_layers * cfg.n_heads,
            "mlps_in_circuit": sum(1 for c in circuit if c.startswith("m")), "mlps_total": 0 if cfg.attn_only else cfg.n_layers,
            "n_eval": n}


def version_edges(cfg, groups: dict[str, list[str]], class_edges: list[list[str]]) -> list[list[str]]:
    """A construction's class-level edges expanded onto the model's graph (ground truth's own rule)."""
    from ground_truth.build import expand

    return expand({"graph": {"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "attn_only": bool(cfg.attn_only)},
                   "groups": groups, "construction": {"rule": "class_edges", "class_edges": class_edges}})


def edge_fraction(model, clean: torch.Tensor, source: torch.Tensor, ablation: EdgeAblation, metric) -> float:
    """Mean metric kept, relative to the full model, with ``ablation``'s edges carrying their senders'
    outputs on ``source`` (a copy of the model gets the edge-hook flags)."""
    import copy

    m = copy.deepcopy(model)
    with torch.no_grad():
        full = metric(model(clean)).mean().item()
        return metric(patched_logits(m, clean, source, ablation)).mean().item() / full
