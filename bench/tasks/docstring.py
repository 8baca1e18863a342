"""Docstring (Heimersheim and Janiak 2023): predict the next ``:param`` name of a Python
docstring from the function signature. Negatives / corrupted prompts randomise the parameter
names already listed in the docstring, so the next one cannot be read off by position."""
from __future__ import annotations

import random

import torch

from bench.errors import CdbenchError
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.text import single_tokens, token_id

WORDS = [" file", " size", " name", " path", " data", " mode", " key", " value", " state", " shape", " option",
         " line", " port", " host", " user", " text", " item", " node", " parent", " child", " count", " index",
         " source", " target", " image", " color", " width", " height", " order", " limit", " token", " field"]
FILLER = [" oil", " column", " piece", " crime", " population", " unit", " dark", " sector", " gap", " river",
          " table", " market", " record", " signal", " paper", " glass"]


def _prompt(fn: str, params: list[str], listed: list[str], fill: list[str]) -> str:
    sig = ",".join(params).lstrip()
    doc = "".join(f"\n    :param{p}:{fill[2 * i]}{fill[2 * i + 1]}" for i, p in enumerate(listed))
    return f"def {fn}(self, {sig}):\n    \"\"\"{fill[-1].strip()} summary\n{doc}\n    :param"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    tok = loaded.tokenizer
    if tok is None:
        raise CdbenchError(f"task docstring needs a text tokenizer; model {loaded.name} has none")
    words, fill = single_tokens(tok, WORDS), single_tokens(tok, FILLER)
    rng = random.Random(seed)
    clean, corrupt, answer, wrong = [], [], [], []
    while len(clean) < n:
        params = rng.sample(words, 6)
        others = [w for w in words if w not in params]
        f = [rng.choice(fill) for _ in range(7)]
        a = tok.encode(_prompt("run", params, params[:3], f))
        b = tok.encode(_prompt("run", params, rng.sample(others, 3), f))
        if len(a) != len(b):
            continue
        clean.append(a)
        corrupt.append(b)
        answer.append(token_id(tok, params[3]))
        wrong.append(token_id(tok, params[4]))
    return TaskPrompts("docstring", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                       LogitDiff(torch.tensor(answer), torch.tensor(wrong)), seed)


TASK = Task("docstring", "next :param name of a docstring; negatives randomise the listed names; metric "
            "logit(next param) - logit(a later param)", build)
