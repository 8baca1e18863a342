"""One writer for the results file: concurrent appends lose nothing, even on a large file."""
import multiprocessing as mp

import pandas as pd

from bench.results import COLUMNS, HEADER, append_rows, read_results


def _row(i: int, writer: int) -> dict:
    return {c: "" for c in COLUMNS} | {"method": f"w{writer}", "seed": i, "level": "node", "auc": 0.5,
                                      "cache_key": f"{writer:04d}{i:012d}"}


def _writer(path: str, writer: int, n: int) -> None:
    for i in range(n):
        append_rows(path, [_row(i, writer), {**_row(i, writer), "level": "edge"}])


def test_two_writers_at_once_on_a_large_file(tmp_path):
    path = tmp_path / "results.csv"
    filler = ",".join(["x"] * (len(COLUMNS) - 1)) + ",k"
    with open(path, "w") as f:  # about 40 MB of earlier rows
        f.write(HEADER + "\n")
        for block in range(200):
            f.write("\n".join(f"{filler}{block:05d}{j:06d}" for j in range(1000)) + "\n")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 60)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    df = pd.read_csv(path, dtype=str)
    new = df[df.method.isin(["w1", "w2"])]
    assert len(new) == 2 * 60 * 2 and new.cache_key.nunique() == 120  # nothing lost, nothing interleaved
    assert len(df) == 200_000 + 240


def test_a_rerun_replaces_its_rows_on_read(tmp_path):
    path = tmp_path / "results.csv"
    append_rows(path, [_row(0, 1)])
    append_rows(path, [{**_row(0, 1), "auc": 0.9}])
    df = read_results(path)
    assert len(df) == 1 and df.auc.iloc[0] == 0.9


def test_a_rerun_at_other_code_replaces_the_earlier_measurement(tmp_path):
    """Same run identity, another cache key (new code or library versions): the later row is the one read, so a
    report never averages two code versions; another seed is another measurement and stays."""
    path = tmp_path / "results.csv"
    append_rows(path, [_row(0, 1) | {"cdbench_commit": "aaa"}, _row(1, 1)])
    append_rows(path, [_row(0, 1) | {"cache_key": "ffff000000000000", "cdbench_commit": "bbb", "auc": 0.7}])
    df = read_results(path).sort_values("seed")
    assert df.seed.tolist() == [0, 1] and df.auc.tolist() == [0.7, 0.5] and df.cdbench_commit.iloc[0] == "bbb"


def test_rescore_adds_only_what_a_run_lacks(tmp_path):
    """A run stored before auc_mib and the edge_head level existed (simulated by removing them) gets them back
    from its stored scores exactly as the harness computes them, and keeps every value it had."""
    import gzip
    import json

    import pandas as pd

    from bench.cli import main
    from bench.rescore import main as rescore

    results = tmp_path / "r.csv"
    assert main(["run", "--task", "planted_frac", "--method", "eap", "--seeds", "1", "--n-prompts", "8",
                 "--results", str(results)]) == 0
    want = pd.read_csv(results)
    old = want[want.level != "edge_head"].copy()
    edge_mib = old.loc[old.level == "edge", "auc_mib"].iloc[0]
    old["auc_mib"] = float("nan")
    old["method_code"] = "0123456789abcdef"  # as backfilled into results.csv, never in the run file
    old.to_csv(results, index=False)
    run_path = next((tmp_path / "runs").glob("*.json.gz"))
    run = json.loads(gzip.decompress(run_path.read_bytes()))
    added = ("method_code", "peak_rss_gb")  # a run file from before these columns has neither
    run["rows"] = [{**{k: v for k, v in r.items() if k not in added}, "auc_mib": float("nan")}
                   for r in run["rows"] if r["level"] != "edge_head"]
    run_path.write_bytes(gzip.compress(json.dumps(run).encode()))
    assert rescore([str(results)]) == 0
    got = pd.read_csv(results)
    assert sorted(got.level) == sorted(want.level)
    cols = ["level", "auc", "auc_mib", "null_auc", "precision_at_k", "k", "cpr", "cache_key"]
    pd.testing.assert_frame_equal(got[cols].sort_values("level").reset_index(drop=True),
                                  want[cols].sort_values("level").reset_index(drop=True))
    assert got.loc[got.level == "edge", "auc_mib"].iloc[0] == edge_mib
    assert got.method_code.eq("0123456789abcdef").all()  # the results row's cell, on every level
    assert got.peak_rss_gb.eq(want.peak_rss_gb.iloc[0]).all() and want.peak_rss_gb.notna().all()
    assert json.loads(gzip.decompress(run_path.read_bytes()))["diagnostics"]["rescored_by"]


def test_rescore_rewrites_the_results_only_under_their_lock(tmp_path):
    """While another writer holds ``results.csv.lock`` (an append in progress), rescoring waits: the file is
    neither read nor replaced until the lock is released, so no appended row is lost."""
    import threading
    import time

    from bench.cli import main
    from bench.rescore import main as rescore
    from bench.results import locked

    results = tmp_path / "r.csv"
    assert main(["run", "--task", "planted_frac", "--method", "random", "--seeds", "1", "--n-prompts", "8",
                 "--results", str(results)]) == 0
    done = threading.Event()
    with locked(results):
        before = results.stat().st_mtime_ns, results.stat().st_ino
        worker = threading.Thread(target=lambda: (rescore([str(results)]), done.set()))
        worker.start()
        time.sleep(1.0)
        assert not done.is_set() and (results.stat().st_mtime_ns, results.stat().st_ino) == before
    worker.join(30)
    assert done.is_set() and results.stat().st_ino != before[1]  # replaced whole (a new file renamed in)


def test_a_file_with_an_earlier_header_is_read_and_upgraded_before_an_append(tmp_path):
    """A results file written before ``method_code`` and ``peak_rss_gb`` existed: read with both empty, and
    rewritten under today's header (its rows' values unchanged) before a new row goes in."""
    from bench.results import ADDED_COLUMNS, read_rows

    old_cols = [c for c in COLUMNS if c not in ADDED_COLUMNS]
    path = tmp_path / "results.csv"
    old = {c: "" for c in old_cols} | {"method": "eap", "seed": "3", "level": "edge", "auc": "0.625",
                                       "wall_s": "2.5", "cache_key": "ab" * 8}
    path.write_text(",".join(old_cols) + "\n" + ",".join(old[c] for c in old_cols) + "\n")
    (row,) = read_rows(path)
    assert row["auc"] == 0.625 and row["wall_s"] == 2.5 and row["seed"] == 3 and row["method_code"] == ""
    assert row["peak_rss_gb"] != row["peak_rss_gb"]  # NaN: not measured
    append_rows(path, [_row(0, 1) | {"peak_rss_gb": 1.25}])
    lines = path.read_text().splitlines()
    assert lines[0] == HEADER and len(lines) == 3
    first, new = read_rows(path)
    assert (first["method"], first["auc"], first["wall_s"], first["cache_key"]) == ("eap", 0.625, 2.5, "ab" * 8)
    assert new["peak_rss_gb"] == 1.25


def test_a_header_with_unknown_or_reordered_columns_is_refused(tmp_path):
    import pytest

    from bench.errors import CdbenchError
    from bench.results import read_rows

    for cols in ([*COLUMNS, "extra"], [COLUMNS[1], COLUMNS[0], *COLUMNS[2:]], [c for c in COLUMNS if c != "auc"]):
        path = tmp_path / "r.csv"
        path.write_text(",".join(cols) + "\n")
        with pytest.raises(CdbenchError, match="not a cdbench results file with today's columns"):
            read_rows(path)


def test_peak_memory_is_the_high_water_mark_since_the_reset():
    """A 256 MiB array written to while measured raises the mark by at least that much; after it is freed
    and the mark reset, the mark is back below it (Linux's VmHWM; skipped where it cannot be reset)."""
    import numpy as np
    import pytest

    from bench import memory

    if not memory.reset_peak() or memory.peak_rss_gb() is None:
        pytest.skip("no resettable resident high-water mark here")
    before = memory.peak_rss_gb()
    block = np.ones(2**25)  # 2**25 float64 = 256 MiB, every page touched
    during = memory.peak_rss_gb()
    del block
    memory.reset_peak()
    after = memory.peak_rss_gb()
    assert during - before >= 0.24 and after < during - 0.2


def test_a_cached_rerun_into_an_earlier_header_file_appends_nothing(tmp_path):
    """known_keys reads an earlier header's rows by its own columns: a run already there is known (else a
    cached rerun would append its rows again, and the later, emptier copy would win on read)."""
    from bench.results import ADDED_COLUMNS, known_keys

    old_cols = [c for c in COLUMNS if c not in ADDED_COLUMNS]
    path = tmp_path / "results.csv"
    old = {c: "" for c in old_cols} | {"method": "eap", "seed": "0", "level": "node", "cache_key": "cd" * 8}
    path.write_text(",".join(old_cols) + "\n" + ",".join(old[c] for c in old_cols) + "\n")
    assert known_keys(path) == {"cd" * 8}


def test_an_upgrade_refuses_a_short_row_and_leaves_the_file(tmp_path):
    import pytest

    from bench.errors import CdbenchError
    from bench.results import ADDED_COLUMNS

    old_cols = [c for c in COLUMNS if c not in ADDED_COLUMNS]
    path = tmp_path / "results.csv"
    text = ",".join(old_cols) + "\n" + ",".join(["x"] * (len(old_cols) - 2)) + "\n"
    path.write_text(text)
    with pytest.raises(CdbenchError, match=r"results.csv:2: row has 33 fields, not 35"):
        append_rows(path, [_row(0, 1)])
    assert path.read_text() == text
