"""Helpers for the plug-in tests: run ``pytest`` / ``cdbench`` in a fresh interpreter that sees this
checkout first, with cdbench's ``pytest11`` entry point present (a stand-in distribution on the path when
the installed metadata predates it) and with its own empty cache and home."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLANTED = ("planted_ioi", "planted_frac", "planted_reverse", "planted_induction", "planted_ioi_32", "planted_greater_32",
           "planted_docstring_32", "planted_reverse_32")


def dist_info(where: Path, name: str, entry_points_txt: str) -> Path:
    """A minimal installed distribution: ``where/<name>-0.1.dist-info`` with METADATA and entry_points.txt."""
    d = where / f"{name.replace('-', '_')}-0.1.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (d / "entry_points.txt").write_text(entry_points_txt)
    return where


def env(tmp_path: Path, *paths: Path) -> dict[str, str]:
    e = dict(os.environ)
    path = [str(p) for p in paths] + [str(ROOT)]
    if not entry_points(group="pytest11", name="cdbench"):  # an editable install from before the entry point
        path.insert(0, str(dist_info(tmp_path / "dev-entry-point", "cdbench-dev-entry-point",
                                     "[pytest11]\ncdbench = bench.pytest_plugin\n")))
    e["PYTHONPATH"] = os.pathsep.join(path + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else []))
    for var in ("CDBENCH_HOME", "CDBENCH_CACHE"):
        (tmp_path / var).mkdir(exist_ok=True)
        e[var] = str(tmp_path / var)
    return e


def run(tmp_path: Path, *argv: str, paths: tuple[Path, ...] = (), cwd: Path = ROOT,
        timeout: int = 900) -> subprocess.CompletedProcess:
    """``python ARGV`` (e.g. ``-m pytest ...``) in a fresh interpreter; stdout and stderr as text."""
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env(tmp_path, *paths), capture_output=True,
                          text=True, timeout=timeout)


def pytest_ids(out: str) -> list[str]:
    """The node ids ``pytest --co -q`` printed."""
    return [line.strip() for line in out.splitlines() if "::" in line]
