"""EAP-IG-activations (Marks et al. 2024's integrated gradients on activations; MIB's
``get_scores_ig_activations`` in hannamw/EAP-IG): the gradient at every receiver is averaged over runs on
the clean prompt in which one sublayer at a time (the embeddings, then per layer all of its heads, then
its MLP) has its output replaced by ``alpha * clean + (1 - alpha) * corrupted`` for alpha = k/steps,
k = 1..steps (MIB's default 5 steps). Every run contributes to every edge's gradient, and the average is
over all ``n_sublayers * steps`` runs, as in MIB's code; a replaced output is a constant, so in runs that
replace a sublayer its own input gradient is zero. Edge score = -(mean over prompts) of (corrupted -
clean sender output) . averaged receiver gradient, the sign and units of :mod:`methods.edge_attribution`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from bench.tasks.base import PromptBatch, TaskMetric, TaskPrompts, last_logits
from bench.graph import edge_hooks
from methods.base import MethodResult, batches, graph_of, hook_flags
from methods.edge_attribution import _sender_acts, add_port_scores, port_groups

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

RESID_PRE = "blocks.0.hook_resid_pre"


@dataclass(frozen=True)
class Config:
    steps: int = 5  # MIB's run_attribution.py --ig-steps default
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be at least 1")

    @property
    def alphas(self) -> list[float]:
        return [k / self.steps for k in range(1, self.steps + 1)]


def sublayers(model: "HookedTransformer") -> list[tuple[str, slice]]:
    """(output hook, its senders' slice in :attr:`CircuitGraph.senders`) for the embeddings, then per layer
    its attention (all heads at once, MIB's ``a{L}.h0`` node with the layer slice) and its MLP."""
    cfg = model.cfg
    out, i = [(RESID_PRE, slice(0, 1))], 1
    for layer in range(cfg.n_layers):
        out.append((f"blocks.{layer}.attn.hook_result", slice(i, i + cfg.n_heads)))
        i += cfg.n_heads
        if not cfg.attn_only:
            out.append((f"blocks.{layer}.hook_mlp_out", slice(i, i + 1)))
            i += 1
    return out


def _receiver_names(model: "HookedTransformer") -> list[str]:
    cfg = model.cfg
    names = [f"blocks.{i}.hook_{p}_input" for i in range(cfg.n_layers) for p in "qkv"]
    names.append(f"blocks.{cfg.n_layers - 1}.hook_resid_post")
    if not cfg.attn_only:
        names += [f"blocks.{i}.hook_mlp_in" for i in range(cfg.n_layers)]
    return names


def interpolated_grads(model: "HookedTransformer", batch: PromptBatch, metric: TaskMetric, hook: str,
                       value: torch.Tensor) -> dict[str, torch.Tensor]:
    """Receiver gradients of the summed metric on ``batch`` with ``hook``'s output replaced by ``value``."""
    grads: dict[str, torch.Tensor] = {}

    def save(t: torch.Tensor, hook) -> None:
        if t.requires_grad:
            t.register_hook(lambda g, name=hook.name: grads.__setitem__(name, g.detach()))

    def start(t: torch.Tensor, hook) -> torch.Tensor:  # weights are frozen: the graph starts at the embeddings
        return t.detach().requires_grad_(True)

    def replace(t: torch.Tensor, hook) -> torch.Tensor:
        return value.clone().requires_grad_(True) if hook.name == RESID_PRE else value

    fwd = [(RESID_PRE, start), (hook, replace)] + [(n, save) for n in _receiver_names(model)]
    with torch.enable_grad():
        logits = model.run_with_hooks(batch.tokens, fwd_hooks=fwd)
        metric(last_logits(logits, batch)).sum().backward()
    return grads


def ig_activation_scores(model: "HookedTransformer", prompts: TaskPrompts, steps: int = 5,
                         batch_size: int = 32) -> torch.Tensor:
    """Signed edge scores aligned with ``graph.edges`` (see the module docstring)."""
    cfg = model.cfg
    graph = graph_of(model)
    scores = torch.zeros(len(graph.edges), device=cfg.device)
    groups, subs = port_groups(graph), sublayers(model)
    alphas = Config(steps=steps).alphas
    runs = len(subs) * len(alphas)
    with hook_flags(model, **edge_hooks(model.cfg)):
        for sl in batches(len(prompts.clean), batch_size):
            clean, corrupt = prompts.clean.take(sl).to(cfg.device), prompts.corrupted.take(sl).to(cfg.device)
            metric = prompts.metric.take(sl)
            mask = clean.position_mask()[:, :, None, None].to(scores.dtype)
            acts_clean, acts_corrupt = _sender_acts(model, clean.tokens), _sender_acts(model, corrupt.tokens)
            grads: dict[str, torch.Tensor] = {}
            for hook, senders in subs:
                a_clean, a_corrupt = acts_clean[:, :, senders], acts_corrupt[:, :, senders]
                if senders.stop - senders.start == 1 and not hook.endswith("hook_result"):
                    a_clean, a_corrupt = a_clean[:, :, 0], a_corrupt[:, :, 0]
                for a in alphas:
                    for k, v in interpolated_grads(model, clean, metric, hook, a * a_clean + (1 - a) * a_corrupt).items():
                        grads[k] = grads[k] + v / runs if k in grads else v / runs
            b, t, _, d = acts_clean.shape
            for k in _receiver_names(model):  # a receiver no run's gradient reached contributes nothing
                if k not in grads:
                    head_port = k.endswith(("q_input", "k_input", "v_input"))
                    grads[k] = torch.zeros((b, t, cfg.n_heads, d) if head_port else (b, t, d), device=cfg.device)
            add_port_scores(scores, groups, (acts_corrupt - acts_clean) * mask, grads, cfg.n_layers)
    scores /= -len(prompts.clean)
    return graph.fold_internal(scores.cpu(), reduce="sum")


def run(model, prompts: TaskPrompts, config: Config, seed: int) -> MethodResult:
    signed = ig_activation_scores(model, prompts, config.steps, config.batch_size)
    return MethodResult.from_edges(graph_of(model), signed, ablation="corrupted-patching",
                                   diagnostics={"steps": config.steps})
