"""Models that TransformerLens loads from Hugging Face files, without the network.

``hf:NAME`` is a TransformerLens name or a hub id, read from the local Hugging Face cache (the snapshot
``refs/main`` names); ``path:DIR`` is a local Hugging Face-format directory (``config.json``, weights and,
for text tasks, tokenizer files). Official TransformerLens names go through
``HookedTransformer.from_pretrained``; a hub id TransformerLens does not list, and any ``path:``, go through
the same conversion functions from their directory. Only :func:`fetch` uses the network.

The tokenizer is the one the model's config names, loaded from local files; the BOS rule is
TransformerLens's default for the model (``cfg.default_prepend_bos``). The weights hash is the sha256 of the
weight files themselves. Deep-learning libraries are imported inside functions only."""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from bench.errors import CdbenchError, ModelMissingError

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

DTYPES = ("float32", "bfloat16", "float16")
PREFIXES = ("hf:", "path:")
FETCH = "cdbench fetch-models"


@dataclass(frozen=True)
class HubRef:
    """Where a hub-format model's files are. ``official``: TransformerLens's official name (None for a
    ``path:`` directory or a hub id TransformerLens does not list); ``repo``: the hub repository."""

    name: str
    official: str | None
    repo: str | None
    directory: Path | None  # the snapshot (hf:) or the directory (path:); None when not cached


@dataclass(frozen=True)
class TextIds:
    """A Hugging Face tokenizer as tasks use it: text -> ids with no special tokens (the BOS rule is
    applied by the task, from the model), ids -> text."""

    hf: Any

    def encode(self, text: str) -> list[int]:
        return list(self.hf(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return self.hf.decode(ids)


def is_hub_name(name: str) -> bool:
    return name.startswith(PREFIXES)


def official_name(name: str) -> str | None:
    """TransformerLens's official name for ``name`` (an alias, official name or listed hub id), else None."""
    from transformer_lens.loading_from_pretrained import get_official_model_name

    try:
        return get_official_model_name(name)
    except ValueError:
        return None


def snapshot(repo: str) -> Path | None:
    """The cached snapshot directory of ``repo`` that ``refs/main`` names, or None (reads no network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        hit = try_to_load_from_cache(repo, "config.json")
    except ValueError as exc:  # huggingface_hub's HFValidationError: not a repository id
        raise CdbenchError(f"hf:{repo} is neither a TransformerLens name nor a hub id ({exc})") from None
    return Path(hit).parent if isinstance(hit, str) else None


def resolve(name: str) -> HubRef:
    """``hf:NAME`` or ``path:DIR`` as files on this machine; a malformed name is a CdbenchError."""
    if name.startswith("path:"):
        d = Path(name[len("path:"):]).expanduser()
        if not name[len("path:"):]:
            raise CdbenchError("--model path:DIR needs a directory")
        return HubRef(name, None, None, d.resolve() if (d / "config.json").is_file() else None)
    if not name.startswith("hf:") or not name[len("hf:"):]:
        raise CdbenchError(f"model {name!r}: use hf:NAME (a TransformerLens name or hub id) or path:DIR")
    raw = name[len("hf:"):]
    official = official_name(raw)
    repo = official or raw
    return HubRef(name, official, repo, snapshot(repo))


def weight_files(directory: Path) -> tuple[Path, ...]:
    """The files the weights are read from: safetensors, else PyTorch ``.bin`` shards, else the
    TransformerLens-format ``*final.pth`` that NeelNanda's models ship."""
    for pattern in ("*.safetensors", "pytorch_model*.bin", "*final.pth"):
        found = sorted(p for p in directory.glob(pattern) if p.is_file())
        if found:
            return tuple(found)
    return ()


def present(ref: HubRef) -> bool:
    return ref.directory is not None and bool(weight_files(ref.directory))


def missing_hint(ref: HubRef) -> str:
    if ref.repo is None:
        return f"{ref.name}: no config.json and weights there (a Hugging Face-format directory is needed)"
    return f"{ref.repo} is not in the local Hugging Face cache; run `{FETCH} {ref.name}` on a machine that reaches the hub"


def files_sha256(files: tuple[Path, ...], file_sha256: Callable[[Path], str]) -> str:
    """One file: its sha256. Several (shards): sha256 over their names and sha256s, in name order."""
    if len(files) == 1:
        return file_sha256(files[0])
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}:{file_sha256(f)}\n".encode())
    return h.hexdigest()


@contextlib.contextmanager
def _neutral_path(directory: Path) -> Iterator[str]:
    """The directory under a neutral name. TransformerLens picks some architectures by substrings of the
    model's name before reading its config (a path with "llama" or "gemma" in it skips the config and fails),
    so a directory is handed to it as a link named ``model`` in a fresh temporary directory."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cdbench-") as tmp:
        link = Path(tmp) / "model"
        link.symlink_to(directory, target_is_directory=True)
        yield str(link)


def _tl_config_dict(ref: HubRef) -> dict[str, Any]:
    """TransformerLens's config for the model, from local files only (no weights read)."""
    from transformer_lens import loading_from_pretrained as loading

    if ref.official is not None:
        if ref.official.startswith(("NeelNanda", "ArthurConmy", "Baidicoot")):
            return loading.convert_neel_model_config(ref.official, local_files_only=True)
        return loading.convert_hf_model_config(ref.official, local_files_only=True)
    assert ref.directory is not None
    with _neutral_path(ref.directory) as where:
        return loading.convert_hf_model_config(where, local_files_only=True)


def shape(ref: HubRef) -> tuple[int, int, bool]:
    """(n_layers, n_heads, attn_only), read from the config without loading weights."""
    cfg = _tl_config_dict(ref)
    return int(cfg["n_layers"]), int(cfg["n_heads"]), bool(cfg.get("attn_only", False))


def tokenizer_name(ref: HubRef) -> str | None:
    """The tokenizer the model's config names (TransformerLens's ``tokenizer_name``)."""
    if ref.official is None:
        return str(ref.directory)
    return _tl_config_dict(ref).get("tokenizer_name")


def check_dtype(dtype: str, device: str) -> None:
    """float32 anywhere; bfloat16 / float16 on CUDA only (CPU kernels for them are slow or missing)."""
    if dtype not in DTYPES:
        raise CdbenchError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if dtype != "float32" and not device.startswith("cuda"):
        raise CdbenchError(f"--dtype {dtype} is for CUDA; on {device} cdbench computes in float32 (drop --dtype)")


@contextlib.contextmanager
def _cached_repo_listing(ref: HubRef) -> Iterator[None]:
    """TransformerLens finds NeelNanda's ``*final.pth`` by listing the repository on the hub
    (``HfApi().list_repo_files``), which fails offline even when every file is cached; for the length of
    one load, the listing is read from the cached snapshot instead."""
    from transformer_lens import loading_from_pretrained as loading

    directory = ref.directory
    assert directory is not None

    class CachedListing:
        def list_repo_files(self, repo_id: str, **_: Any) -> list[str]:
            return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())

    real = loading.HfApi
    loading.HfApi = CachedListing  # type: ignore[assignment]
    try:
        yield
    finally:
        loading.HfApi = real  # type: ignore[assignment]


def _tokenizer(source: str | None) -> Any:
    """The model's tokenizer from local files, as TransformerLens loads it (``add_bos_token=True``), or None
    when there are no tokenizer files."""
    if source is None:
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source, add_bos_token=True, local_files_only=True)
    except (OSError, ValueError) as exc:
        if Path(source).is_dir():
            return None  # a directory without tokenizer files: token-id tasks still run
        raise ModelMissingError(f"tokenizer {source} is not in the local Hugging Face cache; run `{FETCH}` "
                                f"for the model on a machine that reaches the hub ({type(exc).__name__})") from None


def _from_directory(ref: HubRef, device: str, dtype: Any, tok: Any) -> "HookedTransformer":
    """``HookedTransformer.from_pretrained``'s steps for a directory (from_pretrained itself accepts official
    names only): TransformerLens's config, the model read by transformers, TransformerLens's weight
    conversion for its architecture, then its default weight processing (fold LayerNorm, centre the
    writing weights and the unembedding, fold value biases)."""
    from transformer_lens import HookedTransformer
    from transformer_lens import loading_from_pretrained as loading
    from transformers import AutoModelForCausalLM

    assert ref.directory is not None
    fold_ln = center_writing = center_unembed = True
    hf_model = AutoModelForCausalLM.from_pretrained(ref.directory, dtype=dtype, local_files_only=True)
    with _neutral_path(ref.directory) as where:
        cfg = loading.get_pretrained_model_config(where, fold_ln=fold_ln, device=device, dtype=dtype,
                                                  local_files_only=True)
        if cfg.positional_embedding_type == "shortformer":
            fold_ln = center_writing = center_unembed = False
        if cfg.output_logits_soft_cap > 0.0:
            center_unembed = False
        state = loading.get_pretrained_state_dict(where, cfg, hf_model, dtype=dtype)
    del hf_model
    model = HookedTransformer(cfg, tok, move_to_device=False)
    model.load_and_process_state_dict(state, fold_ln=fold_ln, center_writing_weights=center_writing,
                                      center_unembed=center_unembed, fold_value_biases=True,
                                      refactor_factored_attn_matrices=False)
    model.move_model_modules_to_device()
    return model


def load(ref: HubRef, device: str, dtype: str = "float32") -> tuple["HookedTransformer", Any, int | None]:
    """(model, tokenizer for tasks or None, BOS id to prepend or None), from local files only."""
    import torch

    if not present(ref):
        raise ModelMissingError(f"model {ref.name} is not present: {missing_hint(ref)}")
    check_dtype(dtype, device)
    torch_dtype = getattr(torch, dtype)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tok = _tokenizer(tokenizer_name(ref))
    if ref.official is not None:
        from transformer_lens import HookedTransformer

        with _cached_repo_listing(ref), contextlib.redirect_stdout(None):  # it prints "Loaded pretrained model"
            model = HookedTransformer.from_pretrained(ref.official, device=device, dtype=torch_dtype, tokenizer=tok,
                                                      local_files_only=True)
    else:
        model = _from_directory(ref, device, torch_dtype, tok)
    tok = model.tokenizer
    bos = tok.bos_token_id if tok is not None and model.cfg.default_prepend_bos else None
    return model, (TextIds(tok) if tok is not None else None), bos


def fetch(name: str) -> str:
    """Download what :func:`load` reads into the local Hugging Face cache (the only network use). Returns
    the repository fetched."""
    if name.startswith("path:"):
        raise CdbenchError(f"{name} is a local directory; there is nothing to fetch")
    raw = name[len("hf:"):] if name.startswith("hf:") else name
    official = official_name(raw)
    if official is not None:
        from transformer_lens import HookedTransformer

        HookedTransformer.from_pretrained(official, device="cpu")
        return official
    from huggingface_hub import snapshot_download

    snapshot_download(raw, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"])
    return raw
