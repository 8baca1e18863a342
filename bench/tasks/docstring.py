"""Docstring (Heimersheim and Janiak 2023) with ACDC's prompt generator at the settings the SAE-code
paper's released code uses: reST style, 3 matching arguments, 2 signature arguments before them and 1
after, no docstring-only arguments, a 3-word method description and 2-word argument descriptions. The
clean prompt lists the first two matching arguments as ``:param`` lines and ends on ``:param``; the answer
is the third. The ``random_random`` negative replaces the signature's matching arguments and the listed
ones by fresh names. Metric: logit(answer) - the largest logit of the other 13 argument names (ACDC's
docstring metric). Names and nouns are ACDC's lists, kept where the tokenizer makes them one token."""
from __future__ import annotations

import random

import torch

from bench.tasks.base import LogitDiff, PromptBatch, Task, TaskPrompts
from bench.tasks.text import data, encode, single_tokens, token_id, tokenizer

PROMPT_VERSION = "docstring.acdc2023.random_random.v1"
N_MATCHING, N_PREFIX, N_SUFFIX, DESC_LEN, ARG_DESC_LEN = 3, 2, 1, 3, 2


def render(method: str, def_args: list[str], doc_args: list[str], desc: list[str], arg_descs: list[list[str]]) -> str:
    """ACDC's reST template: signature, a one-line description, one ``:param`` line per listed argument,
    and a final open ``:param``."""
    lines = "\n".join(f"    :param {a}: {' '.join(d)}" for a, d in zip(doc_args, arg_descs))
    return f'\ndef {method}(self, {", ".join(def_args)}):\n    """{" ".join(desc)}\n\n{lines}\n    :param'


def build(loaded, n: int, seed: int) -> TaskPrompts:
    tok = tokenizer(loaded, "docstring")
    words = data("docstring_acdc2023")
    names = [w.strip() for w in single_tokens(tok, [" " + x for x in words["variable_names"]])]
    nouns = [w.strip() for w in single_tokens(tok, [" " + x for x in words["nouns"]])]
    clean, corrupt, answer, wrong = [], [], [], []
    i = 0
    while len(clean) < n:
        rng = random.Random(f"{seed}:{i}")  # one generator seed per prompt, as ACDC's (seed=i)
        i += 1
        method, *all_args = rng.sample(names, 2 + N_MATCHING + 2 * (N_MATCHING - 1) + N_MATCHING + N_PREFIX + N_SUFFIX)
        args = all_args[1:]  # all_args[0] is the random answer ACDC draws for another corruption
        rr_def, args = args[:N_MATCHING], args[N_MATCHING:]
        rr_doc, args = args[:N_MATCHING - 1], args[N_MATCHING - 1:]
        args = args[N_MATCHING - 1:]  # ACDC also draws the non-matching names other corruptions use
        matching, prefix, suffix = args[:N_MATCHING], args[N_MATCHING:N_MATCHING + N_PREFIX], args[N_MATCHING + N_PREFIX:]
        desc = rng.sample(nouns, DESC_LEN)
        arg_descs = [rng.sample(nouns, ARG_DESC_LEN) for _ in range(N_MATCHING - 1)]
        a = encode(loaded, render(method, prefix + matching + suffix, matching[:-1], desc, arg_descs))
        b = encode(loaded, render(method, prefix + rr_def + suffix, rr_doc, desc, arg_descs))
        if len(a) != len(b):
            continue
        everyone = [x for x in all_args if x != matching[-1]]
        clean.append(a)
        corrupt.append(b)
        answer.append(token_id(tok, " " + matching[-1]))
        wrong.append([token_id(tok, " " + x) for x in everyone])
    return TaskPrompts("docstring", PromptBatch.from_lists(clean), PromptBatch.from_lists(corrupt),
                       LogitDiff(torch.tensor(answer), torch.tensor(wrong), name="logit_diff_max_wrong"), PROMPT_VERSION)


TASK = Task("docstring", "next :param name, ACDC's generator (random_random negatives); metric logit(answer) - "
            "max logit of the other argument names", build, family="docstring",
            gt_model="attn-only-4l", default_gt="heimersheim2023.v2")
