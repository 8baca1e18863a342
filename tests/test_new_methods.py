"""Parity tests for the methods MIB ranks beside EAP (issue 23): each pins a value computed by hand from
the peer's published procedure on a toy model whose weights are set by hand."""
import pytest
import torch
from toys import mlp_toy as mlp_toy_model
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.graph import INPUT, OUTPUT, CircuitGraph, Edge
from bench.tasks.base import LogitDiff, PromptBatch, TaskPrompts
from methods import METHODS, eap, eap_ig_activations, ifr, ugs

# Toy: one layer, one head whose output is zero (W_O = 0), one ReLU neuron reading coordinate 0 and
# writing 2x it back, no LayerNorm, no positions. Token embeddings put a number on coordinate 0 (token 4
# also a 1 on coordinate 1); the metric is logit(0) - logit(1) = coordinate 0 of the final residual stream.
EMBED = [1.0, -1.5, 0.5, -1.0, 1.0]


def _toy() -> HookedTransformer:
    cfg = HookedTransformerConfig(n_layers=1, n_heads=1, d_model=2, d_head=1, d_mlp=1, n_ctx=2, d_vocab=5,
                                  act_fn="relu", normalization_type=None, seed=0)
    model = HookedTransformer(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
            p.requires_grad_(False)
        model.embed.W_E[:, 0] = torch.tensor(EMBED)
        model.embed.W_E[4, 1] = 1.0
        model.blocks[0].attn.W_Q.fill_(1.0)
        model.blocks[0].attn.W_K.fill_(1.0)
        model.blocks[0].attn.W_V.fill_(1.0)
        model.blocks[0].mlp.W_in[0, 0] = 1.0
        model.blocks[0].mlp.W_out[0, 0] = 2.0
        model.unembed.W_U[0, 0] = 1.0
    return model


def _prompts(clean: list, corrupt: list, lengths: list[int] | None = None) -> TaskPrompts:
    """One-token prompts from ints, or right-padded ones from lists with their ``lengths``."""
    n = len(clean)
    as_tokens = lambda xs: torch.tensor(xs) if isinstance(xs[0], list) else torch.tensor(xs)[:, None]  # noqa: E731
    lens = torch.tensor(lengths) if lengths else torch.ones(n, dtype=torch.long)
    return TaskPrompts("toy", PromptBatch(as_tokens(clean), lens), PromptBatch(as_tokens(corrupt), lens),
                       LogitDiff(torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)), "toy")


GRAPH = CircuitGraph(1, 1, False)


@pytest.fixture(scope="module")
def mlp_toy():
    """A random two-layer model with MLPs and LayerNorm, prompts of different lengths (every edge kind)."""
    return mlp_toy_model([6, 6, 5, 4, 6, 3])


def _score(scores: torch.Tensor, sender: str, receiver: str, port: str) -> float:
    return float(scores[GRAPH.edge_index[Edge(sender, receiver, port)]])


def test_eap_ig_activations_matches_mibs_procedure_by_hand():
    """Clean token 0 (x = 1), corrupted token 1 (x = -1.5); delta = -2.5 on coordinate 0. MIB's procedure:
    3 sublayers (embeddings, attention, MLP) x 5 steps, alpha = k/5, k = 1..5, every run's receiver
    gradient averaged over all 15. At the MLP input the gradient is 2 * [pre-activation > 0]:
    embedding runs, pre = 2.5 alpha - 1.5 > 0 at alpha 0.8 and 1.0 (2 of 5); attention runs see the clean
    input (5 of 5); MLP runs replace the MLP's output by a constant (0). So INPUT -> m0 scores
    -(1/15) * 7 * (-2.5 * 2) = 7/3 (EAP: 5; with MIB's inputs grid k = 0..4 it would be 6/3). Into the
    output the gradient is u in every run: INPUT -> OUTPUT = 2.5 and m0 -> OUTPUT = -(0 - 2) = 2."""
    model, prompts = _toy(), _prompts([0], [1])
    s = METHODS["eap_ig_activations"].run(model, prompts, eap_ig_activations.Config(), 0).edges.scores
    assert _score(s, INPUT, "m0", "in") == pytest.approx(7 / 3, abs=1e-5)
    assert _score(s, INPUT, OUTPUT, "out") == pytest.approx(2.5, abs=1e-5)
    assert _score(s, "m0", OUTPUT, "out") == pytest.approx(2.0, abs=1e-5)
    assert eap_ig_activations.Config().alphas == [0.2, 0.4, 0.6, 0.8, 1.0]  # MIB: range(1, steps + 1)


def test_eap_mean_ablation_uses_the_mean_over_corrupted_prompts_by_hand():
    """Clean tokens 0, 3 (x = 1, -1), corrupted 1, 2 (x = -1.5, 0.5): the embedding mean over corrupted
    prompts is -0.5. INPUT -> m0 (gradient 2 on prompt 1, 0 on prompt 2, the neuron is off):
    mean ablation -((-0.5 - 1) * 2 + 0) / 2 = 1.5; patching -((-1.5 - 1) * 2 + 0) / 2 = 2.5. The
    MLP's mean output over corrupted prompts is (0 + 1) / 2 (the mean of outputs, not the output of the
    mean input, which is 0); into the output, m0 -> OUTPUT = -((0.5 - 2) + (0.5 - 0)) / 2 = 0.5."""
    model, prompts = _toy(), _prompts([0, 3], [1, 2])
    mean = eap.run(model, prompts, eap.Config(ablation="mean"), 0)
    patch = eap.run(model, prompts, eap.Config(), 0)
    assert _score(mean.edges.scores, INPUT, "m0", "in") == pytest.approx(1.5, abs=1e-5)
    assert _score(patch.edges.scores, INPUT, "m0", "in") == pytest.approx(2.5, abs=1e-5)
    assert _score(mean.edges.scores, "m0", OUTPUT, "out") == pytest.approx(0.5, abs=1e-5)
    assert mean.ablation.startswith("mean") and patch.ablation == "corrupted-patching"
    with pytest.raises(ValueError):
        eap.Config(ablation="zero")


def test_ifr_matches_ferrando_and_voitas_l1_proximity_by_hand():
    """Prompt A = tokens [4, 0], prompt B = [0] padded with token 1. Into the output at a position with
    x = (1, 1) (token 4): the MLP writes (2, 0), the residual is (3, 1), ||.||_1 = 4; proximities
    INPUT 4 - |(1,1) - (3,1)| = 2, head (writes 0) 4 - 4 = 0, MLP 4 - |(2,0) - (3,1)| = 2: importances
    1/2, 0, 1/2 (L2 distances would give 0.40, 0, 0.60). At x = (1, 0) (token 0): residual (3, 0),
    INPUT 3 - 2 = 1, MLP 3 - 1 = 2: 1/3, 0, 2/3. Mean over real positions, then prompts: INPUT -> OUTPUT
    = ((1/2 + 1/3) / 2 + 1/3) / 2 = 3/8 (with B's padded position, x = -1.5, importance 1, counted it
    would be 7/12). Into the MLP only INPUT writes anything (the head writes 0): importance 1."""
    model = _toy()
    prompts = _prompts([[4, 0], [0, 1]], [[4, 0], [0, 1]], lengths=[2, 1])
    res = METHODS["ifr"].run(model, prompts, ifr.Config(), 0)
    s = res.edges.scores
    assert _score(s, INPUT, OUTPUT, "out") == pytest.approx(3 / 8, abs=1e-6)
    assert _score(s, "m0", OUTPUT, "out") == pytest.approx(((1 / 2 + 2 / 3) / 2 + 2 / 3) / 2, abs=1e-6)
    assert _score(s, "0.0", OUTPUT, "out") == 0.0
    assert _score(s, INPUT, "m0", "in") == pytest.approx(1.0, abs=1e-6)
    assert (s >= 0).all() and (s <= 1 + 1e-6).all()


def test_ugs_sampler_matches_the_modified_uniform_by_hand():
    """theta = 0: p = 1/2, window w = 1/4. u = 0.3 is below the window (m = 1), u = 0.55 inside it
    (m = 1 - (0.05 / 0.25 + 0.5) = 0.3), u = 0.9 above it (m = 0). Inside the window dm/dp = 1, so
    dm/dtheta = p(1 - p) = 1/4; the sampler's reweighting multiplies by rows / rows inside (3 / 1)."""
    theta = torch.zeros(1, requires_grad=True)
    unif = torch.tensor([[0.3], [0.55], [0.9]])
    m = ugs.sample_mask(theta, unif, reweight=False)
    assert m.flatten().tolist() == pytest.approx([1.0, 0.3, 0.0], abs=1e-6)
    m.sum().backward()
    assert float(theta.grad) == pytest.approx(0.25, abs=1e-6)
    theta.grad = None
    ugs.sample_mask(theta, unif).sum().backward()
    assert float(theta.grad) == pytest.approx(0.75, abs=1e-6)


def test_ugs_dangling_filter_by_hand():
    """Two heads in two layers, attention only. Row 0: INPUT -> 0.0 [v], 0.0 -> 1.0 [q], INPUT -> OUTPUT:
    1.0 writes nowhere, so its input edge dangles, and then 0.0 writes nowhere: only INPUT -> OUTPUT stays.
    Row 1: 0.0 -> 1.0 [v], 1.0 -> OUTPUT: 0.0 reads nothing, so both are cut off. Row 2: INPUT -> 0.0 [k],
    0.0 -> 1.0 [v], 1.0 -> OUTPUT: a path from the embeddings to the output, all kept."""
    graph = CircuitGraph(2, 1, True)
    order = [graph.edges[i] for i in graph.additive]
    rows = [[Edge(INPUT, "0.0", "v"), Edge("0.0", "1.0", "q"), Edge(INPUT, OUTPUT, "out")],
            [Edge("0.0", "1.0", "v"), Edge("1.0", OUTPUT, "out")],
            [Edge(INPUT, "0.0", "k"), Edge("0.0", "1.0", "v"), Edge("1.0", OUTPUT, "out")]]
    present = torch.tensor([[e in r for e in order] for r in rows])
    kept = ugs.DanglingFilter(graph).keep(present)
    assert [[e for e, k in zip(order, row) if k] for row in kept.tolist()] == [[Edge(INPUT, OUTPUT, "out")], [], rows[2]]


def test_ugs_node_regulariser_by_hand():
    """The same graph, every p = 0.1: head 0.0 has 3 incoming edges (q, k, v from INPUT) and 4 outgoing
    (1.0's q, k, v and OUTPUT), head 1.0 has 6 incoming and 1 outgoing, so s = 0.7 for each and the term is
    2 * tanh(2 * 0.7 / 2) * 2 / 2 = 2 tanh(0.7) (L H = 2). MIB's weight: min(1e-3 / 2, 2e-4) = 2e-4."""
    import math

    graph = CircuitGraph(2, 1, True)
    p = torch.full((len(graph.additive),), 0.1)
    assert float(ugs.NodeTerm(graph)(p)) == pytest.approx(2 * math.tanh(0.7), abs=1e-6)
    assert ugs.Config().node_weight == 2e-4 and ugs.Config(lamb=1e-4).node_weight == 5e-5


def test_ugs_masked_forward_is_clean_at_mask_1_and_corrupted_at_mask_0(mlp_toy):
    from bench.graph import edge_hooks
    from methods.base import hook_flags
    from methods.edge_attribution import _sender_acts

    model, prompts = mlp_toy
    fwd = ugs.MaskedForward(model)
    n, n_edges = len(prompts.clean), len(fwd.graph.edges)
    with hook_flags(model, **edge_hooks(model.cfg)), torch.no_grad():
        cf = _sender_acts(model, prompts.corrupted.tokens)
        kept = fwd.logits(prompts.clean.tokens, cf, torch.ones(n, n_edges))
        cut = fwd.logits(prompts.clean.tokens, cf, torch.zeros(n, n_edges))
        assert torch.allclose(kept, model(prompts.clean.tokens), atol=1e-5)
        assert torch.allclose(cut, model(prompts.corrupted.tokens), atol=1e-4)


def test_ugs_training_moves_a_dead_edge_by_lr_per_step_and_keeps_a_live_one():
    """The toy's head writes 0, so its edges change nothing and only lambda * p pulls on them: AdamW's
    step is lr * m_hat / sqrt(v_hat) = lr for a gradient of constant sign, so theta goes 1 -> 1 - 10 * 1e-2
    after 10 steps (MIB's init 1 and lr 1e-2). m0 -> OUTPUT carries the whole clean/corrupted difference
    (the MLP writes 2 on token 0, 0 on token 1), so KL pushes its p up past sigmoid(1)."""
    import math

    model, prompts = _toy(), _prompts([0, 0], [1, 1])
    s = ugs.ugs_scores(model, prompts, ugs.Config(steps=10, batch_size=2), 0)
    assert _score(s, "0.0", OUTPUT, "out") == pytest.approx(1 / (1 + math.exp(-0.9)), abs=1e-4)
    assert _score(s, INPUT, "0.0", "v") == pytest.approx(1 / (1 + math.exp(-0.9)), abs=1e-4)
    assert _score(s, "m0", OUTPUT, "out") > 1 / (1 + math.exp(-1.0))


def test_eap_ig_activations_at_one_step_equals_eap_on_edges_into_the_output(mlp_toy):
    """With steps = 1 every run sits at alpha = 1 (the clean activations), and the final residual stream's
    gradient is reached in every run whatever is replaced (the residual path), so edges into OUTPUT
    score exactly EAP's, on a LayerNorm model with padded prompts. Edges into the first layer's heads
    lose the runs that replace their own attention or anything their gradient flows through."""
    from methods.edge_attribution import edge_attribution

    model, prompts = mlp_toy
    graph = CircuitGraph(2, 2, False)
    ours = eap_ig_activations.ig_activation_scores(model, prompts, steps=1)
    ref = edge_attribution(model, prompts)
    incoming = lambda r, port: [i for i, e in enumerate(graph.edges) if (e.receiver, e.port) == (r, port) and not e.internal]  # noqa: E731
    into_output = torch.tensor(incoming(OUTPUT, "out"))
    assert torch.allclose(ours[into_output], ref[into_output], atol=1e-5)
    into_head = torch.tensor(incoming("0.0", "v"))
    assert not torch.allclose(ours[into_head], ref[into_head], atol=1e-3)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(n_samples=0), dict(batch_size=0), dict(clip=0.0), dict(node_reg=-1e-4)])
def test_ugs_settings_out_of_range_are_rejected(bad):
    with pytest.raises(ValueError):
        ugs.Config(**bad)
