"""The training command of a planted model: train by SIIT, certify, and write the weights and the
ground-truth file (with the training and intervention evidence)."""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from bench.models.planted import WEIGHTS
from bench.planting import siit
from bench.planting.certify import certify
from bench.planting.recipe import Recipe


def main(recipe: Recipe, argv: list[str] | None = None) -> None:
    """``python -m bench.planting <name>``: train by SIIT, certify, write weights and ground truth."""
    from safetensors.torch import save_file
    from transformer_lens import HookedTransformer

    from ground_truth.build import expand
    from ground_truth.loader import ROOT, write

    ap = argparse.ArgumentParser(prog=f"python -m bench.planting {recipe.planted.module}",
                                 description=f"Train {recipe.planted.name} by SIIT and write its ground truth")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=recipe.steps)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(recipe.planted.weights_path))
    ap.add_argument("--certify-only", action="store_true", help="re-certify the saved weights, keep their training record")
    args = ap.parse_args(argv)
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
        training = {**stats, "command": f"python -m bench.planting {recipe.planted.module} --seed {args.seed}",
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
