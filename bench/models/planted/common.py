"""What every planted-circuit model shares: its config and files, loading, and the training command that
trains it by SIIT, certifies the circuit by intervention and writes the weights and the ground-truth file."""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from bench.models.planted import WEIGHTS, Planted
from bench.models.planted import siit


def induced(groups: dict[str, list[str]]) -> list[list[str]]:
    """The circuit's edges by construction: every edge among the mapped components, from the embeddings
    into each of them and from each of them to the output, on every port (SIIT maps components, not ports;
    the rule keeps only edges that run forward)."""
    names = list(groups)
    return ([["INPUT", g, "qkv"] for g in names] + [[a, b, "qkv"] for a in names for b in names if a != b]
            + [[g, "OUTPUT", "out"] for g in names])


@dataclass(frozen=True)
class Recipe:
    """One planted model: its architecture, high-level model, mapping, schedule and ground-truth facts."""

    planted: Planted
    config: Callable[[], Any]  # -> HookedTransformerConfig
    high_level: Callable[[], siit.HighLevel]
    mapping: dict[str, str]  # high-level variable -> component
    groups: dict[str, list[str]]  # ground-truth groups (one per variable, named for readers)
    metric: Callable[[torch.Tensor, siit.Batch], torch.Tensor]  # per-prompt task metric on clean inputs
    corrupt: Callable[[siit.Batch, torch.Generator], torch.Tensor]  # the task's negatives for a clean batch
    task: str
    source: str
    steps: int = 4000
    batch: int = 128
    lr: float = 1e-3
    weights: siit.Weights = field(default_factory=siit.Weights)
    # a per-prompt score of the output against its own input's answer, for ablations from other inputs where
    # the task metric is not specific to the input (a real-valued output): default, the task metric itself
    fidelity: Callable[[torch.Tensor, siit.Batch], torch.Tensor] | None = None

    @property
    def class_edges(self) -> list[list[str]]:
        """The ground truth's class-level edges: the induced subgraph of the groups (:func:`induced`)."""
        return induced(self.groups)


def load(p: Planted, device: str = "cpu"):
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer

    from bench.errors import ModelMissingError

    recipe = recipe_for(p)
    if not p.weights_path.is_file():
        raise ModelMissingError(f"{p.name} weights missing at {p.weights_path}; run `python -m bench.models.planted.{p.module}`")
    model = HookedTransformer(recipe.config())
    model.load_state_dict(load_file(str(p.weights_path)), strict=False)
    return model.to(device).eval()


def recipe_for(p: Planted) -> Recipe:
    import importlib

    return importlib.import_module(f"bench.models.planted.{p.module}").RECIPE


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
    circuit = list(recipe.mapping.values())
    comps = siit.all_components(model.cfg)
    from_negatives = siit.ablation_fractions(model, comps, circuit, metric, clean.tokens, corrupted)
    from_others = siit.ablation_fractions(model, comps, circuit, fidelity, clean.tokens, resample.tokens)
    with torch.no_grad():
        m_clean = metric(model(clean.tokens)).mean().item()
        m_corrupt = metric(model(corrupted)).mean().item()
    cfg = model.cfg
    graph = CircuitGraph(cfg.n_layers, cfg.n_heads, bool(cfg.attn_only))
    data = {"graph": {"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "attn_only": bool(cfg.attn_only)},
            "groups": recipe.groups, "construction": {"rule": "class_edges", "class_edges": recipe.class_edges}}
    edges = {tuple(e) for e in expand(data)}
    edge_kept = edge_level_fraction(model, graph, edges, clean, corrupted, metric)
    return {"task_accuracy": round(siit.accuracy(model, hl, gen, n), 4),
            "interchange_accuracy": {k: round(v, 4) for k, v in siit.interchange_accuracy(model, hl, recipe.mapping, gen, n).items()},
            "resample_ablation_from_negatives": from_negatives,
            "resample_ablation_from_other_inputs": {**from_others, "score": "task metric" if recipe.fidelity is None
                                                    else recipe.fidelity.__doc__.strip().splitlines()[0]},
            "task_metric_clean": round(m_clean, 4), "task_metric_corrupted": round(m_corrupt, 4),
            "edge_level_fraction_kept_patching_all_non_circuit_edges_from_corrupted": round(edge_kept, 4),
            "heads_in_circuit": sum(1 for c in circuit if not c.startswith("m")), "heads_total": cfg.n_layers * cfg.n_heads,
            "mlps_in_circuit": sum(1 for c in circuit if c.startswith("m")), "mlps_total": 0 if cfg.attn_only else cfg.n_layers,
            "n_eval": n}


@torch.no_grad()
def edge_level_fraction(model, graph, edges: set, clean: siit.Batch, corrupted: torch.Tensor, metric) -> float:
    """Metric kept, relative to the full model, when every additive edge outside ``edges`` carries its
    sender's activation on the corrupted input (through auto-circuit's edge patching)."""
    from auto_circuit.utils.ablation_activations import src_ablations
    from auto_circuit.utils.graph_utils import patch_mode

    from bench.tasks.base import LogitDiff, PromptBatch, TaskPrompts
    from methods.auto_circuit_bridge import patchable

    n, t = clean.tokens.shape
    lengths = torch.full((n,), t)
    dummy = TaskPrompts("certify", PromptBatch(clean.tokens, lengths), PromptBatch(corrupted, lengths),
                        LogitDiff(torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)), 0, "certify")
    bridge = patchable(model, dummy)
    bridge.pm.out_slice = (slice(None),)  # whole sequences: the metric reads its own positions
    keep = torch.tensor([(e.sender, e.receiver, e.port) in edges for e in graph.edges])
    bridge.set_patched(~keep)
    with patch_mode(bridge.pm, src_ablations(bridge.pm, corrupted)):
        patched = metric(bridge.pm(clean.tokens)).mean().item()
    full = metric(model(clean.tokens)).mean().item()
    return patched / full


def main(recipe: Recipe) -> None:
    """``python -m bench.models.planted.<name>``: train by SIIT, certify, write weights and ground truth."""
    from safetensors.torch import save_file
    from transformer_lens import HookedTransformer

    from ground_truth.build import expand
    from ground_truth.loader import ROOT, write

    ap = argparse.ArgumentParser(description=f"Train {recipe.planted.name} by SIIT and write its ground truth")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=recipe.steps)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(recipe.planted.weights_path))
    ap.add_argument("--certify-only", action="store_true", help="re-certify the saved weights, keep their training record")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    cfg = recipe.config()
    if args.certify_only:
        from safetensors import safe_open
        from safetensors.torch import load_file

        model = HookedTransformer(cfg)
        model.load_state_dict(load_file(args.out), strict=False)
        with safe_open(args.out, "pt") as f:
            training = json.loads(f.metadata()["evidence"])["training"]
    else:
        model = HookedTransformer(cfg)
        stats = siit.train(model, recipe.high_level(), recipe.mapping, args.steps, recipe.batch, recipe.lr, args.seed,
                           recipe.weights)
        training = {**stats, "command": f"python -m bench.models.planted.{recipe.planted.module} --seed {args.seed}",
                    "wall_seconds": round(time.perf_counter() - t0, 1), "threads": args.threads}
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith(("IGNORE", ".mask"))}
    save_file(state, args.out, metadata={"evidence": json.dumps({"training": training})})  # before certifying
    evidence = certify(model, recipe, args.seed)
    evidence["training"] = training
    save_file(state, args.out, metadata={"evidence": json.dumps(evidence)})
    os.chmod(args.out, 0o644)
    data = {"schema": "cdbench.ground_truth/2", "task": recipe.task, "version": "siit.v1", "model": recipe.planted.name,
            "source": recipe.source,
            "notes": ("Circuit by construction: SIIT mapped each high-level variable onto one component (mapping); the "
                      "edges are every edge among the mapped components, from the embeddings into them and from them "
                      "to the output, on every port (the construction maps components, not ports), plus the internal "
                      "edges of those ports."),
            "graph": {"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "attn_only": bool(cfg.attn_only)},
            "groups": recipe.groups, "nodes": list(recipe.groups),
            "mapping": recipe.mapping,
            "construction": {"rule": "class_edges", "class_edges": recipe.class_edges},
            "evidence": evidence}
    data["edges"] = expand(data)
    path = ROOT / recipe.task / "siit.v1.json"
    path.parent.mkdir(exist_ok=True)
    write(path, data)
    print(json.dumps(evidence, indent=1))
