"""The report: the committed text regenerates from reports/ alone; its rows are the mean of what the run
files say, computed here by hand; and it refuses rows its run files contradict, names missing run files
and leaves out rows scored on another version of a ground-truth file."""
import gzip
import json
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest

from bench.report import TIMESTAMP_PREFIX, write_report

ROOT = Path(__file__).resolve().parent.parent


def test_committed_report_regenerates_from_reports_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    # an empty cache and home, whatever ran before (CI's default run fills the real ones): nothing to read there
    for var in ("CDBENCH_CACHE", "CDBENCH_HOME"):
        (tmp_path / var).mkdir()
        monkeypatch.setenv(var, str(tmp_path / var))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = write_report(Path("reports/results.csv"), out_dir)
    fresh = out.read_text().splitlines()
    committed = (ROOT / "reports" / "README.md").read_text().splitlines()
    keep = lambda lines: [x for x in lines if not x.startswith(TIMESTAMP_PREFIX)]  # noqa: E731
    assert sum(x.startswith(TIMESTAMP_PREFIX) for x in committed) == 1
    assert keep(fresh) == keep(committed)
    assert sorted(p.name for p in out_dir.glob("*.png")) == sorted(p.name for p in (ROOT / "reports").glob("*.png"))


def _brute_auc(scores, labels) -> float:
    """Mann-Whitney by counting pairs: a positive above a negative 1, tied 1/2."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))


@pytest.fixture(scope="module")
def small_reports(tmp_path_factory):
    """Two seeds of the random method on planted-ioi, run through the CLI into a results file of their own."""
    from bench.cli import main

    d = tmp_path_factory.mktemp("reports")
    assert main(["run", "--task", "planted_ioi", "--method", "random", "--seeds", "2", "--n-prompts", "8",
                 "--results", str(d / "results.csv")]) == 0
    return d


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst / "results.csv"


def test_report_rows_are_the_hand_computed_mean_of_the_run_files(small_reports, tmp_path):
    results = _copy(small_reports, tmp_path / "r")
    gt = json.loads((ROOT / "ground_truth" / "planted_ioi" / "siit.v1.json").read_text())
    heads = {h for name in gt["nodes"] for h in gt["groups"].get(name, [name]) if not h.startswith("m")}
    nodes = [f"{layer}.{h}" for layer in range(3) for h in range(4)]
    aucs = []
    for key in pd.read_csv(results).query("level == 'node'").sort_values("seed").cache_key:
        run = json.loads(gzip.decompress((results.parent / "runs" / f"{key}.json.gz").read_bytes()))
        aucs.append(_brute_auc([abs(s) for s in run["scores"]["node_scores"]], [n in heads for n in nodes]))
    mean, sd = statistics.mean(aucs), statistics.stdev(aucs)
    text = write_report(results, tmp_path / "out").read_text()
    assert f"| random | node | {mean:.3f} ± {sd:.3f} |" in text


def test_a_row_its_run_file_contradicts_stops_the_report(small_reports, tmp_path, capsys):
    from bench.cli import main

    results = _copy(small_reports, tmp_path / "r")
    df = pd.read_csv(results)
    df.loc[(df.level == "node") & (df.seed == 1), "auc"] = 0.123456
    df.to_csv(results, index=False)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["report", "--results", str(results), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "says AUC 0.123456" in err and "seed 1 level node" in err and not list(out.iterdir())


def test_a_missing_or_garbled_run_file_is_named(small_reports, tmp_path, capsys):
    from bench.cli import main

    results = _copy(small_reports, tmp_path / "r")
    keys = sorted(pd.read_csv(results).cache_key.unique())
    (results.parent / "runs" / f"{keys[0]}.json.gz").unlink()
    (results.parent / "runs" / f"{keys[1]}.json.gz").write_bytes(gzip.compress(b"[1, 2"))
    assert main(["report", "--results", str(results), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is missing" in err and "is unreadable" in err and keys[0] in err and keys[1] in err
    assert len([x for x in err.splitlines() if keys[0] in x or keys[1] in x]) == 2  # one line per run


def test_rows_of_another_ground_truth_hash_are_left_out_not_averaged(small_reports, tmp_path):
    results = _copy(small_reports, tmp_path / "r")
    df = pd.read_csv(results, dtype={"gt_hash": str})
    df.loc[df.seed == 1, "gt_hash"] = "0123456789ab"
    df.to_csv(results, index=False)
    seed0 = df[(df.seed == 0) & (df.level == "node")].auc.iloc[0]
    text = write_report(results, tmp_path / "out").read_text()
    assert "Stale rows left out" in text and "hash 0123456789ab" in text
    assert f"| random | node | {seed0:.3f} |" in text  # seed 0 alone, not the mean of both


def test_rows_of_two_implementations_of_a_method_are_named(small_reports, tmp_path):
    """The report says when one method's rows carry two ``method_code``s (their cells average two
    implementations), with each code's row count, and says nothing of the kind for one code."""
    results = _copy(small_reports, tmp_path / "r")
    text = write_report(results, tmp_path / "one").read_text()
    assert "every method's rows come from one implementation" in text and "more than one implementation" not in text
    df = pd.read_csv(results, dtype=str, keep_default_na=False)
    assert df.method_code.str.fullmatch("[0-9a-f]{16}").all() and df.method_code.nunique() == 1
    df.loc[df.seed == "1", "method_code"] = "00000000000000aa"
    df.to_csv(results, index=False)
    text = write_report(results, tmp_path / "two").read_text()
    assert "**random** (2 codes: `00000000000000aa` 4 rows, " in text  # node, edge, edge_head, node_mlp


def test_rows_a_later_configuration_replaced_are_left_out_not_averaged(small_reports, tmp_path):
    """Rows of the same method, options and seed written earlier under another configuration hash (a default
    changed since) are listed as superseded; the cells are the later rows alone, as without them."""
    results = _copy(small_reports, tmp_path / "r")
    df = pd.read_csv(results, dtype=str, keep_default_na=False)
    alone = [x for x in write_report(results, tmp_path / "alone").read_text().splitlines() if x.startswith("| random |")]
    earlier = df[df.seed == "1"].assign(config_hash="aaaaaaaaaaaa", auc="0.001", cdbench_commit="0" * 12)
    pd.concat([earlier, df]).to_csv(results, index=False)
    text = write_report(results, tmp_path / "both").read_text()
    assert "Superseded rows left out" in text
    assert "4 row(s) of random on planted_ioi/planted-ioi (configuration aaaaaaaaaaaa)" in text
    assert [x for x in text.splitlines() if x.startswith("| random |")] == alone


def test_the_cluster_table_gives_each_method_its_largest_recorded_peak_memory():
    """Per model and method: the largest peak_rss_gb of the runs that record one, with how many do; empty where
    none does (never a guess). One row per run (node level); the edge row of a run is not counted twice."""
    from bench.report import cluster_section

    df = pd.DataFrame([
        dict(model="m", method="eap", device="cpu", level="node", cache_key="a", wall_s=1.0, faith_s=0.0, null_s=0.0, peak_rss_gb=1.0),
        dict(model="m", method="eap", device="cpu", level="edge", cache_key="a", wall_s=1.0, faith_s=0.0, null_s=0.0, peak_rss_gb=9.0),
        dict(model="m", method="eap", device="cpu", level="node", cache_key="b", wall_s=3.0, faith_s=1.0, null_s=0.0, peak_rss_gb=2.5),
        dict(model="m", method="eap", device="cpu", level="node", cache_key="c", wall_s=2.0, faith_s=0.0, null_s=0.0, peak_rss_gb=float("nan")),
        dict(model="m", method="hisp", device="cpu", level="node", cache_key="d", wall_s=0.5, faith_s=0.0, null_s=0.0, peak_rss_gb=float("nan")),
    ])
    lines = cluster_section(df)
    assert "| m | eap | cpu | 3 | 2.00 | 7 | 2.50 (2) |" in lines
    assert "| m | hisp | cpu | 1 | 0.50 | 0 |  |" in lines
