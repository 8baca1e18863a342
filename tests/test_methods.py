import inspect
import math
from pathlib import Path

import pytest
import torch

import methods
from bench.graph import CircuitGraph, Edge
from bench.import_graph import reachable
from bench.tasks import get_task
from methods import METHODS
from methods.sae_codes import Config, ReleasedSAE, codes, edge_scores_from_pairs, fit_sae, node_scores, pair_scores


ROOT = Path(methods.__file__).resolve().parent.parent
# What must stay out of reach of every method and task: the ground-truth files' loader and rules, the code
# that resolves, parses and scores ground truth, the report, and the planted models' recipes (mappings).
FORBIDDEN = ("ground_truth", "bench.harness", "bench.truth", "bench.scoring", "bench.report", "bench.planting")


def _path(seen: dict[str, str], mod: str) -> str:
    chain = [mod]
    while seen[chain[-1]]:
        chain.append(seen[chain[-1]])
    return " <- ".join(chain)


def _starts() -> list[str]:
    mods = [f"methods.{p.stem}" for p in (ROOT / "methods").glob("*.py") if p.stem != "__init__"] + ["methods"]
    return mods + [f"bench.tasks.{p.stem}" for p in (ROOT / "bench" / "tasks").glob("*.py") if p.stem != "__init__"]


def test_methods_and_tasks_cannot_reach_ground_truth():
    """No method or task module reaches ground truth, its parsing or scoring, the report or a planted
    recipe through any chain of imports; and the protocol hands over model, prompts, settings and seed."""
    for start in _starts():
        seen = reachable(start)
        bad = [m for m in seen if m.startswith(FORBIDDEN)]
        assert not bad, _path(seen, bad[0])
    for spec in METHODS.values():
        assert list(inspect.signature(spec.run).parameters) == ["model", "prompts", "config", "seed"]


def test_the_import_guard_sees_a_path_two_modules_deep(tmp_path, monkeypatch):
    """The guard follows imports transitively: a module that reaches ground truth through another is caught."""
    reached = reachable("bench.harness")
    assert "ground_truth" in reached and any(m.startswith("ground_truth.") for m in reached)
    assert "ground_truth.loader" in reachable("bench.truth")


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


@pytest.mark.parametrize("mse", ["mean", "sum"])
@pytest.mark.parametrize("branch", ["sparse", "dense"])
def test_released_step_gradients_equal_autograd(monkeypatch, mse, branch):
    """The hand-written step of the released SAE (loss, four gradients, both hooks' projections) against
    autograd on the same state: at the start (half the units active) and after 60 Adam steps (sparse)."""
    import copy

    import methods.sae_codes as sc

    monkeypatch.setattr(sc, "SPARSE_BELOW", 1.1 if branch == "sparse" else 0.0)
    cfg = Config(n_hidden=24, l1=0.3 * (16 if mse == "sum" else 1), mse=mse)  # sum: 16 x the mean's MSE
    x = torch.randn(60, 16, generator=torch.Generator().manual_seed(0)) * 3 + 1
    sae = ReleasedSAE(16, 24, torch.Generator().manual_seed(1))
    opt = torch.optim.Adam(sae.parameters(), lr=1e-2)
    for epoch in range(61):
        if epoch in (0, 60):
            hand = copy.deepcopy(sae)
            loss_hand = sc.released_step(hand, x, cfg)
            loss_ref = sc.autograd_step(sae, x, cfg)
            assert loss_hand == pytest.approx(loss_ref, rel=1e-5)
            for (name, p), q in zip(sae.named_parameters(), hand.parameters()):
                assert (q.grad - p.grad).abs().max() <= 1e-5 * p.grad.abs().max(), name  # float rounding
        else:
            sc.autograd_step(sae, x, cfg)
        opt.step()
    with torch.no_grad():
        active = (sae.encode(x) > 0).float().mean().item()
    assert 0 < active < 0.5  # the late state is sparse enough to exercise skipping


def test_fit_sae_follows_the_autograd_fit():
    """fit_sae (hand-written step, fused Adam) against autograd with plain Adam over 40 epochs: the same loss
    curve to float rounding (a gradient laid out unlike its parameter once made the fused update garbage)."""
    import methods.sae_codes as sc

    cfg = Config(n_hidden=24, epochs=40, lr=1e-2, l1=0.3)
    x = torch.randn(60, 16, generator=torch.Generator().manual_seed(0)) * 3 + 1
    _, diag = sc.fit_sae(x, cfg, seed=1)
    sae = ReleasedSAE(16, 24, torch.Generator().manual_seed(1))
    opt = torch.optim.Adam(sae.parameters(), lr=1e-2)
    for _ in range(40):
        loss = sc.autograd_step(sae, x, cfg)
        opt.step()
    assert diag["final_loss"] == pytest.approx(loss, rel=1e-3)


def test_pair_scores_by_blocks_equal_brute_force():
    """pair_scores' renumbered-code tables against a brute-force set count, in one block and one head a block."""
    import methods.sae_codes as sc

    gen = torch.Generator().manual_seed(0)
    pos, neg = torch.randint(0, 9, (40, 5), generator=gen), torch.randint(0, 9, (30, 5), generator=gen)
    pos[:, 2] = 4  # a head with a single code
    brute = [[len({(p[i].item(), p[j].item()) for p in pos} - {(n[i].item(), n[j].item()) for n in neg})
              for j in range(5)] for i in range(5)]
    assert sc.pair_scores(pos, neg, 9).tolist() == brute
    assert sc.pair_scores(pos, neg, 9, block_cells=1).tolist() == brute


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
    assert isinstance(a.degenerate, bool)
    for key in ("l0", "dead_frac", "heads_zero_frac", "fvu", "gather_s", "fit_s"):
        assert key in a.diagnostics


def test_sae_codes_flags_a_collapsed_fit(induction_model, caplog):
    prompts = get_task("induction").build(induction_model, 40, seed=0)
    res = METHODS["sae_codes"].run(induction_model.model, prompts, Config(epochs=300, l1=50.0), 0)
    assert res.degenerate and res.diagnostics["l0"] < 1.0
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
    from bench.settings import make_config

    assert make_config(METHODS["hisp"], "induction", [("normalize", "none")]).normalize == "none"
    assert make_config(METHODS["eap_ig"], "ioi", [("grid", "endpoint")]).grid == "endpoint"
    with pytest.raises((CdbenchError, ValueError)):
        make_config(METHODS["hisp"], "induction", [("normalize", "nope")])


def test_null_control_negatives_are_other_positives_none_of_them_a_positive():
    from bench.models.registry import load_model
    from bench.null_control import null_prompts

    lm = load_model("planted-ioi", "cpu")
    task = get_task("planted_ioi")
    prompts = task.build(lm, 200, seed=3)
    null = null_prompts(task, lm, prompts, seed=3)
    assert torch.equal(null.clean.tokens, prompts.clean.tokens) and not null.paired
    pos = {tuple(r.tolist()) for r in prompts.clean.tokens}
    negs = [tuple(r.tolist()) for r in null.corrupted.tokens]
    assert negs and not pos & set(negs)  # disjoint from the positives
    # they are positives: S2 repeats A or B (a real negative names a third C there)
    from bench.models.planted.ioi import POS_A, POS_B, POS_S2

    assert len(negs) > 150 and all(r[POS_S2] in (r[POS_A], r[POS_B]) for r in negs)
    assert not any(r[POS_S2] in (r[POS_A], r[POS_B]) for r in prompts.corrupted.tokens.tolist())


def test_null_control_drops_other_positives_that_repeat_a_positive():
    """A task whose other batch repeats half of the positives: only the new half become the null's negatives;
    a task that can only repeat them has no null control."""
    import dataclasses

    from bench.models.registry import load_model
    from bench.null_control import NULL_SEED_OFFSET, null_prompts

    lm = load_model("planted-ioi", "cpu")
    real = get_task("planted_ioi")
    pos = real.build(lm, 20, seed=3)
    fresh = real.build(lm, 10, seed=99).clean

    def build(loaded, n, seed):
        assert seed == 3 + NULL_SEED_OFFSET
        mixed = type(pos.clean)(torch.cat([pos.clean.tokens[:10], fresh.tokens]), torch.cat([pos.clean.lengths[:10], fresh.lengths]))
        return dataclasses.replace(pos, clean=mixed, corrupted=mixed)

    null = null_prompts(dataclasses.replace(real, build=build), lm, pos, seed=3)
    assert torch.equal(null.corrupted.tokens, fresh.tokens)
    same = dataclasses.replace(real, build=lambda loaded, n, seed: pos)
    assert null_prompts(same, lm, pos, seed=3) is None


def test_method_code_hashes_the_method_and_the_methods_modules_it_names():
    """``method_code`` by hand on a fake tree: a.py's bytes and b.py's (which a names through ``from methods
    import b``), not the registry that import runs on the way, nor the bench module a imports; editing b
    changes a's code, editing the bench module or the registry does not."""
    import hashlib

    from bench.provenance import code_hash_with

    tree = {"methods/__init__.py": b"from methods import a, b\n",
            "methods/a.py": b"from methods import b\nfrom bench.util import f\n",
            "methods/b.py": b"import torch\nX = 1\n", "bench/__init__.py": b"", "bench/util.py": b"f = 1\n"}
    by_hand = hashlib.sha256(b"methods/a.py" + tree["methods/a.py"] + b"methods/b.py" + tree["methods/b.py"])
    assert code_hash_with("methods.a", tree.get) == by_hand.hexdigest()[:16]
    for rel, changes in (("methods/b.py", True), ("bench/util.py", False), ("methods/__init__.py", False)):
        edited = {**tree, rel: tree[rel] + b"# edited\n"}
        assert (code_hash_with("methods.a", edited.get) != by_hand.hexdigest()[:16]) is changes, rel
