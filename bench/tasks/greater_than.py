"""Greater-than (Hanna et al. 2023): "The war lasted from the year 1732 to the year 17" -> a
year > 32. Negatives / corrupted prompts use start year XX01, so no year is "greater" by much.
With GPT-2's BPE, " 17" and "32" are single tokens and the answer is the two-digit year. Tokenizers
with one token per digit (SmolLM2) get the digit form: the prompt ends "... to the year 17" and the
answer is the next digit, the tens digit of the end year; the metric compares it with the start's
tens digit, P(digit > tens) - P(digit <= tens), the same comparison one digit coarser."""
from __future__ import annotations

import random

import torch

from bench.errors import CdbenchError
from bench.tasks.base import PromptBatch, ProbDiff, Task, TaskPrompts

NOUNS = ["war", "expedition", "siege", "reign", "journey", "campaign", "dynasty", "conflict", "pilgrimage",
         "occupation", "voyage", "revolution", "strike", "drought", "blockade"]
TEMPLATE = "The {noun} lasted from the year {cc}{yy} to the year {cc}"


def build(loaded, n: int, seed: int) -> TaskPrompts:
    tok = loaded.tokenizer
    if tok is None:
        raise CdbenchError(f"task greater_than needs a text tokenizer; model {loaded.name} has none")
    year_tokens = [tok.encode(f"{y:02d}") for y in range(100)]
    digit_form = any(len(t) != 1 for t in year_tokens)
    if digit_form:
        year_tokens = [tok.encode(str(d)) for d in range(10)]
        if any(len(t) != 1 for t in year_tokens):
            raise CdbenchError("task greater_than needs two-digit years or single digits as single tokens; "
                               "this tokenizer has neither")
    rng = random.Random(seed)
    clean, corrupt, start = [], [], []
    while len(clean) < n:
        noun, cc, yy = rng.choice(NOUNS), rng.randint(11, 17), rng.randint(2, 98)
        a = tok.encode(TEMPLATE.format(noun=noun, cc=cc, yy=f"{yy:02d}"))
        b = tok.encode(TEMPLATE.format(noun=noun, cc=cc, yy="01"))
        if len(a) != len(b):  # " 1732" must split as " 17" + "32" like " 1701"
            continue
        clean.append(a)
        corrupt.append(b)
        start.append(yy // 10 if digit_form else yy)
    metric = ProbDiff(torch.tensor([t[0] for t in year_tokens]), torch.tensor(start))
    return TaskPrompts("greater_than", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt), metric, seed,
                       {"form": "tens digit" if digit_form else "two-digit year"})


TASK = Task("greater_than", "year comparison; negatives start at XX01; metric P(year > start) - P(year <= start)", build)
