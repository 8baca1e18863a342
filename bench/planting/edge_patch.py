"""Edge-level resample ablation inside one differentiable TransformerLens forward, for SIIT's edge-level
strict loss: every additive edge of the graph (:mod:`bench.graph`) that is not kept carries its sender's
output on a source input, on chosen rows of the batch. The certificates measure with it; it computes
auto-circuit's edge patching (tests/test_planted.py checks the two agree), written as hooks so that
gradients flow through the kept edges: at each receiver's input,
``input + sum over patched senders (source output - this run's output)``. Needs the model flags of
:func:`bench.graph.edge_hooks`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from bench.graph import INPUT, OUTPUT, CircuitGraph, Edge, is_mlp, layer_of, parse_head


def set_edge_hooks(model, on: bool) -> None:
    """Switch the TransformerLens flags that expose every edge's sender and receiver (:func:`bench.graph.edge_hooks`)."""
    from bench.graph import edge_hooks

    for flag, value in edge_hooks(model.cfg).items():
        getattr(model, f"set_{flag}")(value if on else False)


def sender_hooks(cfg) -> list[str]:
    """The hooks whose outputs are the graph's senders: embeddings, per-head results, MLP outputs."""
    names = ["blocks.0.hook_resid_pre"] + [f"blocks.{layer}.attn.hook_result" for layer in range(cfg.n_layers)]
    return names + ([] if cfg.attn_only else [f"blocks.{layer}.hook_mlp_out" for layer in range(cfg.n_layers)])


def _sender_hook(sender: str) -> tuple[str, int | None]:
    if sender == INPUT:
        return "blocks.0.hook_resid_pre", None
    if is_mlp(sender):
        return f"blocks.{layer_of(sender)}.hook_mlp_out", None
    layer, head = parse_head(sender)
    return f"blocks.{layer}.attn.hook_result", head


def _receiver_hook(receiver: str, port: str, n_layers: int) -> tuple[str, int | None]:
    if receiver == OUTPUT:
        return f"blocks.{n_layers - 1}.hook_resid_post", None
    if is_mlp(receiver):
        return f"blocks.{layer_of(receiver)}.hook_mlp_in", None
    layer, head = parse_head(receiver)
    return f"blocks.{layer}.hook_{port}_input", head


@dataclass
class EdgeAblation:
    """Per receiver hook, per sender hook: a 0/1 matrix [receiving heads or 1, sending heads or 1] of the
    patched edges."""

    masks: dict[str, dict[str, torch.Tensor]]

    @classmethod
    def patching_all_but(cls, cfg, kept: set[tuple[str, str, str]]) -> "EdgeAblation":
        """Patch every additive edge whose (sender, receiver, port) is not in ``kept``."""
        return cls.patching(cfg, lambda e: (e.sender, e.receiver, e.port) not in kept)

    @classmethod
    def patching_only(cls, cfg, patched: set[tuple[str, str, str]]) -> "EdgeAblation":
        """Patch exactly the additive edges whose (sender, receiver, port) is in ``patched``."""
        return cls.patching(cfg, lambda e: (e.sender, e.receiver, e.port) in patched)

    @classmethod
    def patching(cls, cfg, chosen: Callable[[Edge], bool]) -> "EdgeAblation":
        """Patch the additive edges ``chosen`` selects."""
        graph = CircuitGraph(cfg.n_layers, cfg.n_heads, bool(cfg.attn_only))
        masks: dict[str, dict[str, torch.Tensor]] = {}
        for e in graph.edges:
            if e.internal or not chosen(e):
                continue
            r_hook, r_idx = _receiver_hook(e.receiver, e.port, cfg.n_layers)
            s_hook, s_idx = _sender_hook(e.sender)
            shape = (cfg.n_heads if r_idx is not None else 1, cfg.n_heads if s_idx is not None else 1)
            m = masks.setdefault(r_hook, {}).setdefault(s_hook, torch.zeros(shape))
            m[r_idx or 0, s_idx or 0] = 1.0
        return cls(masks)

    def hooks(self, source: dict[str, torch.Tensor], rows: slice) -> list[tuple[str, object]]:
        """Forward hooks: record this run's sender outputs, and at each receiver add, on ``rows``, the
        patched senders' (source - current) outputs. ``source``: sender hook -> its activation on the
        source input (no gradient), shaped like the rows it patches."""
        current: dict[str, torch.Tensor] = {}

        def record(x: torch.Tensor, hook) -> torch.Tensor:
            current[hook.name] = x[rows]
            return x

        def patch(x: torch.Tensor, hook) -> torch.Tensor:
            delta = torch.zeros_like(x[rows])
            for s_hook, mask in self.masks[hook.name].items():
                diff = source[s_hook] - current[s_hook]  # [n, pos, (heads,) d_model]
                m = mask.to(diff)
                if diff.dim() == 3:
                    diff = diff[:, :, None]
                contribution = torch.einsum("npsd,rs->nprd", diff, m)
                delta = delta + (contribution if x.dim() == 4 else contribution[:, :, 0])
            x = x.clone()
            x[rows] = x[rows] + delta
            return x

        senders = {s for per in self.masks.values() for s in per}
        out: list[tuple[str, object]] = [(s, record) for s in sorted(senders)]
        return out + [(r, patch) for r in self.masks]


def source_activations(model, tokens: torch.Tensor, cfg) -> dict[str, torch.Tensor]:
    """Every sender hook's activation on ``tokens`` (no gradient)."""
    names = set(sender_hooks(cfg))
    with torch.no_grad():
        _, c = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    return {n: c[n].detach() for n in names}


def kept_edges(edges: list[list[str]]) -> set[tuple[str, str, str]]:
    """A ground-truth edge list as the (sender, receiver, port) set :meth:`EdgeAblation.patching_all_but` keeps."""
    return {tuple(e) for e in edges if e[0] != e[1]}  # type: ignore[misc]


@torch.no_grad()
def patched_logits(model, tokens: torch.Tensor, source_tokens: torch.Tensor, ablation: EdgeAblation) -> torch.Tensor:
    """Logits on ``tokens`` with ``ablation``'s edges carrying their senders' outputs on ``source_tokens``
    (sets the model's edge-hook flags)."""
    set_edge_hooks(model, True)
    source = source_activations(model, source_tokens, model.cfg)
    return model.run_with_hooks(tokens, fwd_hooks=ablation.hooks(source, slice(None)))
