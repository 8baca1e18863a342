"""Certify a planted circuit from the weights: task accuracy, interchange-intervention accuracy per
variable, resample ablations of everything outside the circuit at node and edge level (from the task's
negatives and from other inputs), and how far patching each high-level edge moves the metric, alone in the
full model and within the circuit."""
from __future__ import annotations

import copy

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
    cfg = model.cfg
    sources = {"from_negatives": (corrupted, metric), "from_other_inputs": (resample.tokens, fidelity)}
    with torch.no_grad():
        logits = model(clean.tokens)
        fulls = {name: score(logits).mean().item() for name, (_, score) in sources.items()}
        m_corrupt = metric(model(corrupted)).mean().item()
    m_clean = fulls["from_negatives"]
    edged = copy.deepcopy(model)  # one copy carries the edge-hook flags for every edge-level measurement

    def kept(ablation: EdgeAblation) -> dict[str, float]:
        """Per source: the metric kept, relative to the full model, with ``ablation``'s edges patched."""
        return {name: edge_fraction(edged, clean.tokens, src, ablation, score, fulls[name])
                for name, (src, score) in sources.items()}

    kept_by_version, version_sets = {}, {}
    for version, class_edges in (("siit.v1", recipe.class_edges), ("siit.v2", recipe.realised_edges)):
        if class_edges:
            version_sets[version] = kept_edges(version_edges(cfg, recipe.groups, class_edges))
            kept_by_version[version] = kept(EdgeAblation.patching_all_but(cfg, version_sets[version]))
    moves = {}
    for e in recipe.realised_edges:
        members = kept_edges(version_edges(cfg, recipe.groups, [list(e)]))
        alone = kept(EdgeAblation.patching_only(cfg, members))
        without = kept(EdgeAblation.patching_all_but(cfg, version_sets["siit.v2"] - members))
        moves[" -> ".join(e[:2]) + f" [{e[2]}]"] = {
            name: {"alone": round(1 - alone[name], 4), "within_circuit": round(kept_by_version["siit.v2"][name] - without[name], 4)}
            for name in sources}
    kept_by_version = {v: {name: round(x, 4) for name, x in k.items()} for v, k in kept_by_version.items()}
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


def edge_fraction(edged, clean: torch.Tensor, source: torch.Tensor, ablation: EdgeAblation, metric, full: float) -> float:
    """Mean metric kept, relative to ``full`` (the full model's), with ``ablation``'s edges carrying their
    senders' outputs on ``source`` (``edged``: a copy of the model that may take the edge-hook flags)."""
    with torch.no_grad():
        return metric(patched_logits(edged, clean, source, ablation)).mean().item() / full
