"""The planted-circuit models: their circuits recomputed from the weights here (not read from the files'
evidence): resample-ablating everything outside the ground-truth circuit, from the task's negatives and from
other inputs, keeps the metric (the test's own node hooks; edges through the edge patcher, checked against
auto-circuit), ablating the circuit destroys it, each high-level edge matters, and interchanges hold."""
import copy

import pytest
import torch

from bench.models.planted import MODELS
from bench.models.registry import load_model
from bench.planting import recipe
from bench.planting.certify import version_edges
from bench.planting.edge_patch import EdgeAblation, kept_edges, patched_logits
from bench.planting.siit import interchange_accuracy
from bench.tasks import TASKS
from bench.tasks.base import last_logits
from ground_truth import load as load_gt
from ground_truth.loader import path_for as gt_path, read as read_gt_file

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


# The certificate's bounds (issue 20): keeping only the circuit keeps 0.9-1.1 of the metric, from the negatives
# and from other inputs; ablating the circuit keeps at most 0.1; patching one high-level edge's low-level edges
# costs the siit.v2 circuit at least 0.1 of the metric
KEPT, DROPPED, EDGE_MOVE = (0.9, 1.1), 0.1, 0.1
# Shipped models that fail a bound, with what was measured (the evidence in their ground-truth files); each is
# to be retrained, never the bound loosened. strict=True: a model that starts passing fails its xfail.
NODE_FAILS = {"planted_ioi": "keeps 1.18 of the metric from the negatives",
              "planted_reverse": "keeps 1.69 of the metric from the negatives"}
EDGE_FAILS = {"planted_ioi": "siit.v2's edges keep 0.26 from the negatives, -0.03 from other inputs",
              "planted_reverse": "siit.v2's edges keep -0.99 from the negatives, 0.03 from other inputs",
              "planted_frac": "siit.v2's edges keep 0.80 from the negatives",
              "planted_ioi_32": "siit.v2's edges keep 0.01 from other inputs; INPUT -> name_mover [v] moves nothing",
              "planted_greater_32": "siit.v2's edges keep 0.45 from the negatives, 0.70 from other inputs",
              "planted_docstring_32": "siit.v2's edges keep -0.10 from the negatives, -0.22 from other inputs; "
                                      "INPUT -> argument_mover [v] moves nothing",
              "planted_reverse_32": "siit.v2's edges keep -1.00 from the negatives, -0.01 from other inputs; "
                                    "INPUT -> reverse [v] moves nothing"}


def _known(fails: dict[str, str]) -> list:
    return [pytest.param(t, marks=pytest.mark.xfail(reason=fails[t.name], strict=True)) if t.name in fails else t
            for t in PLANTED_TASKS]


def _mean_metric(prompts, logits) -> float:
    return prompts.metric(last_logits(logits, prompts.clean)).mean().item()


def _edge_kept(lm, prompts, source_tokens, ablation) -> float:
    """Metric kept with ``ablation``'s edges carrying their senders' outputs on ``source_tokens``."""
    m = copy.deepcopy(lm.model)
    return _mean_metric(prompts, patched_logits(m, prompts.clean.tokens, source_tokens, ablation)) / \
        _mean_metric(prompts, lm.model(prompts.clean.tokens))


def _sources(task, lm):
    """300 task prompts the files' certificates never saw, their negatives, and other inputs of the task."""
    prompts = task.build(lm, 300, seed=4242)
    other = task.build(lm, 300, seed=4343).clean.tokens
    assert other.shape == prompts.clean.tokens.shape
    return prompts, {"negatives": prompts.corrupted.tokens, "other inputs": other}


@pytest.mark.parametrize("task", _known(NODE_FAILS), ids=[t.name for t in PLANTED_TASKS])
@torch.no_grad()
def test_circuit_is_sufficient_and_necessary_from_the_weights(task):
    """Two-sided, from both sources, recomputed with this test's own hooks."""
    lm = load_model(task.gt_model, "cpu")
    gt = load_gt(task.name, task.default_gt, lm.graph)
    circuit = sorted(gt.heads | gt.mlps)
    everything = list(lm.graph.nodes) + list(lm.graph.mlps)
    others = [c for c in everything if c not in circuit]
    prompts, sources = _sources(task, lm)
    full = _mean_metric(prompts, lm.model(prompts.clean.tokens))
    for name, tokens in sources.items():
        kept = _metric_with(lm.model, prompts, tokens, others) / full
        assert KEPT[0] <= kept <= KEPT[1], (task.name, name, kept)  # the rest may come from another input
    # without the circuit the behaviour is gone (from the negatives: from other inputs a real-valued output
    # keeps its mean, so the ratio of means says nothing there)
    dropped = _metric_with(lm.model, prompts, sources["negatives"], circuit) / full
    assert dropped <= DROPPED, (task.name, dropped)
    assert len(gt.heads) <= 0.35 * len(lm.graph.nodes)
    if lm.graph.mlps:
        assert 0 < len(gt.mlps) < len(lm.graph.mlps)  # MLPs inside and outside the circuit


@pytest.mark.parametrize("task", _known(EDGE_FAILS), ids=[t.name for t in PLANTED_TASKS])
@torch.no_grad()
def test_v2_edges_suffice_and_each_high_level_edge_matters(task):
    """siit.v2's edges alone (every other edge patched) keep 0.9-1.1 of the metric from both
    sources, and each high-level edge the file names matters to that circuit: patching its low-level edges
    too moves the metric by at least EDGE_MOVE, from the negatives or from other inputs (the negatives change
    one token, so an edge that reads another can only be shown from other inputs). Within the circuit, not
    alone in the full model: a value the model also carries on edges outside the circuit (planted-ioi's names
    reach the name movers both from the embeddings and through the duplicate-token heads) would hide an edge
    the circuit needs; the files' evidence records both."""
    lm = load_model(task.gt_model, "cpu")
    data = read_gt_file(gt_path(task.name, "siit.v2"))
    prompts, sources = _sources(task, lm)
    cfg = lm.model.cfg
    kept = kept_edges(data["edges"])
    in_circuit = {name: _edge_kept(lm, prompts, tokens, EdgeAblation.patching_all_but(cfg, kept))
                  for name, tokens in sources.items()}
    for name, frac in in_circuit.items():
        assert KEPT[0] <= frac <= KEPT[1], (task.name, name, frac)
    for sender, receiver, ports in data["causal_edges"]:
        members = kept_edges(version_edges(cfg, data["groups"], [[data["mapping"].get(sender, sender),
                                                                  data["mapping"].get(receiver, receiver), ports]]))
        ablation = EdgeAblation.patching_all_but(cfg, kept - members)
        moves = {name: in_circuit[name] - _edge_kept(lm, prompts, tokens, ablation) for name, tokens in sources.items()}
        assert max(moves.values()) >= EDGE_MOVE, (task.name, sender, receiver, ports, moves)


def test_edge_patching_hooks_equal_auto_circuit():
    """The hooks the certificates and the edge-level strict loss patch edges with give auto-circuit's
    patched metric (a different implementation: wrapped modules and patch masks) on a planted model."""
    from auto_circuit.utils.ablation_activations import src_ablations
    from auto_circuit.utils.graph_utils import patch_mode

    from bench.patching import patchable

    lm = load_model("planted-ioi", "cpu")
    prompts = TASKS["planted_ioi"].build(lm, 64, seed=7)
    kept = kept_edges(read_gt_file(gt_path("planted_ioi", "siit.v1"))["edges"])
    placeholder = list(torch.zeros(64, 1, dtype=torch.long))
    bridge = patchable(lm.model, prompts.clean.tokens, prompts.corrupted.tokens, prompts.clean.lengths - 1,
                       placeholder, placeholder)
    bridge.set_patched(torch.tensor([(e.sender, e.receiver, e.port) not in kept for e in lm.graph.edges]))
    with patch_mode(bridge.pm, src_ablations(bridge.pm, prompts.corrupted.tokens)):
        patched = bridge.pm(prompts.clean.tokens)
    theirs = _mean_metric(prompts, patched) / _mean_metric(prompts, lm.model(prompts.clean.tokens))
    ours = _edge_kept(lm, prompts, prompts.corrupted.tokens, EdgeAblation.patching_all_but(lm.model.cfg, kept))
    assert abs(theirs - ours) < 1e-4, (theirs, ours)
    assert abs(ours - 1) > 0.05  # the patch does something


@pytest.mark.parametrize("planted", MODELS, ids=[p.name for p in MODELS])
def test_interchanges_hold_on_fresh_pairs(planted):
    rec = recipe(planted.module)
    model = load_model(planted.name, "cpu").model
    gen = torch.Generator().manual_seed(12345)
    iia = interchange_accuracy(model, rec.high_level(), rec.component_mapping, gen, 200)
    assert min(iia.values()) >= 0.9, iia  # every variable, all its components swapped together


def test_docstring32_readout_labels_are_the_previous_argument_and_x():
    """The training's readout labels (planted-docstring-32's PREV and LAST where they live) are, read off the
    prompt by hand: the token one position back at signature slots 1-4, and the name on the last :param line."""
    from bench.models.planted import docstring32 as world

    batch = world.HighLevel().sample(torch.Generator().manual_seed(3), 64)
    labels = world.HighLevel().readouts(batch)
    toks = batch.tokens
    for row in range(len(toks)):
        prev = {p: int(labels["PREV"][row, p]) for p in range(toks.shape[1]) if labels["PREV"][row, p] >= 0}
        signature = [p for p in range(toks.shape[1]) if int(toks[row, p]) in world.NAMES.tolist()][:world.N_ARGS]
        assert sorted(prev) == signature[1:]  # the four slots after the first, nowhere else
        assert all(v == int(toks[row, p - 1]) for p, v in prev.items())
        assert int(labels["LAST"][row, world.POS_END]) == int(toks[row, world.POS_PARAM1 + 1])
        assert (labels["LAST"][row] >= 0).sum() == 1


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
