"""Ctrl-C under ``--executor ray``, as a terminal sends it (SIGINT to the whole process group): the CLI says it
was interrupted and exits 130, what finished is recorded, and no Ray process outlives the command."""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")


def _ray_processes(marker: str) -> list[int]:
    """Processes whose environment carries this test's RAY_TMPDIR (the cluster's daemons and workers)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker.encode() in (d / "environ").read_bytes():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.mark.slow  # a fresh Ray cluster and a worker start: 1-2 min on 2 busy cores
def test_ctrl_c_under_ray_exits_130_and_leaves_no_process(tmp_path):
    raytmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    marker = f"RAY_TMPDIR={raytmp}"
    results = tmp_path / "r.csv"
    env = {**os.environ, "RAY_TMPDIR": raytmp, "CDBENCH_HOME": str(tmp_path / "home"),
           "CDBENCH_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "bench.cli", "run", "--executor", "ray", "--task", "induction", "--method",
            "eap", "--seeds", "60", "--n-prompts", "8", "--results", str(results), "--no-cache"]
    proc = subprocess.Popen(argv, env=env, cwd=Path(__file__).resolve().parents[1], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (results.is_file() and results.stat().st_size > 0):  # a run has finished; others are running
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-2000:]
    assert "cdbench: interrupted" in err and "Check failed" not in err, err[-2000:]
    left = _ray_processes(marker)
    for _ in range(25):  # what the command started is gone once it has returned (a moment for the kernel to reap)
        if not left:
            break
        time.sleep(0.2)
        left = _ray_processes(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} Ray processes outlived the command"
    rows = results.read_text().splitlines()
    assert len(rows) >= 2 and len(rows) < 1 + 60 * 2  # what finished is recorded, the rest was cancelled
