"""The high-level causal models of the planted-circuit tasks: their batches (inputs, labels, the variables'
values) and the protocol a model's distribution follows. The prompt distribution of each planted task is
such a model; which components compute its variables is the training recipe's business
(:mod:`bench.planting`), never the task's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

IGNORE = -100


def two_back_targets(toks: torch.Tensor, end: int) -> torch.Tensor:
    """Distractor labels: from position 2 up to two before ``end``, the token two places back; IGNORE at the
    rest (so the position before END and END itself carry no distractor target)."""
    out = torch.full_like(toks, IGNORE)
    out[:, 2:end - 1] = toks[:, : end - 3]
    return out


@dataclass
class Batch:
    """Inputs and labels. ``labels``: per-position targets on the task positions (IGNORE elsewhere; float
    with NaN elsewhere for a numeric output); ``distract``: distractor targets on other positions."""

    tokens: torch.Tensor  # [n, T]
    labels: torch.Tensor  # [n, T]
    distract: torch.Tensor  # [n, T] long, IGNORE where none
    state: dict  # the high-level model's variables, for interventions


class HighLevel(Protocol):
    numeric: bool
    variables: tuple[str, ...]

    def sample(self, gen: torch.Generator, n: int) -> Batch: ...

    def intervene(self, base: Batch, source: Batch, variable: str) -> torch.Tensor:
        """Labels for ``base`` with ``variable`` set to its value on ``source`` (IGNORE / NaN: undefined)."""
        ...

    def source(self, base: Batch, gen: torch.Generator) -> Batch:
        """A source input for interchanges with ``base`` (most models: an independent sample)."""
        ...


class IndependentSources:
    """Mixin: interchange sources are independent samples of the same distribution."""

    def source(self, base: Batch, gen: torch.Generator) -> Batch:
        return self.sample(gen, len(base.tokens))  # type: ignore[attr-defined]
