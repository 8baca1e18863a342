"""The comparison benchmark as ``pytest --benchmark`` runs it: named profiles of cells (one run of one
method on one task, model and seed), each run through the harness with its method timed by
pytest-benchmark, and a gate against a committed baseline (AUC drops and time-ratio growth)."""
