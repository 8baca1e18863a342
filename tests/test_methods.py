import ast
import inspect
import math
from pathlib import Path

import pytest
import torch

import methods
from bench.graph import CircuitGraph, Edge
from bench.tasks import get_task
from methods import METHODS
from methods.sae_codes import Config, ReleasedSAE, codes, edge_scores_from_pairs, fit_sae, node_scores, pair_scores


def test_methods_cannot_reach_ground_truth():
    """No method module imports ground truth or the harness, and the protocol hands over model, prompts,
    settings and seed only."""
    for path in Path(methods.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(m.startswith("ground_truth") or m in ("bench.harness", "bench.report") for m in imported), (path, imported)
    for spec in METHODS.values():
        assert list(inspect.signature(spec.run).parameters) == ["model", "prompts", "config", "seed"]


def test_node_and_pair_scores_count_codes_unique_to_positives():
    pos = torch.tensor([[1, 5], [2, 5], [1, 6]])  # [prompts, heads]
    neg = torch.tensor([[1, 5], [3, 5]])
    assert node_scores(pos, neg, 8).tolist() == [1, 1]  # head0: {1,2}-{1,3} = {2}; head1: {5,6}-{5} = {6}
    pairs = pair_scores(pos, neg, 8)
    brute = [[len({(p[i].item(), p[j].item()) for p in pos} - {(n[i].item(), n[j].item()) for n in neg})
              for j in range(2)] for i in range(2)]
    assert pairs.tolist() == brute


def test_released_sae_keeps_encoder_and_decoder_rows_on_the_sphere():
    """The released SAE's constraint axes: encoder weight [h, d] rows and decoder weight [d, h] rows."""
    x = torch.randn(60, 16, generator=torch.Generator().manual_seed(0)) * 3
    sae, diag = fit_sae(x, Config(n_hidden=24, epochs=40, lr=1e-2), seed=1)
    assert sae.W_enc.shape == (24, 16) and sae.W_dec.shape == (16, 24)
    assert torch.allclose(sae.W_enc.norm(dim=1), torch.ones(24), atol=1e-5)
    assert torch.allclose(sae.W_dec.norm(dim=1), torch.ones(16), atol=1e-5)
    assert not torch.allclose(sae.W_dec.norm(dim=0), torch.ones(24), atol=1e-3)  # not the dictionary-vector axis
    assert diag["epochs_run"] == 40 and sae.bias.shape == (16,)


def test_released_sae_codes_by_hand():
    """codes = argmax relu((x - b) W_enc^T + b_enc), computed by hand for a 2-d input and 3 units."""
    sae = ReleasedSAE(2, 3, torch.Generator().manual_seed(0))
    with torch.no_grad():
        sae.W_enc.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]))
        sae.b_enc.copy_(torch.tensor([0.0, 0.0, 0.0]))
        sae.bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.tensor([[[2.5, 0.1], [0.6, 2.0], [1.5, 1.0]]])  # [1 prompt, 3 heads, d]
    # x - b: [2.0, 0.1] -> (2.0, 0.1, 1.28); [0.1, 2.0] -> (0.1, 2.0, 1.66); [1.0, 1.0] -> (1.0, 1.0, 1.4)
    assert codes(sae, x, 1)[0, :, 0].tolist() == [0, 1, 2]
    assert codes(sae, x, 2)[0, 2].tolist() == [2, 0] or codes(sae, x, 2)[0, 2].tolist() == [2, 1]


def test_pair_scores_map_onto_the_edge_graph():
    class M:  # just what graph_of reads
        class cfg:
            n_layers, n_heads, attn_only = 2, 1, False
    g = CircuitGraph(2, 1, attn_only=False)
    nodes = torch.tensor([3.0, 5.0])
    pairs = torch.tensor([[0.0, 7.0], [0.0, 0.0]])
    out = edge_scores_from_pairs(M, pairs, nodes, mlp_rows=False)
    at = lambda s, r, p: out[g.edge_index[Edge(s, r, p)]].item()  # noqa: E731
    assert at("0.0", "1.0", "q") == at("0.0", "1.0", "v") == 7.0  # head pair, every port
    assert at("INPUT", "1.0", "k") == 5.0 and at("0.0", "OUTPUT", "out") == 3.0 and at("1.0", "1.0", "q") == 5.0
    assert at("0.0", "m0", "in") == 3.0 and at("m0", "1.0", "v") == 5.0  # the head end without MLP rows
    assert at("INPUT", "m0", "in") == 0.0 and at("m0", "m1", "in") == 0.0 and at("INPUT", "OUTPUT", "out") == 0.0


@pytest.mark.parametrize("kwargs, message", [({"top_k": 100_000}, "top_k"), ({"l1": math.nan}, "l1"),
                                             ({"l1": -1.0}, "l1"), ({"lr": -5.0}, "lr"), ({"arch": "x"}, "arch")])
def test_sae_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Config(**kwargs)
    with pytest.raises(ValueError, match="exceeds"):
        Config(n_train_prompts=30).check_prompts(10)


def test_sae_codes_is_deterministic_and_reports_diagnostics(induction_model):
    prompts = get_task("induction").build(induction_model, 40, seed=0)
    cfg = Config(epochs=60)
    a = METHODS["sae_codes"].run(induction_model.model, prompts, cfg, 0)
    b = METHODS["sae_codes"].run(induction_model.model, prompts, cfg, 0)
    assert torch.equal(a.nodes.scores, b.nodes.scores) and torch.equal(a.edges.scores, b.edges.scores)
    for key in ("l0", "dead_frac", "heads_zero_frac", "fvu", "degenerate", "gather_s", "fit_s"):
        assert key in a.diagnostics


def test_sae_codes_flags_a_collapsed_fit(induction_model, caplog):
    prompts = get_task("induction").build(induction_model, 40, seed=0)
    res = METHODS["sae_codes"].run(induction_model.model, prompts, Config(epochs=300, l1=50.0), 0)
    assert res.diagnostics["degenerate"] and res.diagnostics["l0"] < 1.0
    assert "degenerate" in caplog.text


def test_head_outputs_stop_early_but_match_a_full_cache(induction_model):
    from methods.activations import head_outputs

    model = induction_model.model
    prompts = get_task("induction").build(induction_model, 8, seed=0)
    got = head_outputs(model, prompts.clean)
    _, cache = model.run_with_cache(prompts.clean.tokens)
    want = torch.stack([torch.einsum("bphd,hdm->bhm", cache[f"blocks.{lay}.attn.hook_z"], model.W_O[lay])
                        / prompts.clean.tokens.shape[1] for lay in range(model.cfg.n_layers)], 1)
    assert torch.allclose(got, want.reshape(got.shape), atol=1e-5)


def test_sae_codes_selected_reports_its_label_free_choice(induction_model):
    from methods import sae_codes_selected

    prompts = get_task("induction").build(induction_model, 40, seed=0)
    cfg = sae_codes_selected.Config(l1_grid=(0.01, 0.1), epochs=100)
    res = sae_codes_selected.run(induction_model.model, prompts, cfg, 0)
    d = res.diagnostics
    assert d["l1"] in (0.01, 0.1) and d["positions"] in ("mean", "last")
    assert d["candidates"].count(":") == 4 and -1.0 <= d["stability"] <= 1.0


def test_string_settings_take_the_word_as_written():
    """`--set normalize=none` is HISP's unnormalised option, not a missing value; a misspelt word is refused."""
    from bench.errors import CdbenchError
    from bench.harness import make_config

    assert make_config(METHODS["hisp"], "induction", [("normalize", "none")]).normalize == "none"
    assert make_config(METHODS["eap_ig"], "ioi", [("grid", "endpoint")]).grid == "endpoint"
    with pytest.raises((CdbenchError, ValueError)):
        make_config(METHODS["hisp"], "induction", [("normalize", "nope")])
