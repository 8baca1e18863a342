"""What a task hands to methods: prompt batches and a task metric. Never ground truth."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from bench.errors import EmptyPromptsError


@dataclass(frozen=True)
class PromptBatch:
    """Right-padded token ids ``[n, T]`` and each prompt's true length. With causal attention,
    right padding never changes the real tokens' activations, so no attention mask is needed."""

    tokens: torch.Tensor
    lengths: torch.Tensor

    def __post_init__(self) -> None:
        if self.tokens.ndim != 2 or self.tokens.shape[0] == 0:
            raise EmptyPromptsError("empty prompt set: the task produced no prompts")

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def position_mask(self) -> torch.Tensor:
        """Bool ``[n, T]``: True on real (unpadded) positions."""
        return torch.arange(self.tokens.shape[1])[None, :] < self.lengths[:, None]

    def take(self, idx: torch.Tensor | slice) -> "PromptBatch":
        return PromptBatch(self.tokens[idx], self.lengths[idx])

    def to(self, device: str | torch.device) -> "PromptBatch":
        return PromptBatch(self.tokens.to(device), self.lengths.to(device))

    @staticmethod
    def from_lists(seqs: list[list[int]], pad: int = 0) -> "PromptBatch":
        if not seqs:
            raise EmptyPromptsError("empty prompt set: the task produced no prompts")
        t = max(map(len, seqs))
        toks = torch.full((len(seqs), t), pad, dtype=torch.long)
        for i, s in enumerate(seqs):
            toks[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        return PromptBatch(toks, torch.tensor([len(s) for s in seqs], dtype=torch.long))


def last_logits(logits: torch.Tensor, batch: PromptBatch) -> torch.Tensor:
    """Logits ``[n, vocab]`` at each prompt's final real position."""
    idx = (batch.lengths.to(logits.device) - 1)
    return logits[torch.arange(logits.shape[0], device=logits.device), idx]


class TaskMetric(Protocol):
    """Maps final-position logits ``[n, vocab]`` to a per-prompt score ``[n]`` (higher = behaviour present)."""

    name: str

    def __call__(self, logits: torch.Tensor) -> torch.Tensor: ...

    def take(self, sl: slice) -> "TaskMetric": ...


@dataclass(frozen=True)
class LogitDiff:
    """logit(answer) - logit(wrong): IOI (IO vs S), docstring, induction."""

    answer: torch.Tensor
    wrong: torch.Tensor
    name: str = "logit_diff"

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(logits.shape[0], device=logits.device)
        return logits[rows, self.answer.to(logits.device)] - logits[rows, self.wrong.to(logits.device)]

    def take(self, sl: slice) -> "LogitDiff":
        """The metric for prompts ``sl`` only."""
        return LogitDiff(self.answer[sl], self.wrong[sl])


@dataclass(frozen=True)
class ProbDiff:
    """Greater-than: P(year > start) - P(year <= start) over the year tokens (two-digit years "00".."99",
    or, for tokenizers with single-digit tokens, the tens digit "0".."9")."""

    year_tokens: torch.Tensor  # [100] ids of "00".."99", or [10] ids of "0".."9"
    start: torch.Tensor  # [n]: the start year's last two digits (or its tens digit)
    name: str = "prob_diff"

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        probs = logits.softmax(-1)[:, self.year_tokens.to(logits.device)]
        greater = torch.arange(len(self.year_tokens), device=logits.device)[None, :] > self.start.to(logits.device)[:, None]
        return (probs * greater).sum(-1) - (probs * ~greater).sum(-1)

    def take(self, sl: slice) -> "ProbDiff":
        return ProbDiff(self.year_tokens, self.start[sl])


@dataclass(frozen=True)
class OutputValue:
    """A real-valued output read directly: the logit at ``index`` (tracr's numeric outputs)."""

    index: int = 0
    name: str = "output_value"

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, self.index]

    def take(self, sl: slice) -> "OutputValue":
        return self


@dataclass(frozen=True)
class TaskPrompts:
    """One task instance. ``clean`` prompts are the positives (the model can predict the answer),
    ``corrupted`` the matched negatives (same lengths; the answer cannot be inferred)."""

    task: str
    clean: PromptBatch
    corrupted: PromptBatch
    metric: TaskMetric
    seed: int
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clean.tokens.shape != self.corrupted.tokens.shape or not torch.equal(self.clean.lengths, self.corrupted.lengths):
            raise ValueError(f"task {self.task}: clean and corrupted prompts must have equal lengths pairwise")

    @property
    def positives(self) -> PromptBatch:
        return self.clean

    @property
    def negatives(self) -> PromptBatch:
        return self.corrupted

    def subset(self, n: int) -> "TaskPrompts":
        """The first ``n`` prompt pairs (metric restricted to match)."""
        sl = slice(0, n)
        return TaskPrompts(self.task, self.clean.take(sl), self.corrupted.take(sl), self.metric.take(sl), self.seed, self.info)


@dataclass(frozen=True)
class Task:
    """A registered task: how to build prompts for a loaded model, and which ground truth applies."""

    name: str
    description: str
    build: Callable[..., TaskPrompts]  # (loaded_model, n, seed) -> TaskPrompts
    needs_text_tokenizer: bool = True
