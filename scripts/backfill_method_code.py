"""Add the ``method_code`` column to a results file written before it existed (run once on reports/results.csv).

Each row's method code is recomputed from the files of the commit the row names (``git show COMMIT:PATH``),
with the same hash a new row gets (:func:`bench.provenance.code_hash_with`). A row whose commit is
``+dirty``, ``unknown`` or not in this repository gets an empty cell: its code cannot be known. The method's
module is today's registry entry for its key (keys have never been renamed).

    python scripts/backfill_method_code.py reports/results.csv
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from bench.provenance import ROOT, code_hash_with
from bench.results import COLUMNS, header_columns
from methods import METHODS


@lru_cache(maxsize=None)
def _blob(commit: str, rel: str) -> bytes | None:
    out = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{rel}"], capture_output=True)
    return out.stdout if out.returncode == 0 else None


@lru_cache(maxsize=None)
def _code_at(commit: str, method: str) -> str:
    if "+" in commit or commit in ("", "unknown") or method not in METHODS:
        return ""
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
                      capture_output=True).returncode != 0:
        return ""
    module = METHODS[method].run.__module__
    if _blob(commit, module.replace(".", "/") + ".py") is None:
        return ""
    return code_hash_with(module, lambda rel: _blob(commit, rel))


def main(path: Path) -> int:
    text = path.read_text()
    first, _, rest = text.partition("\n")
    cols = header_columns(first)
    if cols is None:
        print(f"{path}: not a results file of today's or earlier columns", file=sys.stderr)
        return 2
    if "method_code" in cols:
        print(f"{path} already has method_code")
        return 0
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    filled = empty = 0
    for rec in csv.DictReader(io.StringIO(rest), fieldnames=cols):
        rec["method_code"] = _code_at(rec["cdbench_commit"], rec["method"])
        filled, empty = (filled + 1, empty) if rec["method_code"] else (filled, empty + 1)
        writer.writerow(rec)
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text(out.getvalue())
    tmp.replace(path)
    print(f"{path}: method_code for {filled} rows, empty (dirty or unknown commit) for {empty}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
