"""The method protocol and its result types.

A method is a function ``run(model, prompts, config, seed) -> MethodResult``. It receives the
model and a :class:`bench.tasks.base.TaskPrompts` (prompts, answers, metric) and nothing else:
ground truth is loaded by the harness only after the method has returned, so no method can see it.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from transformer_lens import HookedTransformer

from bench.graph import HeadGraph
from bench.tasks.base import TaskPrompts


@dataclass(frozen=True)
class HeadScores:
    """Per-head scores ``[n_layers, n_heads]``; higher means more likely in the circuit. A method that
    also scores MLPs as nodes puts them in ``mlps`` ``[n_layers]`` (scored where ground truth has MLPs)."""

    scores: torch.Tensor
    mlps: torch.Tensor | None = None

    def flat(self) -> torch.Tensor:
        return self.scores.detach().float().cpu().reshape(-1)

    def flat_mlps(self) -> torch.Tensor | None:
        return None if self.mlps is None else self.mlps.detach().float().cpu().reshape(-1)


@dataclass(frozen=True)
class EdgeScores:
    """Per-edge scores aligned with ``HeadGraph.edges``; higher means more likely in the circuit."""

    scores: torch.Tensor

    def flat(self) -> torch.Tensor:
        return self.scores.detach().float().cpu().reshape(-1)


@dataclass(frozen=True)
class MethodResult:
    nodes: HeadScores
    edges: EdgeScores | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)


MethodFn = Callable[[HookedTransformer, TaskPrompts, Any, int], MethodResult]


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry: key, one-line description, settings dataclass, and the function."""

    key: str
    description: str
    config: type
    run: MethodFn
    edges: bool  # whether the method produces its own edge scores
    setting: str = ""  # the documented setting it runs at, printed beside its numbers


def graph_of(model: HookedTransformer) -> HeadGraph:
    return HeadGraph(model.cfg.n_layers, model.cfg.n_heads)


@contextmanager
def hook_flags(model: HookedTransformer, **flags: bool) -> Iterator[None]:
    """Switch TransformerLens config flags (``use_split_qkv_input`` ...) on for one method run."""
    old = {k: getattr(model.cfg, k) for k in flags}
    setters = {"use_attn_result": model.set_use_attn_result, "use_split_qkv_input": model.set_use_split_qkv_input,
               "use_hook_mlp_in": model.set_use_hook_mlp_in}
    try:
        for k, v in flags.items():
            setters[k](v)
        yield
    finally:
        for k, v in old.items():
            setters[k](v)


def batches(n: int, size: int) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))
