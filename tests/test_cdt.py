"""CD-T (methods/cdt.py): the decomposition conserves the forward pass, and on a one-layer linear read-out
its score is, by hand, the metric's change when the head's z is replaced by the corrupted mean."""
import torch
from toys import mlp_toy
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.tasks.base import LogitDiff, PromptBatch, TaskPrompts, last_logits
from methods import METHODS, cdt


def _randomise(model: HookedTransformer, seed: int) -> None:
    """Non-zero biases and LayerNorm parameters, so every bias split is exercised."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if name.split(".")[-1].startswith("b") or ".ln" in name or name.startswith("ln"):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5 + (1.0 if name.endswith(".w") else 0.0))


@torch.no_grad()
def test_decomposition_sums_to_the_forward_pass():
    """Relevant + irrelevant logits = the model's logits, from every layer's heads as sources (LayerNorm,
    MLPs, biases, the attention rule and the sign rule all in play)."""
    model, prompts = mlp_toy([6] * 5)
    _randomise(model, 0)
    tokens = prompts.clean.tokens
    logits = model(tokens)
    means = cdt.head_means(model, prompts.corrupted.tokens, prompts.corrupted.lengths, 4)
    for layer in range(model.cfg.n_layers):
        rel, irrel = cdt.decomposed_logits(model, tokens, layer, means[layer])
        assert rel.abs().max() > 1e-3  # the source carries something
        for h in range(model.cfg.n_heads):
            assert torch.allclose(rel[h] + irrel[h], logits, atol=1e-4), (layer, h)


@torch.no_grad()
def test_one_layer_score_by_hand():
    """One attention layer, no LayerNorm, no biases: the relevant logits are (z_h - mean_h) W_O[h] W_U, so a
    head's raw score is LD(clean) - LD(clean with z_h replaced by the mean), computed here with a hook; the
    method's scores are those divided by the layer's sum of |score|."""
    cfg = HookedTransformerConfig(n_layers=1, n_heads=3, d_model=12, d_head=4, n_ctx=6, d_vocab=10, attn_only=True,
                                  normalization_type=None, seed=3)
    model = HookedTransformer(cfg).eval()
    gen = torch.Generator().manual_seed(4)
    clean = torch.randint(0, 10, (7, 5), generator=gen)
    corrupt = torch.randint(0, 10, (7, 5), generator=gen)
    lens = torch.full((7,), 5)
    metric = LogitDiff(torch.randint(0, 10, (7,), generator=gen), torch.randint(0, 10, (7,), generator=gen))
    prompts = TaskPrompts("t", PromptBatch(clean, lens), PromptBatch(corrupt, lens), metric, "t")
    _, cache = model.run_with_cache(corrupt, names_filter="blocks.0.attn.hook_z")
    mean = cache["blocks.0.attn.hook_z"].mean(0)  # [T, H, d_head]
    base = metric(last_logits(model(clean), prompts.clean))
    raw = []
    for h in range(3):
        def to_mean(z, hook, h=h):
            z[:, :, h] = mean[:, h]
            return z
        ablated = metric(last_logits(model.run_with_hooks(clean, fwd_hooks=[("blocks.0.attn.hook_z", to_mean)]),
                                     prompts.clean))
        raw.append(float((base - ablated).mean()))
    result = METHODS["cdt"].run(model, prompts, cdt.Config(batch_size=3), 0)
    assert result.diagnostics["raw_scores"] == torch.tensor(raw).tolist() or torch.allclose(
        torch.tensor(result.diagnostics["raw_scores"]), torch.tensor(raw), atol=1e-5)
    want = torch.tensor(raw).abs() / torch.tensor(raw).abs().sum()
    assert torch.allclose(result.nodes.scores.flatten(), want, atol=1e-5)


@torch.no_grad()
def test_two_layer_attention_rule_by_hand():
    """Two attention layers, no LayerNorm, no biases, head 0.1 as the source: r = (z - mean) W_O[1] is the
    relevant residual; a layer-1 head attends with the pattern softmax((r W_Q)(r W_K)^T / sqrt(d_head)) (causal)
    over the values r W_V (eqs 6-15), so the relevant logits are (r + sum_g that z_g W_O[g]) W_U."""
    cfg = HookedTransformerConfig(n_layers=2, n_heads=2, d_model=8, d_head=4, n_ctx=5, d_vocab=9, attn_only=True,
                                  normalization_type=None, seed=5)
    model = HookedTransformer(cfg).eval()
    gen = torch.Generator().manual_seed(6)
    clean, corrupt = torch.randint(0, 9, (3, 4), generator=gen), torch.randint(0, 9, (3, 4), generator=gen)
    _, cc = model.run_with_cache(corrupt)
    _, c = model.run_with_cache(clean)
    mean = cc["blocks.0.attn.hook_z"].mean(0)
    r = torch.einsum("be,ed->bd", (c["blocks.0.attn.hook_z"][:, :, 1] - mean[:, 1]).reshape(-1, 4),
                     model.W_O[0, 1]).view(3, 4, 8)
    causal = torch.ones(4, 4).tril().bool()
    out = r.clone()
    for g in range(2):
        q, k, v = r @ model.W_Q[1, g], r @ model.W_K[1, g], r @ model.W_V[1, g]
        pattern = torch.softmax((q @ k.transpose(1, 2) / 2.0).masked_fill(~causal, float("-inf")), -1)
        out += (pattern @ v) @ model.W_O[1, g]
    want = out @ model.W_U
    means = cdt.head_means(model, corrupt, torch.full((3,), 4), 3)
    rel, _ = cdt.decomposed_logits(model, clean, 0, means[0])
    assert torch.allclose(rel[1], want, atol=1e-5)


def test_sign_rule_by_hand():
    """Opposite signs: the larger part takes the sum (ties to the relevant part); same signs: unchanged."""
    rel, irrel = cdt.settle((torch.tensor([2.0, -1.0, 1.0, 1.0, 0.5]), torch.tensor([-1.0, 3.0, 1.0, -1.0, 0.0])))
    assert rel.tolist() == [1.0, 0.0, 1.0, 0.0, 0.5] and irrel.tolist() == [0.0, 2.0, 1.0, 0.0, 0.0]


def test_bias_split_by_hand():
    """The bias goes to each part in proportion to |part @ W|: (1, 3) through W = 1 with bias 4 -> (2, 6)."""
    rel, irrel = cdt.linear((torch.tensor([[1.0]]), torch.tensor([[3.0]])), torch.tensor([[1.0]]), torch.tensor([4.0]),
                            "bd,de->be")
    assert rel.item() == 2.0 and irrel.item() == 6.0
