"""Indirect object identification (Wang et al. 2022): "When Mary and John went to the store,
John gave a drink to" -> " Mary". Negatives / corrupted prompts are the ABC distribution: a third
name replaces the second mention of the subject, so the indirect object cannot be inferred."""
from __future__ import annotations

import random

import torch

from bench.errors import CdbenchError
from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.text import single_tokens, token_id

NAMES = [" Mary", " John", " Tom", " James", " Dan", " Sid", " Martin", " Amy", " Anna", " Kate", " Paul",
         " Mark", " Lisa", " Sarah", " David", " Michael", " Rose", " Laura", " Peter", " Alice", " Steve",
         " Jane", " Ben", " Emma", " Chris", " Kevin", " Brian", " Jack", " Adam", " Eric"]
PLACES = ["store", "garden", "restaurant", "school", "hospital", "office", "house", "station"]
OBJECTS = ["drink", "ring", "kiss", "bone", "basketball", "computer", "necklace", "snack"]
# {A} and {B} are the two names; {S} is the repeated subject; the prompt ends before the IO.
TEMPLATES = [
    "When{A} and{B} went to the {place},{S} gave a {obj} to",
    "Then,{A} and{B} went to the {place}.{S} gave a {obj} to",
    "While{A} and{B} were working at the {place},{S} gave a {obj} to",
    "After{A} and{B} went to the {place},{S} gave a {obj} to",
    "Friends{A} and{B} found a {obj} at the {place}.{S} gave it to",
    "When{A} and{B} got a {obj} at the {place},{S} decided to give it to",
]


def build(loaded, n: int, seed: int) -> TaskPrompts:
    tok = loaded.tokenizer
    if tok is None:
        raise CdbenchError(f"task ioi needs a text tokenizer; model {loaded.name} has none")
    names = single_tokens(tok, NAMES)
    rng = random.Random(seed)
    clean, corrupt, answer, wrong = [], [], [], []
    for i in range(n):
        io, s, c = rng.sample(names, 3)
        a, b = (io, s) if i % 2 == 0 else (s, io)  # alternate ABBA / BABA orders
        fill = dict(place=rng.choice(PLACES), obj=rng.choice(OBJECTS))
        template = rng.choice(TEMPLATES)
        clean.append(tok.encode(template.format(A=a, B=b, S=s, **fill)))
        corrupt.append(tok.encode(template.format(A=a, B=b, S=c, **fill)))
        answer.append(token_id(tok, io))
        wrong.append(token_id(tok, s))
    return TaskPrompts("ioi", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                       LogitDiff(torch.tensor(answer), torch.tensor(wrong)), seed, {"templates": len(TEMPLATES)})


TASK = Task("ioi", "indirect object identification; negatives replace the repeated subject with a third name (ABC); "
            "metric logit(IO) - logit(S)", build)
