"""The grid on Ray (``cdbench run --executor ray [--ray-address ADDR]``), without changing a method, a task
or a result.

Every (method, task, model, seed, settings) run is one Ray task asking for one GPU when the run's device is
CUDA and one CPU otherwise. Ray reuses its worker processes (``max_calls=0``), and each worker process keeps
the models it has loaded, so a worker loads a model once for all the runs it gets. A task returns its run
record to the driver; only the driver writes: the run cache (``$CDBENCH_CACHE`` on the driver's machine)
and the results file, through the same recorder as a local run. Workers read the driver's cache path when
they can see it (one machine, or a cluster sharing that path over NFS) and skip runs found there; on a
cluster without a shared path they recompute, and the driver still caches what comes back. A failed run is
reported with its error line and the others go on.

Without ``--ray-address`` a fresh local cluster is started for the command (``address="local"``: never a
cluster that happens to run on the machine, nor ``$RAY_ADDRESS``) and shut down when it ends;
``--ray-address auto`` joins the one ``ray start`` made here, ``host:port`` a remote one. Ctrl-C (SIGINT)
cancels what is outstanding without forcing (a forced cancel raced Ray's task bookkeeping and aborted the
driver), records nothing half-done and shuts the local cluster down before the CLI prints its interrupted
line and exits 130. The local cluster's processes are started with SIGINT ignored, so a Ctrl-C at the
terminal (sent to the whole process group) reaches the driver only, which then stops them in order."""
from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bench.errors import CdbenchError
from bench.plan import Plan
from bench.runner import Outcome, Recorder, grid_bar

INSTALL = "pip install -e '.[ray]'"


def check_available() -> None:
    """Fail fast, before any work, when Ray is not installed."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise CdbenchError(f"--executor ray needs Ray; install it with `{INSTALL}`")


def _run_remote(spec, device: str, cache_dir: str | None, threads: int) -> dict[str, Any]:
    """What one Ray task does: a run, read from the driver's cache when visible, never written to it."""
    import torch

    from bench.harness import run_one

    torch.set_num_threads(threads)
    return run_one(spec, device, Path(cache_dir) if cache_dir else None, write_cache=False)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Processes started inside inherit SIGINT ignored (the terminal's Ctrl-C then reaches the driver alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def run_plan_on_ray(plan: Plan, cache_dir: Path | None, address: str | None = None,
                    num_cpus: int | None = None) -> Outcome:
    check_available()
    import ray

    from bench.harness import load_cached, store_cached

    started = not ray.is_initialized()
    if started:
        env = {"env_vars": {k: os.environ[k] for k in ("CDBENCH_HOME", "CDBENCH_CACHE", "CDBENCH_NPM_PREFIX",
                                                       "CDBENCH_GPT2_BPE_DIR") if k in os.environ}}
        with _sigint_ignored():
            ray.init(address=address or "local", num_cpus=num_cpus if address is None else None, runtime_env=env,
                     include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        return _run(ray, plan, cache_dir, load_cached, store_cached)
    finally:
        if started:
            with _sigint_ignored():  # a second Ctrl-C does not cut the shutdown short
                ray.shutdown()


def _run(ray, plan: Plan, cache_dir: Path | None, load_cached, store_cached) -> Outcome:
    cuda = plan.device.startswith("cuda")
    remote = ray.remote(num_gpus=1 if cuda else 0, num_cpus=0 if cuda else 1, max_calls=0)(_run_remote)
    rec = Recorder(plan.results)
    refs = {remote.remote(spec, plan.device, str(cache_dir) if cache_dir else None, 1): spec for spec in plan.specs}
    bar = grid_bar(len(refs), "cdbench run (ray)")
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            ref = done[0]
            spec = refs[ref]
            try:
                run = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
                rec.fail(spec, first if isinstance(cause, CdbenchError) else f"{type(cause).__name__}: {first}")
            except ray.exceptions.RayError as exc:  # a worker that died (out of memory, killed)
                rec.fail(spec, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
            else:
                if cache_dir is not None and load_cached(cache_dir, run["rows"][0]["cache_key"]) is None:
                    store_cached(cache_dir, run)
                rec.record(run)
            bar.update()
    except KeyboardInterrupt:
        with _sigint_ignored():
            for ref in pending:
                try:
                    ray.cancel(ref, force=False)  # KeyboardInterrupt inside the task; never a forced kill
                except Exception:  # noqa: BLE001 - a task that finished meanwhile; shutdown stops the rest
                    pass
            print(f"cdbench: cancelled {len(pending)} outstanding Ray tasks", file=sys.stderr)
        raise
    finally:
        bar.close()
    return rec.outcome
