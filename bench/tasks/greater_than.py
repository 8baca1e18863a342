"""Greater-than (Hanna et al. 2023) as the SAE-code paper's released generator builds it: "The {noun}
lasted from the year {year} to the year {century}" with the released 67 nouns and start years 1200-1999
whose last two digits cycle through 02..98 (balanced); the negative starts at {century}01, so no year is
"greater" by much. The century is drawn per prompt; when a year and its XX01 negative tokenise to
different lengths (which patching methods cannot pair), another century with the same two digits is
taken. With GPT-2's BPE, " 17" and "32" are single tokens and the answer is the two-digit year; tokenizers
with one token per digit (SmolLM2) get the digit form: the answer is the next digit, the tens digit of
the end year, compared with the start's tens digit (the same comparison one digit coarser)."""
from __future__ import annotations

import random

import torch

from bench.errors import CdbenchError
from bench.tasks.base import PromptBatch, ProbDiff, Task, TaskPrompts
from bench.tasks.text import data, encode, tokenizer

PROMPT_VERSION = "greater_than.oneill2024.v1"
CENTURIES = range(12, 20)


def build(loaded, n: int, seed: int) -> TaskPrompts:
    tok = tokenizer(loaded, "greater_than")
    year_tokens = [tok.encode(f"{y:02d}") for y in range(100)]
    digit_form = any(len(t) != 1 for t in year_tokens)
    if digit_form:
        year_tokens = [tok.encode(str(d)) for d in range(10)]
        if any(len(t) != 1 for t in year_tokens):
            raise CdbenchError("task greater_than needs two-digit years or single digits as single tokens; "
                               "this tokenizer has neither")
    nouns = data("greater_than_oneill2024")["nouns"]
    rng = random.Random(seed)
    clean, corrupt, start = [], [], []
    yy = 2
    while len(clean) < n:
        noun = rng.choice(nouns)
        for cc in rng.sample(list(CENTURIES), len(CENTURIES)):
            a = encode(loaded, f"The {noun} lasted from the year {cc}{yy:02d} to the year {cc}")
            b = encode(loaded, f"The {noun} lasted from the year {cc}01 to the year {cc}")
            if len(a) == len(b):
                clean.append(a)
                corrupt.append(b)
                start.append(yy // 10 if digit_form else yy)
                break
        yy = 2 if yy == 98 else yy + 1
    metric = ProbDiff(torch.tensor([t[0] for t in year_tokens]), torch.tensor(start))
    version = PROMPT_VERSION + ("/tens-digit" if digit_form else "")
    return TaskPrompts("greater_than", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt), metric, version)


TASK = Task("greater_than", "year comparison, the released generator (67 nouns, years 1200-1999); negatives start at "
            "XX01; metric P(year > start) - P(year <= start)", build, family="greater_than", gt_model="gpt2", default_gt="hanna2023.v2")
