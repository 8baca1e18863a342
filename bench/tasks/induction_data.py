"""Random-token sequences with repeated spans: training data for the embedded model and the
``induction`` task's prompts. Repeats start at random offsets with random lengths, so a fixed
positional offset cannot solve them; only previous-token + induction heads can."""
from __future__ import annotations

import torch

BOS = 0


def training_batch(gen: torch.Generator, batch: int, seq_len: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens ``[batch, seq_len]`` (BOS first) and a bool mask of positions whose next token is
    predictable in context. Each sequence is BOS, a random prefix (0-13 tokens), a random span
    (6-16 tokens), a random gap (0-4 tokens), then the span again, cut at ``seq_len``: the repeat
    offset varies from 6 to 20 and its start from 1 to 14, so no fixed positional offset solves it."""
    toks = torch.randint(1, vocab, (batch, seq_len), generator=gen)
    toks[:, 0] = BOS
    predictable = torch.zeros(batch, seq_len, dtype=torch.bool)
    r = torch.randint(0, 1 << 30, (batch, 3), generator=gen).tolist()
    for i, (a, b, c) in enumerate(r):
        lo, span, gap = 1 + a % 14, 6 + b % 11, c % 5
        dst = lo + span + gap
        end = min(dst + span, seq_len)
        toks[i, dst:end] = toks[i, lo:lo + end - dst]
        predictable[i, dst:end - 1] = True  # position p predicts token p+1, known from the first copy
    return toks, predictable


def task_prompts(gen: torch.Generator, n: int, seq_len: int, vocab: int) -> dict[str, torch.Tensor]:
    """``n`` clean prompts that end inside a second copy of a span (answer = the next span token)
    and matched corrupted prompts whose first copy is replaced by fresh tokens (answer unknowable).

    Span tokens are distinct and never appear in the filler, so in a corrupted prompt the final
    token has no earlier occurrence at all. ``wrong`` is the token induction would predict from the
    corrupted first copy."""
    clean = torch.empty(n, seq_len, dtype=torch.long)
    corrupt = torch.empty(n, seq_len, dtype=torch.long)
    answer = torch.empty(n, dtype=torch.long)
    wrong = torch.empty(n, dtype=torch.long)
    for i in range(n):
        span_len = 5 + int(torch.randint(0, 4, (1,), generator=gen))
        m = 2 + int(torch.randint(0, span_len - 2, (1,), generator=gen))
        gap = int(torch.randint(0, 4, (1,), generator=gen))
        prefix = seq_len - 1 - span_len - gap - m
        perm = torch.randperm(vocab - 1, generator=gen) + 1
        span, fresh, pool = perm[:span_len], perm[span_len:2 * span_len], perm[2 * span_len:]
        filler = pool[torch.randint(0, len(pool), (prefix + gap,), generator=gen)]
        body = [torch.tensor([BOS]), filler[:prefix], span, filler[prefix:], span[:m]]
        clean[i] = torch.cat(body)
        body[2] = fresh
        corrupt[i] = torch.cat(body)
        answer[i], wrong[i] = span[m], fresh[m]
    return {"clean": clean, "corrupted": corrupt, "answer": answer, "wrong": wrong}
