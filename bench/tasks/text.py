"""Helpers for tasks built from text with a real tokenizer."""
from __future__ import annotations

from bench.errors import EmptyPromptsError
from bench.models.tokenizers import TextTokenizer


def single_tokens(tok: TextTokenizer, words: list[str]) -> list[str]:
    """The words (with their leading space) that the tokenizer keeps as one token."""
    keep = [w for w in words if len(tok.encode(w)) == 1]
    if not keep:
        raise EmptyPromptsError("no candidate word is a single token for this tokenizer")
    return keep


def token_id(tok: TextTokenizer, word: str) -> int:
    ids = tok.encode(word)
    if len(ids) != 1:
        raise ValueError(f"{word!r} is {len(ids)} tokens, expected 1")
    return ids[0]
