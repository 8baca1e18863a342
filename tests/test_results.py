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
    old.to_csv(results, index=False)
    run_path = next((tmp_path / "runs").glob("*.json.gz"))
    run = json.loads(gzip.decompress(run_path.read_bytes()))
    run["rows"] = [{**r, "auc_mib": float("nan")} for r in run["rows"] if r["level"] != "edge_head"]
    run_path.write_bytes(gzip.compress(json.dumps(run).encode()))
    assert rescore([str(results)]) == 0
    got = pd.read_csv(results)
    assert sorted(got.level) == sorted(want.level)
    cols = ["level", "auc", "auc_mib", "null_auc", "precision_at_k", "k", "cpr", "cache_key"]
    pd.testing.assert_frame_equal(got[cols].sort_values("level").reset_index(drop=True),
                                  want[cols].sort_values("level").reset_index(drop=True))
    assert got.loc[got.level == "edge", "auc_mib"].iloc[0] == edge_mib
    assert json.loads(gzip.decompress(run_path.read_bytes()))["diagnostics"]["rescored_by"]
