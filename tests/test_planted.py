"""The planted-circuit models: their circuits recomputed from the weights here (not read from the files'
evidence), with the test's own hooks: resample-ablating everything outside the ground-truth circuit from
the task's negatives keeps the metric, ablating the circuit destroys it, and interchanges hold."""
import pytest
import torch

from bench.models.planted import MODELS
from bench.models.registry import load_model
from bench.planting import recipe
from bench.planting.siit import interchange_accuracy
from bench.tasks import TASKS
from bench.tasks.base import last_logits
from ground_truth import load as load_gt

PLANTED_TASKS = [t for t in TASKS.values() if t.suite == "planted"]


def _hook(component: str) -> tuple[str, int | None]:
    if component.startswith("m"):
        return f"blocks.{component[1:]}.hook_mlp_out", None
    layer, head = component.split(".")
    return f"blocks.{layer}.attn.hook_z", int(head)


def _metric_with(model, prompts, source_tokens, components) -> float:
    """Mean task metric on the clean prompts with ``components`` taking their activations from ``source_tokens``."""
    hooks = [_hook(c) for c in components]
    names = {n for n, _ in hooks}
    _, cache = model.run_with_cache(source_tokens, names_filter=lambda n: n in names)

    def patch(x, hook):
        x = x.clone()
        for name, head in hooks:
            if name == hook.name:
                if head is None:
                    x[:] = cache[name]
                else:
                    x[:, :, head] = cache[name][:, :, head]
        return x

    logits = model.run_with_hooks(prompts.clean.tokens, fwd_hooks=[(n, patch) for n in names])
    return prompts.metric(last_logits(logits, prompts.clean)).mean().item()


@pytest.mark.parametrize("task", PLANTED_TASKS, ids=[t.name for t in PLANTED_TASKS])
@torch.no_grad()
def test_circuit_is_sufficient_and_necessary_from_the_weights(task):
    lm = load_model(task.gt_model, "cpu")
    gt = load_gt(task.name, task.default_gt, lm.graph)
    circuit = sorted(gt.heads | gt.mlps)
    everything = list(lm.graph.nodes) + list(lm.graph.mlps)
    others = [c for c in everything if c not in circuit]
    prompts = task.build(lm, 300, seed=4242)  # prompts the certificate in the file never saw
    full = prompts.metric(last_logits(lm.model(prompts.clean.tokens), prompts.clean)).mean().item()
    kept = _metric_with(lm.model, prompts, prompts.corrupted.tokens, others) / full
    dropped = _metric_with(lm.model, prompts, prompts.corrupted.tokens, circuit) / full
    assert kept >= 0.9, (task.name, kept)  # sufficient: the rest can be taken from the negatives
    assert dropped <= 0.1, (task.name, dropped)  # necessary: without it the behaviour is gone
    assert len(gt.heads) <= 0.35 * len(lm.graph.nodes)
    if lm.graph.mlps:
        assert 0 < len(gt.mlps) < len(lm.graph.mlps)  # MLPs inside and outside the circuit


@pytest.mark.parametrize("planted", MODELS, ids=[p.name for p in MODELS])
def test_interchanges_hold_on_fresh_pairs(planted):
    rec = recipe(planted.module)
    model = load_model(planted.name, "cpu").model
    gen = torch.Generator().manual_seed(12345)
    iia = interchange_accuracy(model, rec.high_level(), rec.component_mapping, gen, 200)
    assert min(iia.values()) > 0.8, iia


def test_tasks_fit_their_models():
    for task in PLANTED_TASKS:
        lm = load_model(task.gt_model, "cpu")
        prompts = task.build(lm, 16, seed=0)
        with torch.no_grad():
            clean = prompts.metric(last_logits(lm.model(prompts.clean.tokens), prompts.clean)).mean()
            corrupt = prompts.metric(last_logits(lm.model(prompts.corrupted.tokens), prompts.corrupted)).mean()
        assert clean > corrupt, task.name  # the behaviour is there on positives, not on negatives


def test_recipes_plant_the_ground_truths_nodes():
    """The mapping a model was trained with is the circuit its ground-truth file names."""
    for task in PLANTED_TASKS:
        lm = load_model(task.gt_model, "cpu")
        gt = load_gt(task.name, task.default_gt, lm.graph)
        module = next(p.module for p in MODELS if p.name == task.gt_model)
        assert set(recipe(module).circuit) == set(gt.heads | gt.mlps), task.name
