"""A task from the user's JSONL file, one record per line:
``{"clean": "...", "corrupted": "...", "answer": " Mary", "wrong": " John"}``.
``clean`` must let the model predict ``answer``; ``corrupted`` has the same token length and does
not; ``answer`` and ``wrong`` are single tokens. Metric: logit(answer) - logit(wrong). The file's
sha256 is part of the prompt set's name, so an edited file is a different prompt set (and cache key)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from bench.errors import CdbenchError, EmptyPromptsError
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.text import encode, tokenizer

FIELDS = ("clean", "corrupted", "answer", "wrong")


def read_records(p: Path) -> tuple[list[dict], str]:
    """Every record of the file (checked for form) and the file's sha256; one-line errors otherwise."""
    if not p.is_file():
        raise CdbenchError(f"task file {p} not found")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CdbenchError(f"task file {p} is not UTF-8 (byte {exc.start})") from None
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CdbenchError(f"{p}:{lineno}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in FIELDS):
            raise CdbenchError(f"{p}:{lineno}: record needs string fields {', '.join(FIELDS)}")
        records.append({**rec, "_line": lineno})
    if not records:
        raise EmptyPromptsError(f"empty prompt set: {p} has no records")
    return records, hashlib.sha256(raw).hexdigest()[:12]


def make_task(path: str) -> Task:
    p = Path(path)
    version = f"jsonl:{p.name}"

    def build(loaded, n: int, seed: int) -> TaskPrompts:
        tok = tokenizer(loaded, version)
        records, sha = read_records(p)
        clean, corrupt, answer, wrong = [], [], [], []
        for rec in records[:n]:  # a file is a fixed set: seeds pick the SAE's training prompts, not the data
            a, b = encode(loaded, rec["clean"]), encode(loaded, rec["corrupted"])
            ans, wr = tok.encode(rec["answer"]), tok.encode(rec["wrong"])
            if len(a) != len(b):
                raise CdbenchError(f"{p}:{rec['_line']}: clean is {len(a)} tokens, corrupted {len(b)}; they must match")
            if len(ans) != 1 or len(wr) != 1:
                raise CdbenchError(f"{p}:{rec['_line']}: answer and wrong must each be one token")
            clean.append(a)
            corrupt.append(b)
            answer.append(ans[0])
            wrong.append(wr[0])
        return TaskPrompts(version, PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                           LogitDiff(torch.tensor(answer), torch.tensor(wrong)), f"{version}@{sha}")

    return Task(version, f"prompts from {p}", build, family="jsonl")
