"""Indirect object identification (Wang et al. 2022) as the SAE-code paper's released generator builds
it: Wang et al.'s 15 BABA templates and their 15 ABBA twins, the released 99 names (those that are one
token with a leading space), the prompt cut before the indirect object. "When Mary and John went to the
store, John gave a drink to" -> " Mary". The negative fills the same template with a third name C in the
IO's slots and the IO in the first subject slot ("Mary and Tom went to the store. John gave a drink to"):
no name is repeated, so the IO cannot be inferred. Metric: logit(IO) - logit(S)."""
from __future__ import annotations

import random

import torch

from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.text import data, encode, single_tokens, token_id, tokenizer

PROMPT_VERSION = "ioi.oneill2024.v1"


def abba(template: str) -> str:
    """The ABBA twin of a BABA template: its first [B] and first [A] swap places."""
    b, a = template.index("[B]"), template.index("[A]")
    chars = list(template)
    chars[b + 1], chars[a + 1] = "A", "B"
    return "".join(chars)


def templates() -> list[str]:
    baba = data("ioi_oneill2024")["baba_templates"]
    return [abba(t) for t in baba] + list(baba)


def _fill(template: str, a: str, b: str, first_b: str, place: str, obj: str) -> str:
    """Fill the slots, with ``first_b`` in the first [B] slot; the final " [A]" (the answer) is cut."""
    assert template.endswith(" [A]")
    body = template[: -len(" [A]")].replace("[PLACE]", place).replace("[OBJECT]", obj)
    i = body.index("[B]")
    body = body[:i] + first_b.strip() + body[i + 3:]
    return body.replace("[A]", a.strip()).replace("[B]", b.strip())


def build(loaded, n: int, seed: int) -> TaskPrompts:
    tok = tokenizer(loaded, "ioi")
    words = data("ioi_oneill2024")
    names = single_tokens(tok, [" " + x for x in words["names"]])
    temps = templates()
    rng = random.Random(seed)
    clean, corrupt, answer, wrong = [], [], [], []
    for _ in range(n):
        template = rng.choice(temps)
        io, s, c = rng.sample(names, 3)
        place, obj = rng.choice(words["places"]), rng.choice(words["objects"])
        clean.append(encode(loaded, _fill(template, io, s, s, place, obj)))
        corrupt.append(encode(loaded, _fill(template, c, s, io, place, obj)))
        answer.append(token_id(tok, io))
        wrong.append(token_id(tok, s))
    return TaskPrompts("ioi", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                       LogitDiff(torch.tensor(answer), torch.tensor(wrong)), PROMPT_VERSION)


TASK = Task("ioi", "indirect object identification, the released generator (30 templates, 99 names); negatives "
            "'IO and C ..., S gave ... to'; metric logit(IO) - logit(S)", build, family="ioi", gt_model="gpt2", default_gt="wang2022.v2")
