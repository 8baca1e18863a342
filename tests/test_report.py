"""The committed report is a function of reports/ alone: regenerated here, with an empty cache and home, it is
the committed README byte for byte, but for the line that says when it was written."""
from pathlib import Path

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
