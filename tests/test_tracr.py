"""tracr-compiled models: third-party ground truth (auto-circuit's official edges) that runs offline."""
import numpy as np
import torch

from bench.graph import Edge
from bench.metrics import roc_auc
from bench.models.registry import load_model
from bench.tasks import get_task
from bench.tasks.base import last_logits
from ground_truth import load as load_gt
from methods import METHODS


def test_tracr_reverse_circuit_is_found_by_eap_and_patching():
    lm = load_model("tracr-reverse", "cpu")
    prompts = get_task("tracr_reverse").build(lm, 30, seed=0)
    gt = load_gt("tracr_reverse", "miller2024.v2", lm.graph)
    assert gt.heads == {"3.0"} and len(lm.graph.edges) == 89
    # the compiled model does the task exactly: logit difference +1 on clean prompts
    clean = prompts.metric(last_logits(lm.model(prompts.clean.tokens), prompts.clean))
    assert np.allclose(clean.detach().numpy(), 1.0, atol=1e-3)
    eap = METHODS["eap"].run(lm.model, prompts, METHODS["eap"].config(), 0)
    labels = np.array([e in gt.edges for e in lm.graph.edges])
    assert roc_auc(eap.edges.flat().abs().numpy(), labels) > 0.95  # measured 0.99: only the true edges matter
    ap = METHODS["activation_patching"].run(lm.model, prompts, METHODS["activation_patching"].config(), 0)
    assert lm.graph.nodes[int(ap.nodes.flat().argmax())] == "3.0"


def test_tracr_xproportion_ground_truth_names_its_mlp():
    lm = load_model("tracr-xproportion", "cpu")
    gt = load_gt("tracr_xproportion", "miller2024.v2", lm.graph)
    assert gt.mlps == {"m0"} and gt.edges == {Edge("INPUT", "m0", "in"), Edge("m0", "1.0", "v"),
                                              Edge("1.0", "1.0", "v"), Edge("1.0", "OUTPUT", "out")}
    prompts = get_task("tracr_xproportion").build(lm, 10, seed=1)
    assert float(prompts.corrupted.tokens.eq(3).sum()) == 0  # corrupted prompts hold no "x" (id 3)


def test_sae_codes_mlp_nodes_rank_the_ground_truth_mlp_on_xproportion(tmp_path):
    """mlp_nodes adds each layer's MLP output as an SAE row; level node_mlp ranks heads and MLPs together
    against ground truth that names MLPs (xproportion: head 1.0 and MLP m0)."""
    from bench.harness import RunSpec, run_one

    out = run_one(RunSpec("sae_codes", "tracr_xproportion", "tracr-xproportion", 0, overrides=(("mlp_nodes", "true"),)),
                  cache_dir=tmp_path)
    assert len(out["scores"]["mlp_scores"]) == 2
    row = next(r for r in out["rows"] if r["level"] == "node_mlp")
    assert row["auc"] >= 0.75 and torch.isfinite(torch.tensor(row["null_auc"]))
