"""The results file and the per-run files beside it: the only code that writes or reads either.

``results.csv`` is append-only (except once, when a file with an earlier header is rewritten under
today's, under the same lock): each finished run appends its rows under an exclusive lock on
``results.csv.lock``, so concurrent ``cdbench run`` processes lose nothing, and readers keep the last row
per (cache_key, level), so a rerun replaces its old rows. Each run's scores, curves and diagnostics go to
``runs/<cache_key>.json.gz`` beside the results file (written atomically), which is all the report reads.
A results path given through a symlink is resolved first: the lock and ``runs/`` sit beside the real file.

Reading is strict: a malformed row is refused with its line number, and a run file that is truncated,
corrupted or of the wrong shape is a :class:`RunFileError` naming it (``run`` treats one in its cache as a
miss, with a warning; ``report`` and ``export`` stop on it)."""
from __future__ import annotations

import csv
import fcntl
import gzip
import io
import json
import logging
import math
import os
import re
import stat
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from bench.errors import CdbenchError
from bench.io import atomic_write_bytes

COLUMNS = ["method", "task", "model", "weights", "weights_sha256", "gt_version", "gt_hash", "prompt_set", "seed",
           "level", "auc", "auc_mib", "null_auc", "auc_acdc", "precision_at_k", "recall_at_k", "k", "cpr", "cmd", "faith_level",
           "faith_status", "wall_s", "faith_s", "null_s", "peak_rss_gb", "n_prompts", "config_hash", "overrides", "setting", "ablation",
           "metric", "degenerate", "device", "cdbench_commit", "method_code", "versions", "cache_key"]
HEADER = ",".join(COLUMNS)
# What makes two rows the same measurement: a rerun of it (other code, library versions or timings, hence
# another cache key) replaces the earlier row when read, so a report never averages two code versions.
RUN_IDENTITY = ["method", "task", "model", "weights_sha256", "gt_version", "gt_hash", "prompt_set", "seed", "level",
                "n_prompts", "config_hash", "overrides", "device"]
# Columns added after the first results and run files were written. A run file without them is read as it
# is (its results row carries them: see the README); a results file whose header lacks only these is read
# with them empty, and rewritten with today's header (cells empty) before anything is appended to it.
ADDED_COLUMNS = ("method_code", "peak_rss_gb")
LEVELS = ("node", "edge", "edge_head", "node_mlp")
FRACTIONS = ("auc", "auc_mib", "null_auc", "auc_acdc", "precision_at_k", "recall_at_k")  # empty, or a number in [0, 1]
REALS = ("cpr", "cmd")  # empty, or a finite number
SECONDS = ("wall_s", "faith_s", "null_s")  # a finite number >= 0
GIGABYTES = ("peak_rss_gb",)  # empty (not measured: written before the column, or /proc could not say), or >= 0
REQUIRED = ("method", "level", "cache_key")
KEY = re.compile(r"[0-9a-f]{16}")
INT = re.compile(r"-?[0-9]+")


class RunFileError(CdbenchError):
    """A run file (or cache entry) that exists but is not a readable run: truncated, corrupted, wrong shape."""


@dataclass(frozen=True)
class ResultsPaths:
    """Where a results file's pieces live: the real file (symlinks resolved), its lock and its run files."""

    results: Path
    lock: Path
    runs: Path


def results_paths(path: Path) -> ResultsPaths:
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise CdbenchError(f"results path {path} cannot be resolved ({exc})") from None
    return ResultsPaths(real, Path(f"{real}.lock"), real.parent / "runs")


def runs_dir_for(results: Path) -> Path:
    """Where the per-run files of a results file live (``reports/runs`` for ``reports/results.csv``)."""
    return results_paths(results).runs


def run_file(directory: Path, key: str) -> Path:
    """The one place a run file's name is made: ``DIR/<cache_key>.json.gz`` (run files and the run cache)."""
    return Path(directory) / f"{key}.json.gz"


def _kind(path: Path) -> str | None:
    """None when nothing is at ``path``, else 'file', 'directory' or what special file it is."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise CdbenchError(f"{path} cannot be examined ({exc.strerror})") from None
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _probe_dir(directory: Path, what: str) -> None:
    """Create and remove a file in ``directory``: the only honest writability test (``os.access`` says yes
    to root everywhere, /proc included)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".cdbench-probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise CdbenchError(f"{what}: cannot create files in {directory} ({exc.strerror})") from None


def _probe_append(path: Path, what: str) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
    except OSError as exc:
        raise CdbenchError(f"{what} {path} cannot be written ({exc.strerror})") from None


def header_columns(first: str) -> list[str] | None:
    """The columns a header line names: today's, or an earlier header that lacks only columns added since
    (:data:`ADDED_COLUMNS`), in today's order; None for anything else."""
    cols = first.split(",")
    if cols == COLUMNS:
        return cols
    missing = set(COLUMNS) - set(cols)
    if missing and missing <= set(ADDED_COLUMNS) and cols == [c for c in COLUMNS if c in cols]:
        return cols
    return None


def _first_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.readline(1 << 16).decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise CdbenchError(f"results file {path} is not a cdbench results file (not UTF-8 text)") from None
    except OSError as exc:
        raise CdbenchError(f"results file {path} cannot be read ({exc.strerror})") from None


def _check_header(path: Path) -> None:
    first = _first_line(path)
    if first and header_columns(first) is None:
        raise CdbenchError(f"results file {path} is not a cdbench results file with today's columns "
                           f"(header starts {first[:60]!r}); name another file or move it aside")
    if not first and path.stat().st_size > 0:
        raise CdbenchError(f"results file {path} is not a cdbench results file (no header line)")


def check_results_path(path: Path) -> ResultsPaths:
    """Check every path a run will write for what it will be used for, before any work: the results file
    (a regular cdbench results file or nothing, its folder creatable and writable), its lock (a regular file
    or nothing) and its ``runs/`` folder (a writable folder or nothing, and not the results file itself),
    all beside the real file when ``path`` is a symlink. Writability is tested by creating and removing a
    file. Returns the resolved paths; raises a one-line CdbenchError otherwise."""
    given = Path(path)
    p = results_paths(given)
    kind = _kind(p.results)
    if kind == "directory":
        raise CdbenchError(f"results path {given} is a directory; name a .csv file")
    if kind not in (None, "file"):
        raise CdbenchError(f"results path {given} is a {kind}; name a regular .csv file")
    if p.results == p.runs:
        raise CdbenchError(f"results path {given} is the folder its run files go in ({p.runs}); name a .csv file")
    for extra, want, label in ((p.lock, "file", "lock file"), (p.runs, "directory", "run-file folder")):
        k = _kind(extra)
        if k not in (None, want):
            raise CdbenchError(f"results path {given}: its {label} {extra} is a {k}, not a {want}; move it aside")
    for d in [p.results.parent, *p.results.parent.parents]:
        k = _kind(d)
        if k is None:
            continue
        if k != "directory":
            raise CdbenchError(f"results path {given} lies under {d}, which is a {k}")
        _probe_dir(d, f"results path {given}")
        break
    if _kind(p.runs) == "directory":
        _probe_dir(p.runs, f"results path {given}: run-file folder")
    for existing, label in ((p.results, "results file"), (p.lock, "lock file")):
        if _kind(existing) == "file":
            _probe_append(existing, label)
    if kind == "file":
        _check_header(p.results)
    return p


def check_results_readable(path: Path) -> Path:
    """The real results file to read (report, export), checked: a regular file with today's header or an
    earlier one that lacks only added columns."""
    p = results_paths(path)
    kind = _kind(p.results)
    if kind is None:
        raise CdbenchError(f"no results at {path}; run `cdbench run` first")
    if kind != "file":
        raise CdbenchError(f"results path {path} is a {kind}; name a results .csv file")
    _check_header(p.results)
    return p.results


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """The results file's exclusive lock (``results.csv.lock``), held by every writer of the file."""
    lock = results_paths(path).lock
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def append_rows(path: Path, rows: list[dict[str, Any]]) -> int:
    """Append rows (in :data:`COLUMNS` order) under the file's lock; the header goes first in a new file.
    Returns the number of rows appended."""
    path = results_paths(path).results
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="raise", lineterminator="\n")
    for r in rows:
        writer.writerow({k: _cell(r.get(k)) for k in COLUMNS})
    with locked(path):
        new = not path.exists() or path.stat().st_size == 0
        if not new:
            _upgrade_header(path)
        data = ((HEADER + "\n") if new else "") + buf.getvalue()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode())  # one write under the lock: a whole block of lines or nothing
            os.fsync(fd)
        finally:
            os.close(fd)
    return len(rows)


def _upgrade_header(path: Path) -> None:
    """Rewrite (atomically) a results file with an earlier header under today's, the added columns empty;
    a malformed row stops it (as :func:`read_rows` would) and the file is left as it was."""
    if header_columns(_first_line(path)) in (None, COLUMNS):
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    added: list[str] = []
    for _, cols, rec in _records(path, path):
        row = dict(zip(cols, rec))
        added = [c for c in COLUMNS if c not in row]
        writer.writerow([row.get(c, "") for c in COLUMNS])
    atomic_write_bytes(path, buf.getvalue().encode())
    logging.getLogger(__name__).warning("%s: rewritten with today's columns (%s added, empty)", path,
                                        ", ".join(added) or "none")


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return ""
    return "" if v is None else v


def _number(v: str, col: str, where: str, lo: float | None = None, hi: float | None = None) -> float:
    if v == "":
        return math.nan
    try:
        x = float(v)
    except ValueError:
        raise CdbenchError(f"{where}: {col} is {v[:40]!r}, not a number; fix or delete the row") from None
    if not math.isfinite(x) or (lo is not None and x < lo) or (hi is not None and x > hi):
        raise CdbenchError(f"{where}: {col} is {v[:40]!r}, outside [{lo}, {hi}]; fix or delete the row")
    return x


def _integer(v: str, col: str, where: str, required: bool) -> int | None:
    if v == "" and not required:
        return None
    if not INT.fullmatch(v):
        raise CdbenchError(f"{where}: {col} is {v[:40]!r}, not an integer; fix or delete the row")
    return int(v)


def _parse_row(rec: list[str], where: str, cols: list[str] = COLUMNS) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "") | dict(zip(cols, rec))
    for col in REQUIRED:
        if row[col] == "":
            raise CdbenchError(f"{where}: {col} is empty; fix or delete the row")
    if row["level"] not in LEVELS:
        raise CdbenchError(f"{where}: level is {row['level'][:40]!r}, not one of {', '.join(LEVELS)}")
    if not KEY.fullmatch(row["cache_key"]):
        raise CdbenchError(f"{where}: cache_key is {row['cache_key'][:40]!r}, not 16 hex digits")
    if row["method_code"] and not KEY.fullmatch(row["method_code"]):  # empty: written before the column
        raise CdbenchError(f"{where}: method_code is {row['method_code'][:40]!r}, not 16 hex digits or empty")
    for col in FRACTIONS:
        row[col] = _number(row[col], col, where, 0.0, 1.0)
    for col in REALS:
        row[col] = _number(row[col], col, where)
    for col in SECONDS + GIGABYTES:
        row[col] = _number(row[col], col, where, 0.0)
    row["seed"] = _integer(row["seed"], "seed", where, required=True)
    row["n_prompts"] = _integer(row["n_prompts"], "n_prompts", where, required=False)
    row["k"] = _integer(row["k"], "k", where, required=False)
    if row["degenerate"] not in ("True", "False", ""):
        raise CdbenchError(f"{where}: degenerate is {row['degenerate'][:40]!r}, not True or False")
    row["degenerate"] = row["degenerate"] == "True"
    return row


def _records(real: Path, shown: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """(where, the header's columns, fields) for each non-empty record of a results file whose header
    :func:`header_columns` accepts; a record of another length, a non-UTF-8 or non-CSV file is a one-line
    CdbenchError with its line number (``shown`` is the path the messages name)."""
    try:
        with open(real, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, strict=True)
            cols = header_columns(",".join(next(reader, None) or [])) or COLUMNS
            for rec in reader:
                where = f"{shown}:{reader.line_num}"
                if not rec:
                    continue
                if len(rec) != len(cols):  # never shifted into other columns
                    raise CdbenchError(f"{where}: row has {len(rec)} fields, not {len(cols)}; fix or delete the row")
                yield where, cols, rec
    except UnicodeDecodeError:
        raise CdbenchError(f"results file {shown} is not UTF-8 text") from None
    except csv.Error as exc:
        raise CdbenchError(f"{shown}:{reader.line_num}: not CSV ({exc})") from None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of the results file, each checked (fields, numbers, integers, level, key); a malformed one
    is a one-line CdbenchError with its line number."""
    real = check_results_readable(path)
    return [_parse_row(rec, where, cols) for where, cols, rec in _records(real, path)]


def read_results(path: Path):
    """The results as a DataFrame, one row per measurement (:data:`RUN_IDENTITY`): the last one written wins.
    Text columns keep their text (a hash of digits stays a string); an empty cell is NaN."""
    import numpy as np
    import pandas as pd

    rows = read_rows(path)
    if not rows:
        raise CdbenchError(f"{path} has no rows; run `cdbench run` first")
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    for col in COLUMNS:
        if df[col].dtype == object:
            df[col] = df[col].replace("", np.nan)
    for col in ("k", "n_prompts"):  # integer columns unless a row left one empty
        df[col] = pd.to_numeric(df[col])
    return df.drop_duplicates(RUN_IDENTITY, keep="last").reset_index(drop=True)


def known_keys(path: Path) -> set[str]:
    """Cache keys already in the results file (so a cached rerun does not append its rows again)."""
    real = results_paths(path).results
    if _kind(real) != "file" or real.stat().st_size == 0:
        return set()
    with open(real, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        cols = header_columns(",".join(next(reader, None) or [])) or COLUMNS
        at = cols.index("cache_key")
        return {rec[at] for rec in reader if len(rec) == len(cols)}


def write_run(results: Path, key: str, run: dict[str, Any]) -> Path:
    """The run's file under ``runs/`` beside the results file (gzip with mtime 0: byte-stable)."""
    path = run_file(runs_dir_for(results), key)
    store_run(path, run)
    return path


def store_run(path: Path, run: dict[str, Any]) -> None:
    atomic_write_bytes(path, gzip.compress(json.dumps(run, separators=(",", ":")).encode(), mtime=0))


def _numbers(v: Any, what: str, n: int | None) -> str | None:
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                                          for x in v):
        return f"{what} is not a list of finite numbers"
    if n is not None and len(v) != n:
        return f"{what} has {len(v)} values, the model has {n}"
    return None


def _scores_problem(scores: Any, what: str, graph: Any) -> str | None:
    if not isinstance(scores, dict) or "node_scores" not in scores:
        return f"{what} is not a score record"
    sizes = {"node_scores": len(graph.nodes) if graph else None,
             "mlp_scores": graph.n_layers if graph else None, "edge_scores": len(graph.edges) if graph else None}
    for name, n in sizes.items():
        v = scores.get(name)
        if v is None and name != "node_scores":
            continue
        problem = _numbers(v, f"{what}.{name}", n)
        if problem:
            return problem
    return None


def run_problem(run: Any, key: str | None = None) -> str | None:
    """What is wrong with a decoded run record (None when nothing): its rows (today's columns, one cache key,
    known levels), its scores (finite numbers, as many as the model has items), sweep and curves."""
    if not isinstance(run, dict):
        return "not a JSON object"
    rows = run.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return "no rows"
    for r in rows:
        differ = (set(r) ^ set(COLUMNS)) - set(ADDED_COLUMNS)
        if differ:
            return f"a row's fields are not today's columns ({len(differ)} differ)"
        if r["level"] not in LEVELS:
            return f"a row's level is {r['level']!r}"
    keys = {r["cache_key"] for r in rows}
    if len(keys) != 1 or (key is not None and keys != {key}):
        return f"its rows' cache_key {sorted(map(str, keys))} is not the file's {key}"
    graph = None
    try:
        from bench.models.registry import get_spec

        graph = get_spec(str(rows[0]["model"])).graph
    except CdbenchError:
        pass  # a model this install does not register: sizes are not checked
    problem = _scores_problem(run.get("scores"), "scores", graph)
    if problem is None and run.get("null_scores") is not None:
        problem = _scores_problem(run["null_scores"], "null_scores", graph)
    if problem:
        return problem
    sweep = run.get("sweep")
    if sweep is not None:
        if (not isinstance(sweep, dict) or _numbers(sweep.get("thresholds"), "", None)
                or not isinstance(sweep.get("kept"), list) or len(sweep["kept"]) != len(sweep["thresholds"])
                or not all(isinstance(k, list) and all(isinstance(i, int) and i >= 0 for i in k) for k in sweep["kept"])):
            return "its sweep is not thresholds with a kept list each"
    for part in ("faithfulness", "diagnostics"):
        if not isinstance(run.get(part), dict):
            return f"its {part} is not a record"
    return None


def read_run(path: Path, key: str | None = None) -> dict[str, Any] | None:
    """The run stored at ``path``: None when there is no file; a one-line :class:`RunFileError` naming it
    when it is there but not a run (truncated or bit-flipped gzip, not JSON, the wrong shape, another run's
    key). ``key`` defaults to the file's name."""
    path = Path(path)
    key = key if key is not None else path.name.removesuffix(".json.gz")
    kind = _kind(path)
    if kind is None:
        return None
    if kind != "file":
        raise RunFileError(f"run file {path} is a {kind}, not a file")
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, EOFError, zlib.error, ValueError, RecursionError) as exc:
        why = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise RunFileError(f"run file {path} is unreadable ({type(exc).__name__}: {why})") from None
    problem = run_problem(data, key)
    if problem:
        raise RunFileError(f"run file {path} is malformed ({problem})")
    return data


def load_cached_run(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """A run from the run cache, for ``cdbench run``: an unreadable entry is a cache miss, with a warning."""
    from bench.progress import warn

    try:
        return read_run(run_file(cache_dir, key), key)
    except RunFileError as exc:
        warn(f"{exc}; treated as a cache miss (the run is recomputed and the entry rewritten)")
        return None
