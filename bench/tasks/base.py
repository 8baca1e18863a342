"""What a task hands to methods: prompt batches and a task metric. Never ground truth."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Callable, Protocol

import torch

from bench.errors import EmptyPromptsError

if TYPE_CHECKING:
    from bench.models.registry import LoadedModel


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
        return torch.arange(self.tokens.shape[1], device=self.lengths.device)[None, :] < self.lengths[:, None]

    def take(self, idx: torch.Tensor | slice) -> "PromptBatch":
        tokens, lengths = self.tokens[idx], self.lengths[idx]
        return PromptBatch(tokens[:, : int(lengths.max())], lengths)

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
    idx = batch.lengths.to(logits.device) - 1
    return logits[torch.arange(logits.shape[0], device=logits.device), idx]


class TaskMetric(Protocol):
    """Maps final-position logits ``[n, vocab]`` to a per-prompt score ``[n]`` (higher = behaviour present).
    ``numeric_output``: the model's output is a real value read off one logit (ACDC then compares outputs
    by mean squared error), not a distribution over tokens (KL divergence)."""

    name: str
    numeric_output: bool

    def __call__(self, logits: torch.Tensor) -> torch.Tensor: ...

    def take(self, idx: torch.Tensor | slice) -> "TaskMetric": ...

    def answer_tokens(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(right ``[n, 1]``, wrong ``[n, k]``) token ids where the metric compares tokens, else None."""
        ...


@dataclass(frozen=True)
class LogitDiff:
    """logit(answer) - logit(wrong); with several wrong answers per prompt (``wrong`` ``[n, k]``), the
    largest wrong logit counts (ACDC's docstring metric)."""

    answer: torch.Tensor
    wrong: torch.Tensor
    name: str = "logit_diff"
    numeric_output: bool = False

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(logits.shape[0], device=logits.device)
        right = logits[rows, self.answer.to(logits.device)]
        if self.wrong.ndim == 2:
            return right - logits[rows[:, None], self.wrong.to(logits.device)].max(-1).values
        return right - logits[rows, self.wrong.to(logits.device)]

    def take(self, idx: torch.Tensor | slice) -> "LogitDiff":
        return replace(self, answer=self.answer[idx], wrong=self.wrong[idx])

    def answer_tokens(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.answer[:, None], self.wrong if self.wrong.ndim == 2 else self.wrong[:, None]


@dataclass(frozen=True)
class ProbDiff:
    """Greater-than: P(year > start) - P(year <= start) over the year tokens (two-digit years "00".."99",
    or, for tokenizers with single-digit tokens, the tens digit "0".."9")."""

    year_tokens: torch.Tensor  # [100] ids of "00".."99", or [10] ids of "0".."9"
    start: torch.Tensor  # [n]: the start year's last two digits (or its tens digit)
    name: str = "prob_diff"
    numeric_output: bool = False

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        probs = logits.softmax(-1)[:, self.year_tokens.to(logits.device)]
        greater = torch.arange(len(self.year_tokens), device=logits.device)[None, :] > self.start.to(logits.device)[:, None]
        return (probs * greater).sum(-1) - (probs * ~greater).sum(-1)

    def take(self, idx: torch.Tensor | slice) -> "ProbDiff":
        return replace(self, start=self.start[idx])

    def answer_tokens(self) -> None:
        return None


@dataclass(frozen=True)
class OutputValue:
    """A real-valued output read directly: the logit at ``index`` (tracr-style numeric outputs)."""

    index: int = 0
    name: str = "output_value"
    numeric_output: bool = True

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, self.index]

    def take(self, idx: torch.Tensor | slice) -> "OutputValue":
        return self

    def answer_tokens(self) -> None:
        return None


def _tensor_bytes(obj: object) -> bytes:
    parts = []
    for f in fields(obj):  # type: ignore[arg-type]
        v = getattr(obj, f.name)
        parts.append(v.cpu().numpy().tobytes() if isinstance(v, torch.Tensor) else repr(v).encode())
    return b"|".join(parts)


@dataclass(frozen=True)
class TaskPrompts:
    """One task instance. ``clean`` prompts are the positives (the model can predict the answer),
    ``corrupted`` the negatives (the answer cannot be inferred). ``paired``: prompt i of both sets has the
    same length and form, as patching methods need; a null control's negatives (other positives) are not.
    ``prompt_set`` names the generator version that made them."""

    task: str
    clean: PromptBatch
    corrupted: PromptBatch
    metric: TaskMetric
    prompt_set: str
    paired: bool = True

    def __post_init__(self) -> None:
        if self.paired and (self.clean.tokens.shape != self.corrupted.tokens.shape
                            or not torch.equal(self.clean.lengths, self.corrupted.lengths)):
            raise ValueError(f"task {self.task}: clean and corrupted prompts must have equal lengths pairwise")

    @property
    def positives(self) -> PromptBatch:
        return self.clean

    @property
    def negatives(self) -> PromptBatch:
        return self.corrupted

    def content_hash(self) -> str:
        """sha256 of every token, length and metric field: what the run actually saw."""
        h = hashlib.sha256()
        for part in (self.clean, self.corrupted, self.metric):
            h.update(_tensor_bytes(part))
        return h.hexdigest()[:12]

    def with_negatives(self, negatives: PromptBatch) -> "TaskPrompts":
        """The same positives against other negatives (unpaired): the null control's input."""
        return replace(self, corrupted=negatives, paired=False)


def planted_world_prompts(task: str, world, n: int, seed: int, metric: Callable[[object], TaskMetric],
                          prompt_set: str) -> TaskPrompts:
    """A planted model's prompts from its own distribution: ``n`` samples of ``world.HighLevel`` (seeded), their
    negatives by ``world.corrupt``, all at ``world.LENGTH``; ``metric`` maps the clean batch to the task metric."""
    gen = torch.Generator().manual_seed(seed)
    clean = world.HighLevel().sample(gen, n)
    corrupted = world.corrupt(clean, gen)
    lengths = torch.full((n,), world.LENGTH)
    return TaskPrompts(task, PromptBatch(clean.tokens, lengths), PromptBatch(corrupted, lengths.clone()),
                       metric(clean), prompt_set)


@dataclass(frozen=True)
class Task:
    """A registered task: how to build prompts for a loaded model, and the facts that go with it.

    ``family`` names the published task it is (or stands in for), which method presets key on;
    ``gt_model`` / ``default_gt`` say whose ground truth applies and which version a run uses unless
    told otherwise. The prompt generator's version travels in each :class:`TaskPrompts` ``prompt_set``."""

    name: str
    description: str
    build: Callable[["LoadedModel", int, int], TaskPrompts]  # (loaded model, n, seed) -> TaskPrompts
    family: str
    gt_model: str | None = None
    default_gt: str | None = None
    suite: str = ""  # "planted": one of the planted-circuit tasks the default benchmark runs
