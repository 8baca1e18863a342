"""Tiny models built in tests: a random two-layer model with MLPs and LayerNorm, and prompt pairs of
different lengths whose first token differs (every edge kind, right padding included)."""
import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.tasks.base import LogitDiff, PromptBatch, TaskPrompts


def mlp_toy(lengths: list[int]) -> tuple[HookedTransformer, TaskPrompts]:
    cfg = HookedTransformerConfig(n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=32, n_ctx=8, d_vocab=12,
                                  act_fn="gelu", normalization_type="LN", seed=1)
    model = HookedTransformer(cfg).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(2)
    n = len(lengths)
    clean = torch.randint(0, 12, (n, 6), generator=gen)
    corrupt = clean.clone()
    corrupt[:, 0] = (clean[:, 0] + 1) % 12
    lens = torch.tensor(lengths)
    metric = LogitDiff(torch.randint(0, 12, (n,), generator=gen), torch.randint(0, 12, (n,), generator=gen))
    return model, TaskPrompts("t", PromptBatch(clean, lens), PromptBatch(corrupt, lens), metric, "t")
