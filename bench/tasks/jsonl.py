"""A task from the user's JSONL file, one record per line:
``{"clean": "...", "corrupted": "...", "answer": " Mary", "wrong": " John"}``.
``clean`` must let the model predict ``answer``; ``corrupted`` has the same token length and does
not; ``answer`` and ``wrong`` are single tokens. Metric: logit(answer) - logit(wrong). The file's
sha256 is part of the prompt set's name, so an edited file is a different prompt set (and cache key).

A record is refused, with its line number, when it is degenerate (``answer`` equal to ``wrong``, or
``clean`` equal to ``corrupted``, as text or as tokens: the pair then measures nothing) or longer than the
model's context; planning checks every record against the model it will run on (:func:`check_file`)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Encoded:
    clean: list[list[int]]
    corrupted: list[list[int]]
    answer: list[int]
    wrong: list[int]


def encode_records(loaded, p: Path, records: list[dict]) -> Encoded:
    """Token ids of every record for ``loaded``, each pair checked: equal lengths, single-token answers,
    not degenerate, within the model's context (``cfg.n_ctx``); one-line errors naming the line."""
    tok = tokenizer(loaded, f"jsonl:{p.name}")
    n_ctx = getattr(getattr(loaded.model, "cfg", None), "n_ctx", None)
    out = Encoded([], [], [], [])
    for rec in records:
        where = f"{p}:{rec['_line']}"
        if rec["clean"] == rec["corrupted"]:
            raise CdbenchError(f"{where}: clean and corrupted are the same text; the pair measures nothing")
        if rec["answer"] == rec["wrong"]:
            raise CdbenchError(f"{where}: answer and wrong are the same text; the pair measures nothing")
        if n_ctx is not None and len(rec["clean"]) > 64 * n_ctx:  # far past any context: no need to tokenize it
            raise CdbenchError(f"{where}: clean is {len(rec['clean'])} characters, far beyond model {loaded.name}'s "
                               f"context of {n_ctx} tokens")
        a, b = encode(loaded, rec["clean"]), encode(loaded, rec["corrupted"])
        ans, wr = tok.encode(rec["answer"]), tok.encode(rec["wrong"])
        if len(a) != len(b):
            raise CdbenchError(f"{where}: clean is {len(a)} tokens, corrupted {len(b)}; they must match")
        if n_ctx is not None and len(a) > n_ctx:
            raise CdbenchError(f"{where}: clean is {len(a)} tokens, longer than model {loaded.name}'s context of "
                               f"{n_ctx}")
        if len(ans) != 1 or len(wr) != 1:
            raise CdbenchError(f"{where}: answer and wrong must each be one token")
        if a == b:
            raise CdbenchError(f"{where}: clean and corrupted are the same tokens; the pair measures nothing")
        if ans == wr:
            raise CdbenchError(f"{where}: answer and wrong are the same token; the pair measures nothing")
        out.clean.append(a)
        out.corrupted.append(b)
        out.answer.append(ans[0])
        out.wrong.append(wr[0])
    return out


def check_file(loaded, p: Path) -> int:
    """Planning's check of a prompt file against the model it will run on; returns its number of records."""
    records, _ = read_records(p)
    encode_records(loaded, p, records)
    return len(records)


def make_task(path: str) -> Task:
    p = Path(path)
    version = f"jsonl:{p.name}"

    def build(loaded, n: int, seed: int) -> TaskPrompts:
        records, sha = read_records(p)
        # a file is a fixed set: seeds pick the SAE's training prompts, not the data
        e = encode_records(loaded, p, records[:n])
        return TaskPrompts(version, PromptBatch.from_lists(e.clean), PromptBatch.from_lists(e.corrupted),
                           LogitDiff(torch.tensor(e.answer), torch.tensor(e.wrong)), f"{version}@{sha}")

    return Task(version, f"prompts from {p}", build, family="jsonl")
