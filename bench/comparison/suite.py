"""The tests ``pytest --benchmark`` collects (parametrised by ``bench.pytest_plugin`` from the profile):
first one floor per group, then one test per cell. Not a test module of its own: without
``--benchmark`` nothing collects it."""
from __future__ import annotations

import json

import pytest

from bench.comparison import gate
from bench.comparison.cell import FLOOR_ROUNDS, extra_info, floor_target, measure_floor, run_cell
from bench.pytest_plugin import VERDICT, state_of


def test_floor(cdbench_cell, benchmark, request):
    """The group's floor: one forward pass of the model over the group's positive and negative prompts,
    median of FLOOR_ROUNDS rounds after one warm-up."""
    state = state_of(request.config)
    benchmark.group = cdbench_cell.group
    benchmark.extra_info.update(floor_of=cdbench_cell.group, n_prompts=cdbench_cell.spec.n_prompts)
    fn, args = floor_target(cdbench_cell)
    benchmark.pedantic(fn, args=args, rounds=FLOOR_ROUNDS, warmup_rounds=1, iterations=1)
    state.floor_s[cdbench_cell.group] = (benchmark.stats.stats.median if benchmark.stats else
                                         measure_floor(cdbench_cell))


def test_cell(cdbench_cell, benchmark, request):
    """One run through the harness, the method's own run timed by pytest-benchmark (one round), its
    figures in ``extra_info``, then the gate against the baseline."""
    state = state_of(request.config)
    cell = cdbench_cell
    benchmark.group = cell.group
    run = run_cell(cell, lambda fn, args: benchmark.pedantic(fn, args=args, rounds=1, iterations=1))
    method_s = benchmark.stats.stats.min if benchmark.stats else float(run["rows"][0]["wall_s"])
    if cell.group not in state.floor_s:  # its floor test was deselected (-k) or ran on another worker
        state.floor_s[cell.group] = measure_floor(cell)
    info = {**extra_info(cell, run, method_s, state.floor_s[cell.group], state.profile), "threads": state.threads}
    benchmark.extra_info.update(info)
    verdict = gate.judge(cell.id, info, state.baseline.get(cell.id), state.baseline_name,
                         auc_tolerance=state.auc_tolerance, time_factor=state.time_factor)
    request.node.user_properties.append((VERDICT, json.dumps({"cell": verdict.cell, "status": verdict.status,
                                                               "lines": list(verdict.lines)})))
    if verdict.failed:
        pytest.fail("\n".join(verdict.lines), pytrace=False)


test_floor._cdbench_role = "floor"
test_cell._cdbench_role = "cell"
