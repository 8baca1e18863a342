"""The training command of a planted model: train by SIIT, certify, and write the weights and both
ground-truth versions (``siit.v1``: the induced subgraph of the circuit; ``siit.v2``: InterpBench's rule,
the low-level edges that realise the high-level model's edges), each carrying the evidence. A retrained
copy goes to ``--out-dir`` (weights at DIR/<model>.safetensors, ground truth under DIR/ground_truth/),
never into the repository; ``--ship`` writes the committed files."""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from bench.models.planted import WEIGHTS
from bench.planting import siit
from bench.planting.certify import certify
from bench.planting.recipe import Recipe

V1_NOTES = ("Circuit by construction: SIIT mapped each high-level variable onto its group's components (mapping); "
            "the edges are every edge among the mapped components, from the embeddings into them and from them to "
            "the output, on every port (the induced subgraph; the construction maps components, not ports), plus "
            "the internal edges of those ports.")
V2_NOTES = ("Circuit by InterpBench's rule (circuits-benchmark get_gt_circuit): the true low-level edges realise an "
            "edge of the high-level causal model (construction.causal_edges), as the cross product of the "
            "components each end maps to; a receiving head's ports are those the high-level model reads the sender "
            "through (attention inputs q and k where the variable's attention is decided by tokens or positions, v "
            "where it moves the sender's value), plus the internal edges of those ports. Edges among circuit "
            "components that no high-level edge uses are not in the circuit.")


def ground_truth_files(recipe: Recipe, cfg, evidence: dict) -> dict[str, dict]:
    """``{version: file data}`` for siit.v1 and siit.v2 (edges expanded from their constructions)."""
    from ground_truth.build import expand

    common = {"schema": "cdbench.ground_truth/2", "task": recipe.task, "model": recipe.planted.name,
              "source": recipe.source,
              "graph": {"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "attn_only": bool(cfg.attn_only)},
              "groups": recipe.groups, "nodes": list(recipe.groups), "mapping": recipe.mapping}
    out = {"siit.v1": {**common, "version": "siit.v1", "notes": V1_NOTES,
                       "construction": {"rule": "class_edges", "class_edges": recipe.class_edges}}}
    if recipe.causal_edges:
        out["siit.v2"] = {**common, "version": "siit.v2", "notes": V2_NOTES,
                          "causal_edges": [list(e) for e in recipe.causal_edges],
                          "construction": {"rule": "class_edges", "class_edges": recipe.realised_edges}}
    for data in out.values():
        data["evidence"] = evidence
        data["edges"] = expand(data)
    return out


def main(recipe: Recipe, argv: list[str] | None = None) -> None:
    """``python -m bench.planting <name>``: train by SIIT, certify, write weights and ground truth."""
    from safetensors.torch import save_file
    from transformer_lens import HookedTransformer

    from ground_truth.loader import ROOT, write

    name = recipe.planted.name
    ap = argparse.ArgumentParser(prog=f"python -m bench.planting {recipe.planted.module}",
                                 description=f"Train {name} by SIIT, certify it and write its ground truth")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=recipe.steps)
    ap.add_argument("--threads", type=int, default=2)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--out-dir", type=Path, help=f"write DIR/{name}.safetensors and DIR/ground_truth/{recipe.task}/")
    where.add_argument("--ship", action="store_true", help="write the committed weights and ground-truth files")
    ap.add_argument("--certify-only", action="store_true", help="re-certify the saved weights, keep their training record")
    args = ap.parse_args(argv)
    if args.out_dir is not None:
        out_dir = args.out_dir.resolve()
        repo = ROOT.parent.resolve()
        if out_dir == repo or repo in out_dir.parents:
            ap.error(f"--out-dir {args.out_dir} is inside the repository; use --ship for the committed files")
        weights, gt_root = out_dir / f"{name}.safetensors", out_dir / "ground_truth"
    else:
        weights, gt_root = recipe.planted.weights_path, ROOT
    if args.certify_only and not weights.is_file():
        ap.error(f"--certify-only: no weights at {weights}")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    cfg = recipe.config()
    model = HookedTransformer(cfg)
    if args.certify_only:
        from safetensors import safe_open
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(weights)), strict=False)
        with safe_open(str(weights), "pt") as f:
            training = json.loads(f.metadata()["evidence"])["training"]
    else:
        from bench.planting.certify import version_edges
        from bench.planting.edge_patch import kept_edges

        kept = kept_edges(version_edges(cfg, recipe.groups, recipe.realised_edges)) if recipe.causal_edges else None
        stats = siit.train(model, recipe.high_level(), recipe.component_mapping, args.steps, recipe.batch, recipe.lr,
                           args.seed, recipe.weights, corrupt=recipe.corrupt, kept_edges=kept)
        place = "--ship" if args.ship else "--out-dir DIR"
        training = {**stats, "command": f"python -m bench.planting {recipe.planted.module} --seed {args.seed} {place}",
                    "wall_seconds": round(time.perf_counter() - t0, 1), "threads": args.threads}
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith(("IGNORE", ".mask"))}
    save_file(state, str(weights), metadata={"evidence": json.dumps({"training": training})})  # before certifying
    evidence = certify(model, recipe, args.seed)
    evidence["training"] = training
    save_file(state, str(weights), metadata={"evidence": json.dumps(evidence)})
    os.chmod(weights, 0o644)
    for version, data in ground_truth_files(recipe, cfg, evidence).items():
        path = gt_root / recipe.task / f"{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, data)
    print(json.dumps(evidence, indent=1))
    print(f"weights: {weights}\nground truth: {gt_root / recipe.task}")
