"""A task from the user's JSONL file, one record per line:
``{"clean": "...", "corrupted": "...", "answer": " Mary", "wrong": " John"}``.
``clean`` must let the model predict ``answer``; ``corrupted`` has the same token length and does
not; ``answer`` and ``wrong`` are single tokens. Metric: logit(answer) - logit(wrong)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from bench.errors import CdbenchError, EmptyPromptsError
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts

FIELDS = ("clean", "corrupted", "answer", "wrong")


def make_task(path: str) -> Task:
    p = Path(path)

    def build(loaded, n: int, seed: int) -> TaskPrompts:
        tok = loaded.tokenizer
        if tok is None:
            raise CdbenchError(f"a JSONL task needs a text tokenizer; model {loaded.name} has none")
        if not p.is_file():
            raise CdbenchError(f"task file {p} not found")
        clean, corrupt, answer, wrong = [], [], [], []
        for lineno, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CdbenchError(f"{p}:{lineno}: not JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in FIELDS):
                raise CdbenchError(f"{p}:{lineno}: record needs string fields {', '.join(FIELDS)}")
            a, b = tok.encode(rec["clean"]), tok.encode(rec["corrupted"])
            ans, wr = tok.encode(rec["answer"]), tok.encode(rec["wrong"])
            if len(a) != len(b):
                raise CdbenchError(f"{p}:{lineno}: clean is {len(a)} tokens, corrupted {len(b)}; they must match")
            if len(ans) != 1 or len(wr) != 1:
                raise CdbenchError(f"{p}:{lineno}: answer and wrong must each be one token")
            clean.append(a)
            corrupt.append(b)
            answer.append(ans[0])
            wrong.append(wr[0])
        if not clean:
            raise EmptyPromptsError(f"empty prompt set: {p} has no records")
        take = slice(0, n)  # a file is a fixed set: seeds pick the SAE's training prompts, not the data
        return TaskPrompts(f"jsonl:{p.name}", PromptBatch.from_lists(clean[take]), PromptBatch.from_lists(corrupt[take]),
                           LogitDiff(torch.tensor(answer[take]), torch.tensor(wrong[take])), seed, {"file": str(p)})

    return Task(f"jsonl:{path}", f"prompts from {p}", build)
