"""tracr-compiled models: third-party ground truth (auto-circuit's official edges) that runs offline."""
import numpy as np

from bench.metrics import roc_auc
from bench.models.registry import load_model
from bench.tasks import get_task
from ground_truth import load as load_gt
from methods import METHODS


def test_tracr_reverse_circuit_is_found_by_eap_and_patching():
    lm = load_model("tracr-reverse", "cpu")
    prompts = get_task("tracr_reverse").build(lm, 30, seed=0)
    gt = load_gt("tracr_reverse", None, lm.graph)
    assert gt.heads == {"3.0"} and len(lm.graph.edges) == 34
    # the compiled model does the task exactly: logit difference +1 on clean, -1 on corrupted prompts
    from bench.tasks.base import last_logits
    clean = prompts.metric(last_logits(lm.model(prompts.clean.tokens), prompts.clean))
    assert np.allclose(clean.detach().numpy(), 1.0, atol=1e-3)
    eap = METHODS["eap"].run(lm.model, prompts, METHODS["eap"].config(), 0)
    labels = np.array([e in gt.edges for e in lm.graph.edges])
    assert roc_auc(eap.edges.flat().numpy(), labels) == 1.0
    ap = METHODS["activation_patching"].run(lm.model, prompts, METHODS["activation_patching"].config(), 0)
    assert lm.graph.nodes[int(ap.nodes.flat().argmax())] == "3.0"


def test_tracr_xproportion_ground_truth_folds_its_mlp():
    lm = load_model("tracr-xproportion", "cpu")
    gt = load_gt("tracr_xproportion", None, lm.graph)
    assert gt.mlps == {"m0"} and {str(e) for e in gt.edges} == {"INPUT->1.0[v]", "1.0->OUTPUT[out]"}
    prompts = get_task("tracr_xproportion").build(lm, 10, seed=1)
    assert float(prompts.corrupted.tokens.eq(3).sum()) == 0  # corrupted prompts hold no "x" (id 3)
