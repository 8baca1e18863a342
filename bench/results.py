"""The results file and the per-run files beside it: the only code that writes either.

``results.csv`` is append-only: each finished run appends its rows under an exclusive lock on
``results.csv.lock``, so concurrent ``cdbench run`` processes lose nothing, and readers keep the last row
per (cache_key, level), so a rerun replaces its old rows. Each run's scores, curves and diagnostics go to
``runs/<cache_key>.json.gz`` beside the results file (written atomically), which is all the report reads."""
from __future__ import annotations

import csv
import fcntl
import gzip
import io
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bench.errors import CdbenchError
from bench.io import atomic_write_bytes

COLUMNS = ["method", "task", "model", "weights", "weights_sha256", "gt_version", "gt_hash", "prompt_set", "seed",
           "level", "auc", "null_auc", "auc_acdc", "precision_at_k", "recall_at_k", "k", "cpr", "cmd", "faith_level",
           "faith_status", "wall_s", "faith_s", "null_s", "n_prompts", "config_hash", "overrides", "setting", "ablation",
           "metric", "degenerate", "device", "cdbench_commit", "versions", "cache_key"]
HEADER = ",".join(COLUMNS)
# What makes two rows the same measurement: a rerun of it (other code, library versions or timings, hence
# another cache key) replaces the earlier row when read, so a report never averages two code versions.
RUN_IDENTITY = ["method", "task", "model", "weights_sha256", "gt_version", "gt_hash", "prompt_set", "seed", "level",
                "n_prompts", "config_hash", "overrides", "device"]


def runs_dir_for(results: Path) -> Path:
    """Where the per-run files of a results file live (``reports/runs`` for ``reports/results.csv``)."""
    return Path(results).parent / "runs"


def check_results_path(path: Path) -> None:
    """Raise a one-line error unless ``path`` can take cdbench results: its directory exists or can be
    made, it is not a directory, and an existing file is a cdbench results file with today's columns."""
    path = Path(path)
    if path.is_dir():
        raise CdbenchError(f"results path {path} is a directory; name a .csv file")
    parent = path.parent
    for p in [parent, *parent.parents]:
        if p.exists():
            if not p.is_dir():
                raise CdbenchError(f"results path {path} lies under {p}, which is a file")
            if not os.access(p, os.W_OK):
                raise CdbenchError(f"results path {path}: {p} is not writable")
            break
    if path.exists():
        try:
            with open(path, "rb") as f:
                first = f.readline(1 << 16).decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise CdbenchError(f"results file {path} is not a cdbench results file (not UTF-8 text)") from None
        except OSError as exc:
            raise CdbenchError(f"results file {path} cannot be read ({exc.strerror})") from None
        if first and first != HEADER:
            raise CdbenchError(f"results file {path} is not a cdbench results file with today's columns "
                               f"(header starts {first[:60]!r}); name another file or move it aside")
        if not first and path.stat().st_size > 0:
            raise CdbenchError(f"results file {path} is not a cdbench results file (no header line)")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = Path(f"{path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows (in :data:`COLUMNS` order) under the file's lock; the header goes first in a new file."""
    path = Path(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="raise", lineterminator="\n")
    for r in rows:
        writer.writerow({k: _cell(r.get(k)) for k in COLUMNS})
    with _locked(path):
        new = not path.exists() or path.stat().st_size == 0
        data = ((HEADER + "\n") if new else "") + buf.getvalue()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode())  # one write under the lock: a whole block of lines or nothing
            os.fsync(fd)
        finally:
            os.close(fd)


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return ""
    return "" if v is None else v


def read_results(path: Path):
    """The results as a DataFrame, one row per measurement (:data:`RUN_IDENTITY`): the last one written wins."""
    import pandas as pd

    path = Path(path)
    check_results_path(path)
    if not path.is_file():
        raise CdbenchError(f"no results at {path}; run `cdbench run` first")
    try:
        df = pd.read_csv(path, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise CdbenchError(f"results file {path} cannot be parsed ({str(exc).splitlines()[0][:120]})") from None
    if df.empty:
        raise CdbenchError(f"{path} has no rows; run `cdbench run` first")
    return df.drop_duplicates(RUN_IDENTITY, keep="last").reset_index(drop=True)


def known_keys(path: Path) -> set[str]:
    """Cache keys already in the results file (so a cached rerun does not append its rows again)."""
    import pandas as pd

    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        return set()
    return set(pd.read_csv(path, usecols=["cache_key"])["cache_key"].astype(str))


def write_run(results: Path, key: str, run: dict[str, Any]) -> Path:
    """The run's file under ``runs/`` beside the results file (gzip with mtime 0: byte-stable)."""
    path = runs_dir_for(results) / f"{key}.json.gz"
    atomic_write_bytes(path, gzip.compress(json.dumps(run, separators=(",", ":")).encode(), mtime=0))
    return path


def read_run(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(gzip.decompress(Path(path).read_bytes()))
    except (OSError, ValueError):
        return None
