"""``python -m bench.rescore RESULTS``: bring stored runs up to today's metric columns and levels without
running any method again. Every run file the results name is read; its stored scores (and null scores and
sweep) are scored anew with :func:`bench.scoring.level_rows` on the ground-truth file its rows name, and
only what the run lacks is added: the columns it has no value for (``auc_mib`` on runs stored before it
existed) and the levels it has no row for (``edge_head``). Values the run already has are kept as
written. A rescored run says so (``diagnostics.rescored_by``: the commit that rescored it). Rows whose
ground truth changed since they were scored are left alone (they are stale; rerun them)."""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from bench.errors import CdbenchError
from bench.graph import CircuitGraph
from bench.provenance import commit
from bench.io import atomic_write_bytes
from bench.results import ADDED_COLUMNS, COLUMNS, HEADER, locked, read_run, results_paths, run_file, store_run
from bench.scoring import level_rows
from methods.base import EdgeScores, HeadScores, MethodResult, Sweep


def _result(scores: dict[str, Any] | None, sweep: dict[str, Any] | None, graph: CircuitGraph) -> MethodResult | None:
    """A MethodResult holding a run file's stored scores (what :func:`level_rows` reads)."""
    if scores is None:
        return None
    nodes = torch.tensor(scores["node_scores"], dtype=torch.float32).view(graph.n_layers, graph.n_heads)
    mlps = None if scores.get("mlp_scores") is None else torch.tensor(scores["mlp_scores"], dtype=torch.float32)
    edges = None if scores.get("edge_scores") is None else EdgeScores(torch.tensor(scores["edge_scores"]))
    kept = None
    if sweep is not None:
        kept = torch.zeros(len(sweep["kept"]), len(graph.edges), dtype=torch.bool)
        for i, idx in enumerate(sweep["kept"]):
            kept[i, idx] = True
    return MethodResult(HeadScores(nodes, mlps), edges,
                        sweep=None if kept is None else Sweep(sweep["parameter"], sweep["thresholds"], kept))


def _missing(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def rescore_run(run: dict[str, Any], by: str) -> bool:
    """Add today's missing columns and levels to ``run`` in place; True when anything was added."""
    from bench.models.registry import get_spec
    from ground_truth import load as load_gt

    rows = run["rows"]
    first = rows[0]
    spec = get_spec(str(first["model"]))
    graph = spec.graph
    gt = None
    if first["gt_version"] != "none":
        gt = load_gt(first["task"], first["gt_version"], graph, spec.ground_truth)
        if gt.short_hash != first["gt_hash"]:
            return False  # stale: scored on another version of the file
    fresh = level_rows(graph, gt, _result(run["scores"], run.get("sweep"), graph),
                       _result(run.get("null_scores"), None, graph))
    by_level = {r["level"]: r for r in rows}
    changed = False
    for new in fresh:
        old = by_level.get(new["level"])
        if old is None:  # a level the run has no row for: the run's own fields, today's level metrics
            base = {k: v for k, v in first.items() if k not in new}
            rows.append({**base, **new, "cpr": math.nan, "cmd": math.nan, "faith_level": "", "faith_status": ""})
            changed = True
            continue
        for col, v in new.items():
            if _missing(old.get(col)) and not _missing(v):
                old[col] = v
                changed = True
    for r in rows:
        for col in COLUMNS:
            if col not in r:
                r[col] = math.nan
                changed = changed or col not in ADDED_COLUMNS  # their cells come from the results row
    if changed:
        run["diagnostics"]["rescored_by"] = by
    return changed


def _read_raw(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rescore", description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="a results.csv (its runs/ beside it)")
    args = ap.parse_args(argv)
    paths = results_paths(args.results)
    if not paths.results.is_file():
        print(f"cdbench: error: {args.results} is not a results file", file=sys.stderr)
        return 2
    with locked(paths.results):  # no run appended meanwhile is lost; the file is replaced whole or not at all
        raw = _read_raw(paths.results)
        by = commit()
        last = {r["cache_key"]: i for i, r in enumerate(raw)}  # a run's place: where it was last written
        out: list[dict[str, Any]] = []
        n = 0
        for key in sorted(last, key=last.__getitem__):
            path = run_file(paths.runs, key)
            try:  # a run file of older columns fails today's read_run check: read it plainly
                run = json.loads(gzip.decompress(path.read_bytes()))
            except (OSError, ValueError) as exc:
                raise CdbenchError(f"run file {path} cannot be read ({exc})") from None
            if rescore_run(run, by):
                store_run(path, run)
                read_run(path)  # today's checks pass on what was written
                n += 1
            out.extend(run["rows"])
        written = {r["cache_key"]: r for r in raw}  # the added columns are per run (code, memory), not per level
        for r in out:  # columns added after the run file was written: the results row's cell (e.g. backfilled)
            for col in ADDED_COLUMNS:
                if _missing(r.get(col)):
                    r[col] = written.get(r["cache_key"], {}).get(col) or ""
        buf = io.StringIO()
        buf.write(HEADER + "\n")
        w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
        for r in out:
            w.writerow({k: ("" if _missing(r.get(k)) else r.get(k)) for k in COLUMNS})
        atomic_write_bytes(paths.results, buf.getvalue().encode("utf-8"))
    print(f"rescored {n} of {len(last)} runs; {paths.results} rewritten from its run files ({len(out)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
