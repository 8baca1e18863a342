"""MIB's faithfulness, checked by hand on a one-head model: sizes floor(pct x N) over the additive edges,
pruning, every other edge patched from the corrupted prompt, trapezoids over the nominal percentages."""
import math

import pytest
import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.faithfulness import PERCENTAGES, area, faithfulness_curve, mib_prune
from bench.graph import CircuitGraph, Edge
from bench.tasks.base import LogitDiff, PromptBatch, TaskPrompts, last_logits


def _tiny(n_heads: int, d_head: int, seed: int, prompt_seed: int):
    """A one-layer attention-only model and 64 prompt pairs whose first token differs."""
    cfg = HookedTransformerConfig(n_layers=1, n_heads=n_heads, d_model=8, d_head=d_head, n_ctx=4, d_vocab=6,
                                  attn_only=True, act_fn=None, normalization_type="LN", seed=seed)
    model = HookedTransformer(cfg).eval()
    gen = torch.Generator().manual_seed(prompt_seed)
    clean = torch.randint(1, 6, (64, 3), generator=gen)
    corrupt = clean.clone()
    corrupt[:, 0] = (clean[:, 0] % 5) + 1  # the first token differs
    lengths = torch.full((64,), 3)
    prompts = TaskPrompts("tiny", PromptBatch(clean, lengths), PromptBatch(corrupt, lengths),
                          LogitDiff(clean[:, 0], corrupt[:, 0]), "tiny")
    return model, prompts


@pytest.fixture(scope="module")
def tiny():
    return _tiny(1, 8, seed=3, prompt_seed=0)


def _metric_by_hand(model, prompts, patch_q: bool, patch_k: bool, patch_v: bool, patch_direct: bool, patch_head: bool) -> float:
    """Edge patching with plain TransformerLens hooks: each patched edge carries the corrupted sender."""
    model.set_use_split_qkv_input(True)
    model.set_use_attn_result(True)
    _, cc = model.run_with_cache(prompts.corrupted.tokens)
    _, ck = model.run_with_cache(prompts.clean.tokens)
    corr_embed, clean_embed = cc["blocks.0.hook_resid_pre"], ck["blocks.0.hook_resid_pre"]
    hooks = []
    for flag, port in ((patch_q, "q"), (patch_k, "k"), (patch_v, "v")):
        if flag:
            hooks.append((f"blocks.0.hook_{port}_input", lambda x, hook: corr_embed[:, :, None, :].expand_as(x).clone()))
    state = {}

    def save_result(x, hook):
        state["result"] = x[:, :, 0].clone()
        return x

    def fix_output(x, hook):
        if patch_direct:
            x = x + corr_embed - clean_embed
        if patch_head:
            x = x - state["result"] + cc["blocks.0.attn.hook_result"][:, :, 0]
        return x

    hooks += [("blocks.0.attn.hook_result", save_result), ("blocks.0.hook_resid_post", fix_output)]
    try:
        logits = model.run_with_hooks(prompts.clean.tokens, fwd_hooks=hooks)
    finally:
        model.set_use_split_qkv_input(False)
        model.set_use_attn_result(False)
    return prompts.metric(last_logits(logits, prompts.clean)).mean().item()


def test_cpr_and_cmd_by_hand(tiny):
    model, prompts = tiny
    g = CircuitGraph(1, 1, attn_only=True)
    assert len(g.additive) == 5
    scores = torch.zeros(len(g.edges))
    for edge, s in {Edge("INPUT", "0.0", "q"): 0.5, Edge("INPUT", "0.0", "k"): -0.2, Edge("INPUT", "0.0", "v"): 0.9,
                    Edge("INPUT", "OUTPUT", "out"): 0.1, Edge("0.0", "OUTPUT", "out"): 0.7}.items():
        scores[g.edge_index[edge]] = s
    curve = faithfulness_curve(model, prompts, torch.zeros(1), scores)
    m_full = _metric_by_hand(model, prompts, False, False, False, False, False)
    m_empty = _metric_by_hand(model, prompts, True, True, True, True, True)
    assert curve.m_full == pytest.approx(m_full, abs=1e-5) and curve.m_empty == pytest.approx(m_empty, abs=1e-5)
    # sizes floor(pct x 5): 0 up to 10 %, then 1 (only INPUT->v: pruned away, the head has no way out), 2, 5
    assert curve.n_items == [0, 0, 0, 0, 0, 0, 0, 1, 2, 5]
    two = (_metric_by_hand(model, prompts, True, True, False, True, False) - m_empty) / (m_full - m_empty)
    expected = [0.0] * 8 + [two, 1.0]
    assert curve.faithfulness == pytest.approx(expected, abs=1e-4)
    assert curve.faithfulness_abs == pytest.approx(expected, abs=1e-4)  # |score| picks the same top two
    x = list(PERCENTAGES)
    cpr = (0.5 - 0.2) * (0 + two) / 2 + (1 - 0.5) * (two + 1) / 2
    cmd = (0.2 - 0.001) * 1 + (0.5 - 0.2) * (1 + abs(1 - two)) / 2 + (1 - 0.5) * abs(1 - two) / 2
    assert curve.status == "ok"
    assert curve.cpr == pytest.approx(cpr, abs=1e-4) and area(x, expected) == pytest.approx(cpr, abs=1e-4)
    assert curve.cmd == pytest.approx(cmd, abs=1e-4)


def test_prune_drops_components_without_a_way_in_or_out():
    g = CircuitGraph(2, 1, attn_only=True)
    kept = torch.zeros(len(g.edges), dtype=torch.bool)
    kept[g.edge_index[Edge("INPUT", "0.0", "v")]] = True  # 0.0 has no way out
    kept[g.edge_index[Edge("1.0", "OUTPUT", "out")]] = True  # 1.0 has no way in
    assert not mib_prune(g, kept).any()
    kept[g.edge_index[Edge("0.0", "1.0", "k")]] = True  # now the chain INPUT -> 0.0 -> 1.0 -> OUTPUT is whole
    assert mib_prune(g, kept).sum() == 3


def test_a_ratio_without_a_denominator_is_not_printed(tiny):
    model, prompts = tiny
    same = TaskPrompts("tiny", prompts.clean, prompts.clean, prompts.metric, "tiny")
    curve = faithfulness_curve(model, same, torch.zeros(1), torch.rand(len(CircuitGraph(1, 1).edges)))
    assert math.isnan(curve.cpr) and math.isnan(curve.cmd) and "standard errors" in curve.status


def test_node_level_cpr_by_hand():
    """A node-only method on a one-layer, two-head model: N = 2 heads, sizes floor(pct x 2) = 0 below 50 %,
    then 1 (the higher-scored head) and 2; a dropped head's output is the corrupted run's; CPR and CMD are
    the trapezoids over the nominal percentages."""
    model, prompts = _tiny(2, 4, seed=5, prompt_seed=1)
    clean, corrupt = prompts.clean.tokens, prompts.corrupted.tokens
    model.set_use_attn_result(True)
    try:
        _, cc = model.run_with_cache(corrupt)

        def m(kept_heads: set[int]) -> float:
            def swap(x, hook):
                x = x.clone()
                for h in range(2):
                    if h not in kept_heads:
                        x[:, :, h] = cc["blocks.0.attn.hook_result"][:, :, h]
                return x

            logits = model.run_with_hooks(clean, fwd_hooks=[("blocks.0.attn.hook_result", swap)])
            return prompts.metric(last_logits(logits, prompts.clean)).mean().item()

        m_full = m({0, 1})
        m_empty = prompts.metric(last_logits(model(corrupt), prompts.corrupted)).mean().item()
        f = lambda kept: (m(kept) - m_empty) / (m_full - m_empty)  # noqa: E731
        expected = [f(set())] * 8 + [f({1}), 1.0]
    finally:
        model.set_use_attn_result(False)
    curve = faithfulness_curve(model, prompts, torch.tensor([0.3, 0.8]), None)
    x = list(PERCENTAGES)
    assert curve.level == "node" and curve.n_items == [0] * 8 + [1, 2]
    assert curve.faithfulness == pytest.approx(expected, abs=1e-4)
    cpr = sum((x[i + 1] - x[i]) * (expected[i] + expected[i + 1]) / 2 for i in range(9))
    cmd = sum((x[i + 1] - x[i]) * (abs(1 - expected[i]) + abs(1 - expected[i + 1])) / 2 for i in range(9))
    assert curve.cpr == pytest.approx(cpr, abs=1e-4) and curve.cmd == pytest.approx(cmd, abs=1e-4)


def test_batched_curve_equals_one_batch(tiny, monkeypatch):
    """Prompts in memory-bounded batches give the same curve as one batch (the memory bound changes
    nothing but memory)."""
    import bench.faithfulness as faith

    model, prompts = tiny
    g = CircuitGraph(1, 1, attn_only=True)
    scores = torch.linspace(-1, 1, len(g.edges))
    whole = faithfulness_curve(model, prompts, torch.zeros(1), scores)
    per_prompt = len(g.senders) * prompts.clean.tokens.shape[1] * model.cfg.d_model * 4
    monkeypatch.setattr(faith, "PATCH_BYTES", 7 * per_prompt)
    assert faith.batch_size_for(g, 64, prompts.clean.tokens.shape[1], model.cfg.d_model) == 7
    batched = faithfulness_curve(model, prompts, torch.zeros(1), scores)
    assert batched.faithfulness == pytest.approx(whole.faithfulness, abs=1e-5)
    assert batched.m_full == pytest.approx(whole.m_full, abs=1e-5) and batched.cpr == pytest.approx(whole.cpr, abs=1e-5)
