"""Build the ground truth of the embedded induction model by the standard detectors, then check
it causally. Run ``python -m ground_truth.induction_detect`` after retraining the model.

Detectors (on BOS + R + R, R = random tokens): previous-token score = mean attention from
position q to q-1; induction score = mean attention from a second-half position q to the token
after q's previous occurrence (q - len(R) + 1). Causal check: mean-ablating heads' outputs
(``hook_z`` replaced by its mean over the batch and positions) and measuring how much of the
in-context loss drop (first-half loss minus second-half loss) survives."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from bench.graph import head_name
from ground_truth.build import expand
from ground_truth.loader import ROOT, write

# 0.2 = four times what a head spreading attention uniformly over the ~20 earlier positions gives.
PREV_THRESHOLD = 0.2
INDUCTION_THRESHOLD = 0.2
REPEAT_LEN = 20


def repeated_tokens(vocab: int, n: int = 256, seed: int = 123) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    r = torch.randint(1, vocab, (n, REPEAT_LEN), generator=gen)
    return torch.cat([torch.zeros(n, 1, dtype=torch.long), r, r], 1)


@torch.no_grad()
def detector_scores(model: HookedTransformer, toks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(previous_token, induction)`` scores, each ``[n_layers, n_heads]``."""
    _, cache = model.run_with_cache(toks, names_filter=lambda n: n.endswith("hook_pattern"))
    prev, ind = [], []
    q = torch.arange(REPEAT_LEN + 1, 2 * REPEAT_LEN + 1)
    for layer in range(model.cfg.n_layers):
        pat = cache[f"blocks.{layer}.attn.hook_pattern"]  # [b, h, q, k]
        prev.append(pat.diagonal(offset=-1, dim1=-2, dim2=-1)[..., 1:].mean((0, 2)))
        ind.append(pat[:, :, q, q - REPEAT_LEN + 1].mean((0, 2)))
    return torch.stack(prev), torch.stack(ind)


@torch.no_grad()
def icl_drop(model: HookedTransformer, toks: torch.Tensor, ablate: list[tuple[int, int]]) -> float:
    """First-half minus second-half loss with the listed heads mean-ablated."""
    def hook(z: torch.Tensor, hook) -> torch.Tensor:
        layer = int(hook.name.split(".")[1])
        for (lay, h) in ablate:
            if lay == layer:
                z[:, :, h] = z[:, :, h].mean((0, 1), keepdim=True)
        return z

    losses = model.run_with_hooks(toks, return_type="loss", loss_per_token=True,
                                  fwd_hooks=[(lambda n: n.endswith("attn.hook_z"), hook)])
    first = losses[:, 1:REPEAT_LEN].mean()
    second = losses[:, REPEAT_LEN + 1:].mean()
    return (first - second).item()


def build(model: HookedTransformer, model_name: str) -> dict:
    toks = repeated_tokens(model.cfg.d_vocab)
    prev, ind = detector_scores(model, toks)
    cfg = model.cfg
    prev_heads = [(lay, h) for lay in range(cfg.n_layers) for h in range(cfg.n_heads) if prev[lay, h] >= PREV_THRESHOLD]
    ind_heads = [(lay, h) for lay in range(cfg.n_layers) for h in range(cfg.n_heads) if ind[lay, h] >= INDUCTION_THRESHOLD]
    gt = sorted(set(prev_heads + ind_heads))
    others = [(lay, h) for lay in range(cfg.n_layers) for h in range(cfg.n_heads) if (lay, h) not in gt]
    full = icl_drop(model, toks, [])
    no_gt = icl_drop(model, toks, gt)
    only_gt = icl_drop(model, toks, others)
    name = lambda hs: [head_name(*x) for x in hs]  # noqa: E731
    data = {
        "schema": "cdbench.ground_truth/2", "task": "induction", "version": f"{model_name}.v2", "model": model_name,
        "source": "cdbench: standard previous-token and induction detectors on the committed model "
                  "(ground_truth/induction_detect.py), checked by mean-ablation",
        "notes": f"previous-token score >= {PREV_THRESHOLD}, induction score >= {INDUCTION_THRESHOLD}, on {len(toks)} "
                 f"sequences BOS + R + R with |R| = {REPEAT_LEN}. Edges: INPUT -> previous-token (v), "
                 "INPUT -> induction (q, v), previous-token -> induction (k), induction -> OUTPUT, and the internal "
                 "edges of those ports (rule class_edges).",
        "graph": {"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "attn_only": bool(cfg.attn_only)},
        "detector_scores": {"previous_token": {head_name(lay, h): round(prev[lay, h].item(), 3)
                                               for lay in range(cfg.n_layers) for h in range(cfg.n_heads)},
                            "induction": {head_name(lay, h): round(ind[lay, h].item(), 3)
                                          for lay in range(cfg.n_layers) for h in range(cfg.n_heads)}},
        "causal_check": {"icl_loss_drop_full_model": round(full, 4),
                         "fraction_kept_ablating_ground_truth": round(no_gt / full, 4),
                         "fraction_kept_ablating_all_other_heads": round(only_gt / full, 4)},
        "groups": {"previous_token": name(prev_heads), "induction": name(ind_heads)},
        "nodes": ["previous_token", "induction"],
        "construction": {"rule": "class_edges", "class_edges": [
            ["INPUT", "previous_token", "v"], ["INPUT", "induction", "qv"],
            ["previous_token", "induction", "k"], ["induction", "OUTPUT", "out"]]},
    }
    data["edges"] = expand(data)
    return data


def main() -> None:
    from bench.models.induction import load

    data = build(load("cpu"), "induction-2l")
    path: Path = ROOT / "induction" / "induction-2l.v2.json"
    path.parent.mkdir(exist_ok=True)
    write(path, data)
    print(json.dumps({k: data[k] for k in ("groups", "causal_check")}, indent=2))


if __name__ == "__main__":
    main()
