"""cdbench's pytest plug-in (registered as ``pytest11: cdbench``): ``pytest --benchmark`` runs the
comparison benchmark wherever cdbench is installed.

- ``--benchmark``: collect the cells of a profile (``bench.comparison.profiles``) instead of the project's
  tests. Each cell is one test, ``test_cell[<method>-<task>-<model>-s<seed>]``; before them each group
  (task x model x prompt count) has a ``test_floor[...]``, one forward pass over its prompts. The cell's
  pytest-benchmark timing is the method's own run; its ``extra_info`` carries the row's figures.
- ``--benchmark-profile ci|default|full`` (``ci``), ``--benchmark-baseline PATH`` (default
  ``reports/baseline-<profile>.json`` under the rootdir, when it exists): the gate of
  :mod:`bench.comparison.gate` fails a cell that regressed against it; the terminal summary lists the
  regressed, improved and new cells.
- pytest-benchmark's own options apply unchanged (``--benchmark-json``, ``--benchmark-save``,
  ``--benchmark-compare``, ``--benchmark-compare-fail``, ``--benchmark-disable``). Without ``--benchmark``
  the plug-in does nothing (``--benchmark-only`` keeps its meaning: the project's own benchmark tests).

Nothing heavy is imported unless ``--benchmark`` is given: the plug-in is loaded by every pytest run."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.comparison import gate

if TYPE_CHECKING:
    from bench.comparison.profiles import Cell

PROFILE_NAMES = ("ci", "default", "full")  # bench.comparison.profiles.PROFILES (a test keeps them equal)
SUITE = Path(__file__).resolve().parent / "comparison" / "suite.py"
VERDICT = "cdbench_verdict"


@dataclass
class BenchState:
    """What one ``pytest --benchmark`` session knows: its profile's cells, the floors measured so far,
    the baseline, and the verdicts the cells reported."""

    profile: str
    cells: list["Cell"]
    baseline_path: Path | None
    baseline: dict[str, dict[str, Any]]
    threads: int = 1
    auc_tolerance: float = gate.AUC_TOLERANCE
    time_factor: float = gate.TIME_FACTOR
    floor_s: dict[str, float] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def baseline_name(self) -> str:
        return str(self.baseline_path) if self.baseline_path else "no baseline"

    def floors(self) -> list["Cell"]:
        """One cell per group, the first: the prompts its group's floor is measured on."""
        first: dict[str, "Cell"] = {}
        for c in self.cells:
            first.setdefault(c.group, c)
        return list(first.values())


STATE = pytest.StashKey[BenchState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cdbench", "cdbench comparison benchmark")
    group.addoption("--benchmark", action="store_true", default=False, dest="cdbench_benchmark",
                    help="run cdbench's comparison benchmark (the cells of --benchmark-profile) instead of the tests")
    group.addoption("--benchmark-profile", default="ci", choices=PROFILE_NAMES, dest="cdbench_profile",
                    help="cells to run: ci (fast methods, planted suite, 2 seeds), default (what `cdbench run` "
                         "runs), full (scripts/reproduce_reports.sh). Default: ci")
    group.addoption("--benchmark-threads", default=1, type=int, metavar="N", dest="cdbench_threads",
                    help="torch threads for the cells (default 1: the same scores and comparable times on any "
                         "machine; several threads on a shared or small CI runner mostly wait on each other)")
    group.addoption("--benchmark-auc-tolerance", default=gate.AUC_TOLERANCE, type=float, metavar="X",
                    dest="cdbench_auc_tolerance", help=f"AUC drop the gate allows (default {gate.AUC_TOLERANCE})")
    group.addoption("--benchmark-time-factor", default=gate.TIME_FACTOR, type=float, metavar="F",
                    dest="cdbench_time_factor",
                    help=f"growth of time / floor the gate allows (default {gate.TIME_FACTOR})")
    group.addoption("--benchmark-baseline", default=None, metavar="PATH", dest="cdbench_baseline",
                    help="pytest-benchmark JSON of an earlier `pytest --benchmark` to gate against (default: "
                         "reports/baseline-<profile>.json under the rootdir, if present)")


def _baseline_path(config: pytest.Config, profile: str) -> Path | None:
    given = config.getoption("cdbench_baseline")
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise pytest.UsageError(f"--benchmark-baseline {given}: no such file")
        return path
    default = Path(config.rootpath) / "reports" / f"baseline-{profile}.json"
    return default if default.is_file() else None


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("cdbench_benchmark"):
        return
    if config.getoption("benchmark_skip", False):
        raise pytest.UsageError("--benchmark runs the comparison benchmark; it cannot be combined with --benchmark-skip")
    from bench.comparison.profiles import cells
    from bench.errors import CdbenchError

    profile = config.getoption("cdbench_profile")
    threads = config.getoption("cdbench_threads")
    tolerance, factor = config.getoption("cdbench_auc_tolerance"), config.getoption("cdbench_time_factor")
    if threads < 1:
        raise pytest.UsageError(f"--benchmark-threads must be at least 1, not {threads}")
    if not 0 <= tolerance < 1 or not factor >= 1:
        raise pytest.UsageError(f"--benchmark-auc-tolerance must lie in [0, 1) and --benchmark-time-factor be at "
                                f"least 1 (got {tolerance}, {factor})")
    path = _baseline_path(config, profile)
    try:
        baseline = gate.load_baseline(path) if path else {}
        todo = cells(profile)
    except (gate.BaselineError, CdbenchError) as exc:
        raise pytest.UsageError(f"--benchmark: {exc}") from None
    import torch

    torch.set_num_threads(threads)
    config.stash[STATE] = state = BenchState(profile, todo, path, baseline, threads, tolerance, factor)
    config.pluginmanager.register(GateReport(state), "cdbench-gate")
    config.args[:] = [str(SUITE)]  # the comparison cells, not the project's tests


def state_of(config: pytest.Config) -> BenchState:
    return config.stash[STATE]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    role = getattr(metafunc.function, "_cdbench_role", None)
    if role is None or STATE not in metafunc.config.stash:
        return
    state = state_of(metafunc.config)
    if role == "floor":
        floors = state.floors()
        metafunc.parametrize("cdbench_cell", floors, ids=[f"{c.spec.task}-{c.spec.model}-n{c.spec.n_prompts}" for c in floors])
    else:
        metafunc.parametrize("cdbench_cell", state.cells, ids=[c.id for c in state.cells])


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if STATE not in config.stash:
        return None
    s = state_of(config)
    return [f"cdbench: profile {s.profile}, {len(s.cells)} cells in {len(s.floors())} groups, {s.threads} torch thread(s); "
            f"baseline {s.baseline_name} ({len(s.baseline)} cells)"]


class GateReport:
    """Collects each cell's verdict from its test report (so they arrive from xdist workers too) and
    writes the gate's section of the terminal summary."""

    def __init__(self, state: BenchState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.state.verdicts += [json.loads(v) for k, v in report.user_properties if k == VERDICT]

    def pytest_terminal_summary(self, terminalreporter, config: pytest.Config) -> None:
        state, tr = self.state, terminalreporter
        if config.option.collectonly:
            return
        by: dict[str, list[dict[str, Any]]] = {}
        for v in state.verdicts:
            by.setdefault(v["status"], []).append(v)
        tr.section(f"cdbench gate ({state.profile} profile) against {state.baseline_name}")
        tr.write_line(", ".join(f"{len(by.get(s, []))} {s}" for s in (gate.REGRESSED, gate.IMPROVED, gate.SAME, gate.NEW))
                      + f" of {len(state.verdicts)} cells run; tolerances: AUC -{state.auc_tolerance}, time / floor "
                      f"x{state.time_factor} (methods of {gate.TIME_MIN_S} s and more)")
        for status, label in ((gate.REGRESSED, "REGRESSED"), (gate.IMPROVED, "improved")):
            for v in by.get(status, []):
                for line in v["lines"]:
                    tr.write_line(f"{label}: {line}", red=status == gate.REGRESSED, green=status == gate.IMPROVED)
        new = by.get(gate.NEW, [])
        if new:
            tr.write_line(f"new (no baseline, pass): {', '.join(v['cell'] for v in new)}")
