"""Helpers for tasks built from text with a real tokenizer: the model's BOS convention, single-token
word lists, and the released prompt generators' word lists (``bench/tasks/data``)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import CdbenchError, EmptyPromptsError
from bench.models.tokenizers import TextTokenizer

if TYPE_CHECKING:
    from bench.models.registry import LoadedModel

DATA = Path(__file__).resolve().parent / "data"


def tokenizer(loaded: "LoadedModel", task: str) -> TextTokenizer:
    if loaded.tokenizer is None or not hasattr(loaded.tokenizer, "encode"):
        raise CdbenchError(f"task {task} needs a text tokenizer; model {loaded.name} has none")
    return loaded.tokenizer


def encode(loaded: "LoadedModel", text: str) -> list[int]:
    """Token ids as the model was trained to read them: BOS first where the model uses one."""
    ids = loaded.tokenizer.encode(text)
    return ids if loaded.bos is None else [loaded.bos, *ids]


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


@lru_cache(maxsize=None)
def data(name: str) -> dict[str, Any]:
    """A word-list file from ``bench/tasks/data`` (facts from a released generator, with its source)."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
