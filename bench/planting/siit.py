"""Strict Interchange Intervention Training (SIIT; Gupta et al. 2024, after Geiger et al.'s IIT) for
TransformerLens models, and the checks that certify the planted circuit afterwards.

A high-level causal model (:class:`HighLevel`) samples inputs with their labels and says what the output
must be when one of its variables takes its value from another input. Each variable is mapped onto one
low-level component: a head (its ``hook_z`` slice) or an MLP (``hook_mlp_out``), at every position. One
training step combines
- the behaviour loss: the model's output on a base input matches the high-level label;
- the interchange loss: with a mapped component's activation taken from a source input, the output matches
  what the high-level model says under the same intervention on its variable;
- the strict loss: with unmapped components resample-ablated (activations from the source input), the
  output still matches the base label, so nothing outside the mapping may matter;
- a distractor loss on other positions, which gives the unmapped components real work to do (their
  outputs are active, as in a trained model), without any say over the task's positions;
- optionally (``Weights.negatives``, ``Weights.edge_strict``), strictness that also resamples from the
  task's negatives, and an edge-level strict loss (every edge outside the ground truth's patched at once,
  :mod:`bench.planting.edge_patch`). No shipped model is trained with them yet.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

from bench.models.planted.highlevel import IGNORE, Batch, HighLevel, IndependentSources

def component_hook(component: str) -> tuple[str, int | None]:
    """(hook name, head index or None) of a head ``"L.H"`` or an MLP ``"mL"``."""
    if component.startswith("m"):
        return f"blocks.{int(component[1:])}.hook_mlp_out", None
    layer, head = component.split(".")
    return f"blocks.{layer}.attn.hook_z", int(head)


def variable_positions(hl: HighLevel, variable: str) -> list[int] | None:
    """The positions where a high-level variable lives (``hl.positions``), which its interchanges patch; None:
    every position."""
    return getattr(hl, "positions", {}).get(variable)


def all_components(cfg) -> list[str]:
    heads = [f"{layer}.{h}" for layer in range(cfg.n_layers) for h in range(cfg.n_heads)]
    return heads + ([] if cfg.attn_only else [f"m{layer}" for layer in range(cfg.n_layers)])


def cache(model, tokens: torch.Tensor, components: list[str]) -> dict[str, torch.Tensor]:
    names = {component_hook(c)[0] for c in components}
    with torch.no_grad():
        _, c = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    out = {}
    for comp in components:
        name, head = component_hook(comp)
        out[comp] = c[name][:, :, head].clone() if head is not None else c[name].clone()
    return out


def run_patched(model, tokens: torch.Tensor, patches: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits with each component in ``patches`` replaced by the given activation (all positions)."""
    return run_patched_rows(model, tokens, {c: (slice(None), act) for c, act in patches.items()})


def _source_activations(model, source: torch.Tensor, swap: list[str], other: torch.Tensor, unmapped: list[str]
                        ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The interchange source's activations of ``swap`` and the resampling input's of ``unmapped``: one no-grad
    pass (over both batches at once when they are different inputs of the same shape)."""
    if source is other:
        acts = cache(model, source, sorted(set(swap) | set(unmapped)))
        return {c: acts[c] for c in swap}, {c: acts[c] for c in unmapped}
    if source.shape != other.shape:
        return cache(model, source, swap), cache(model, other, unmapped)
    both = cache(model, torch.cat([source, other]), sorted(set(swap) | set(unmapped)))
    n = len(source)
    return {c: both[c][:n] for c in swap}, {c: both[c][n:] for c in unmapped}


def run_patched_rows(model, tokens: torch.Tensor, patches: dict[str, tuple[slice, torch.Tensor]],
                     extra_hooks: list | None = None) -> torch.Tensor:
    """Logits with each component in ``patches`` replaced, on its rows of the batch only (and, where a third item
    lists them, on those positions only), by the given activation (``extra_hooks``: further forward hooks, e.g.
    an edge-level ablation on other rows)."""
    by_hook: dict[str, list[tuple[int | None, slice, torch.Tensor, list[int] | None]]] = {}
    for comp, (rows, act, *positions) in patches.items():
        name, head = component_hook(comp)
        by_hook.setdefault(name, []).append((head, rows, act, positions[0] if positions else None))

    def hook(x: torch.Tensor, hook) -> torch.Tensor:
        x = x.clone()
        for head, rows, act, positions in by_hook[hook.name]:
            pos = slice(None) if positions is None else torch.tensor(positions)
            if head is None:
                x[rows, pos] = act[:, pos]
            else:
                x[rows, pos, head] = act[:, pos]
        return x

    return model.run_with_hooks(tokens, fwd_hooks=[(n, hook) for n in by_hook] + list(extra_hooks or []))


def task_loss(logits: torch.Tensor, labels: torch.Tensor, numeric: bool, smoothing: float = 0.1) -> torch.Tensor:
    """MSE for a real-valued output; otherwise cross-entropy with label smoothing, which bounds the logit
    margin the loss asks for: the full model and the strictly ablated one are pushed to the same finite
    margin, so the circuit alone must keep the task's logit difference, not merely its argmax."""
    if numeric:
        mask = ~torch.isnan(labels)
        return F.mse_loss(logits[..., 0][mask], labels[mask]) if mask.any() else logits.sum() * 0
    mask = labels != IGNORE
    if not mask.any():
        return logits.sum() * 0
    return F.cross_entropy(logits[mask], labels[mask], label_smoothing=smoothing)


@dataclass(frozen=True)
class Weights:
    behaviour: float = 1.0
    iit: float = 1.0
    strict: float = 1.0
    distract: float = 0.5
    strict_all: float = 0.75  # the share of steps whose strict loss ablates every unmapped component
    strict_warmup: float = 0.0  # the strict weight ramps up linearly over this share of the steps
    circuit_swap: float = 0.0  # the share of interchange steps that take every mapped component from the
    # source at once (the output must then be the source's): nothing outside the mapping may carry the answer
    negatives: float = 0.0  # the share of rows, every step, whose strict ablations resample from the base's own
    # negative (the patching every method uses) instead of an independent input
    edge_strict: float = 0.0  # weight of the edge-level strict loss: every edge outside the ground truth's
    # edges patched from the strict source at once, the output must still match the base label
    edge_rows: int = 32  # the edge-level strict loss's rows a step (the first of the batch)
    circuit_first: float = 0.0  # the share of steps, first, trained with every unmapped component zero-ablated,
    # and each mapped one outside its variable's positions (no distractor loss): the circuit learns the task, each
    # role in its place, before any other component can
    iit_first: bool = True  # whether the interchange loss is on during those first steps
    readout: float = 0.0  # weight of the readout loss: each variable that ``hl.readouts`` labels, read through
    # the unembedding from its components' summed output, must give the variable's value where it is labelled


def train(model, hl: HighLevel, mapping: dict[str, list[str]], steps: int, batch: int, lr: float, seed: int,
          weights: Weights = Weights(), log_every: int = 200,
          corrupt: Callable[[Batch, torch.Generator], torch.Tensor] | None = None,
          kept_edges: set[tuple[str, str, str]] | None = None) -> dict:
    """SIIT from the model's current weights; deterministic on CPU for a seed. Returns training stats.
    ``corrupt`` (the task's negatives) is needed when ``weights.negatives`` > 0, ``kept_edges`` (the edges
    the edge-level strict loss leaves unpatched) when ``weights.edge_strict`` > 0."""
    from bench.planting.edge_patch import EdgeAblation, set_edge_hooks, source_activations

    if weights.negatives and corrupt is None or weights.edge_strict and not kept_edges:
        raise ValueError("negatives need corrupt=, edge_strict needs kept_edges=")
    edge_ablation = EdgeAblation.patching_all_but(model.cfg, kept_edges) if weights.edge_strict else None
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    mapped = [c for comps in mapping.values() for c in comps]
    unmapped = [c for c in all_components(model.cfg) if c not in mapped]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 200) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc=f"SIIT {model.cfg.model_name}", mininterval=2)
    first = int(weights.circuit_first * steps)
    read: dict[str, torch.Tensor] = {}  # the z of each layer holding a read-out component, this step's run
    read_vars = hl.readouts(hl.sample(torch.Generator(), 1)) if weights.readout else {}  # which variables it labels
    read_layers = {component_hook(c)[0] for v in read_vars for c in mapping[v]}
    read_hooks = [(name, lambda z, hook: read.__setitem__(hook.name, z)) for name in sorted(read_layers)]
    if first:  # the circuit alone, each mapped component only at its variable's positions
        _zero_ablate(model, {**{c: [] for c in unmapped},
                             **{c: variable_positions(hl, v) for v, comps in mapping.items() for c in comps
                                if variable_positions(hl, v) is not None}})
    for step in bar:
        if first and step == first:
            model.reset_hooks(including_permanent=True)
        warm = step < first
        if warm and not weights.iit_first:  # the circuit alone on the behaviour loss: one pass a step
            base = hl.sample(gen, batch)
            loss_b = task_loss(model.run_with_hooks(base.tokens, fwd_hooks=read_hooks), base.labels, hl.numeric)
            loss_r = _readout_loss(model, hl, base, mapping, read, len(base.tokens)) if read_hooks else 0.0
            opt.zero_grad(set_to_none=True)
            (loss_b + weights.readout * loss_r).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if step % log_every == 0:
                bar.set_postfix(b=f"{loss_b.item():.3f}")
            continue
        base = hl.sample(gen, batch)
        source = hl.source(base, gen)
        # strictness resamples from independent inputs, whatever inputs the interchanges need
        other = source if isinstance(hl, IndependentSources) else hl.sample(gen, batch)
        var = rng.choice(hl.variables)
        whole = bool(weights.circuit_swap) and rng.random() < weights.circuit_swap
        swap = mapped if whole else list(mapping[var])
        if whole:
            var = hl.variables[-1]  # with every variable from the source, the output variable decides
        # strictness: every unmapped component at once on most steps, a random half of them otherwise
        chosen = unmapped if rng.random() < weights.strict_all else [c for c in unmapped if rng.random() < 0.5]
        if weights.negatives:  # rows drawn each step, so both sources are in every strict loss
            take = (torch.rand(len(base.tokens), generator=gen) < weights.negatives)[:, None]
            other = Batch(torch.where(take, corrupt(base, gen), other.tokens), base.labels, base.distract, base.state)
        src_acts, other_acts = _source_activations(model, source.tokens, swap, other.tokens, unmapped)
        # the plain, interchanged and strictly ablated runs of the base (and the edge-level strict run) as one
        # batch: the same losses, one pass through the model (per-example computation: rows do not interact)
        n = len(base.tokens)
        where = None if whole else variable_positions(hl, var)
        patches = {c: (slice(n, 2 * n), src_acts[c], where) for c in swap}
        patches.update({c: (slice(2 * n, 3 * n), other_acts[c]) for c in chosen})
        logits_all = run_patched_rows(model, base.tokens.repeat(3, *([1] * (base.tokens.dim() - 1))), patches,
                                      extra_hooks=read_hooks)
        logits, logits_i, logits_s = logits_all[:n], logits_all[n:2 * n], logits_all[2 * n:]
        if edge_ablation:  # a separate pass on the first rows: TransformerLens's per-head inputs cost ~5x a pass
            m = min(n, weights.edge_rows)
            set_edge_hooks(model, True)
            hooks = edge_ablation.hooks(source_activations(model, other.tokens[:m], model.cfg), slice(None))
            logits_e = model.run_with_hooks(base.tokens[:m], fwd_hooks=hooks)
            set_edge_hooks(model, False)
            loss_e = task_loss(logits_e, base.labels[:m], hl.numeric)
        else:
            loss_e = logits.sum() * 0
        loss_b = task_loss(logits, base.labels, hl.numeric)
        loss_d = F.cross_entropy(logits[base.distract != IGNORE], base.distract[base.distract != IGNORE]) \
            if (base.distract != IGNORE).any() else logits.sum() * 0
        iit_labels = hl.intervene(base, source, var)
        loss_i = task_loss(logits_i, iit_labels, hl.numeric)
        loss_s = task_loss(logits_s, base.labels, hl.numeric) if chosen else logits.sum() * 0
        ramp = min(1.0, step / (weights.strict_warmup * steps)) if weights.strict_warmup > 0 else 1.0
        loss_r = _readout_loss(model, hl, base, mapping, read, n) if read_hooks else 0.0
        loss = (weights.readout * loss_r + weights.behaviour * loss_b
                + (weights.iit_first or not warm) * weights.iit * loss_i
                + ramp * weights.strict * loss_s + (not warm) * weights.distract * loss_d
                + ramp * weights.edge_strict * loss_e)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % log_every == 0:
            bar.set_postfix(b=f"{loss_b.item():.3f}", i=f"{loss_i.item():.3f}", s=f"{loss_s.item():.3f}",
                            e=f"{loss_e.item():.3f}", d=f"{loss_d.item():.3f}")
    return {"seed": seed, "steps": steps, "batch": batch, "lr": lr, "train_seconds": round(time.perf_counter() - t0, 1),
            "loss_weights": weights.__dict__}


def _readout_loss(model, hl: HighLevel, base: Batch, mapping: dict[str, list[str]], read: dict[str, torch.Tensor],
                  n: int) -> torch.Tensor:
    """Cross-entropy of each read-out variable's value from its components' summed output (first ``n`` rows of
    this step's run) through the unembedding, at the positions ``hl.readouts`` labels; the mean over variables."""
    losses = []
    for var, labels in hl.readouts(base).items():
        out = 0
        for comp in mapping[var]:
            name, head = component_hook(comp)
            out = out + read[name][:n, :, head] @ model.W_O[int(comp.split(".")[0]), head]
        mask = labels != IGNORE
        losses.append(F.cross_entropy((out @ model.W_U + model.b_U)[mask], labels[mask]))
    return sum(losses) / len(losses)


def _zero_ablate(model, components: dict[str, list[int] | None]) -> None:
    """Permanent hooks (until ``reset_hooks``) that zero each component's activation in every run, at every
    position but the listed ones (None: every position)."""
    by_hook: dict[str, list[tuple[int | None, list[int] | None]]] = {}
    for comp, keep in components.items():
        name, head = component_hook(comp)
        by_hook.setdefault(name, []).append((head, keep))
    for name, entries in by_hook.items():
        def hook(x: torch.Tensor, hook, entries=entries) -> torch.Tensor:
            x = x.clone()
            for head, keep in entries:
                off = torch.ones(x.shape[1], dtype=torch.bool)
                if keep is not None:
                    off[keep] = False
                if head is None:
                    x[:, off] = 0
                else:
                    x[:, off, head] = 0
            return x
        model.add_hook(name, hook, is_permanent=True)


def _correct(logits: torch.Tensor, labels: torch.Tensor, numeric: bool, tol: float) -> tuple[int, int]:
    if numeric:
        mask = ~torch.isnan(labels)
        return int(((logits[..., 0] - labels).abs() < tol)[mask].sum()), int(mask.sum())
    mask = labels != IGNORE
    return int((logits.argmax(-1) == labels)[mask].sum()), int(mask.sum())


@torch.no_grad()
def accuracy(model, hl: HighLevel, gen: torch.Generator, n: int, tol: float = 0.05) -> float:
    b = hl.sample(gen, n)
    right, total = _correct(model(b.tokens), b.labels, hl.numeric, tol)
    return right / max(total, 1)


@torch.no_grad()
def interchange_accuracy(model, hl: HighLevel, mapping: dict[str, list[str]], gen: torch.Generator, n: int,
                         tol: float = 0.05) -> dict[str, float]:
    """Per variable (all its components patched at once, at the variable's positions): the fraction of
    held-out (base, source) pairs on which the patched model's output is the high-level model's output under
    the same intervention (on positions where it is defined)."""
    out = {}
    for var, comps in mapping.items():
        base = hl.sample(gen, n)
        source = hl.source(base, gen)
        acts = cache(model, source.tokens, list(comps))
        where = variable_positions(hl, var)
        patched = run_patched_rows(model, base.tokens, {c: (slice(None), a, where) for c, a in acts.items()})
        right, total = _correct(patched, hl.intervene(base, source, var), hl.numeric, tol)
        out[var] = right / max(total, 1)
    return out


@torch.no_grad()
def ablation_fractions(model, components: list[str], circuit: list[str], metric: Callable[[torch.Tensor], torch.Tensor],
                       clean: torch.Tensor, resample: torch.Tensor) -> dict[str, float]:
    """Mean task metric kept (relative to the unablated model) when every non-circuit component, or every
    circuit component, takes its activation from ``resample`` (other inputs of the task distribution)."""
    full = metric(model(clean)).mean().item()
    src = cache(model, resample, components)
    others = [c for c in components if c not in circuit]
    keep_circuit = metric(run_patched(model, clean, {c: src[c] for c in others})).mean().item()
    drop_circuit = metric(run_patched(model, clean, {c: src[c] for c in circuit})).mean().item()
    return {"metric_full_model": round(full, 4),
            "fraction_kept_ablating_all_non_circuit": round(keep_circuit / full, 4),
            "fraction_kept_ablating_circuit": round(drop_circuit / full, 4)}
