import pytest


def pytest_collection_modifyitems(config, items):
    """Timings run only under `pytest --benchmark-only`; the default test run skips them."""
    if config.getoption("benchmark_only"):
        return
    skip = pytest.mark.skip(reason="timing: run with `pytest --benchmark-only`")
    for item in items:
        if "benchmarks" in str(item.fspath):
            item.add_marker(skip)
