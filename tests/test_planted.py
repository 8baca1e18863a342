"""The planted-circuit models: their ground truth passes its own certification, and it holds when
checked again here (fewer samples, other seeds)."""
import json

import pytest
import torch

from bench.models.planted import MODELS
from bench.models.planted import siit
from bench.models.planted.common import load, recipe_for
from bench.models.registry import load_model
from bench.tasks import TASKS
from ground_truth import load as load_gt
from ground_truth.loader import ROOT


@pytest.mark.parametrize("planted", MODELS, ids=[p.name for p in MODELS])
def test_certificate_meets_the_bar(planted):
    recipe = recipe_for(planted)
    data = json.loads((ROOT / recipe.task / "siit.v1.json").read_text())
    ev = data["evidence"]
    assert ev["heads_in_circuit"] <= 0.35 * ev["heads_total"] and ev["task_accuracy"] > 0.95
    assert min(ev["interchange_accuracy"].values()) > 0.85
    for source in ("resample_ablation_from_negatives", "resample_ablation_from_other_inputs"):
        assert ev[source]["fraction_kept_ablating_all_non_circuit"] >= 0.9, source
        assert ev[source]["fraction_kept_ablating_circuit"] <= 0.1, source
    if ev["mlps_total"]:
        assert 0 < ev["mlps_in_circuit"] < ev["mlps_total"]  # MLPs inside and outside the circuit
    assert ev["training"]["train_seconds"] < 600 and data["mapping"] == recipe.mapping


@pytest.mark.parametrize("planted", MODELS, ids=[p.name for p in MODELS])
def test_interchanges_hold_on_fresh_pairs(planted):
    recipe = recipe_for(planted)
    model = load(planted)
    gen = torch.Generator().manual_seed(12345)
    iia = siit.interchange_accuracy(model, recipe.high_level(), recipe.mapping, gen, 200)
    assert min(iia.values()) > 0.8, iia


def test_tasks_fit_their_models():
    for task in (t for t in TASKS.values() if t.suite == "planted"):
        lm = load_model(task.gt_model, "cpu")
        gt = load_gt(task.name, task.default_gt, lm.graph)
        prompts = task.build(lm, 16, seed=0)
        with torch.no_grad():
            from bench.tasks.base import last_logits

            clean = prompts.metric(last_logits(lm.model(prompts.clean.tokens), prompts.clean)).mean()
            corrupt = prompts.metric(last_logits(lm.model(prompts.corrupted.tokens), prompts.corrupted)).mean()
        assert clean > corrupt, task.name  # the behaviour is there on positives, not on negatives
        assert gt.heads and gt.edges
