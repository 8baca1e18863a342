"""Methods contributed by installed packages: each entry point of the ``cdbench.methods`` group names one
:class:`~methods.base.MethodSpec` (``key = "package.module:SPEC"`` in the package's metadata).

A plug-in that fails to import, names something that is not a ``MethodSpec``, or reuses a registered key is
skipped with one warning line naming the entry point and why; the built-in registry is never affected."""
from __future__ import annotations

import dataclasses
import inspect
import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Mapping

from methods.base import MethodSpec

log = logging.getLogger(__name__)
GROUP = "cdbench.methods"


def _check(spec: object, ep: EntryPoint, taken: Mapping[str, MethodSpec]) -> MethodSpec:
    """The entry point's object as a usable registry entry, or ValueError saying what is wrong with it."""
    if not isinstance(spec, MethodSpec):
        raise ValueError(f"it is a {type(spec).__name__}, not a methods.base.MethodSpec")
    if spec.key in taken:
        raise ValueError(f"method key {spec.key!r} is already registered")
    if not (isinstance(spec.config, type) and dataclasses.is_dataclass(spec.config)):
        raise ValueError(f"its config {spec.config!r} is not a settings dataclass")
    try:
        inspect.signature(spec.run).bind(None, None, None, 0)
    except (TypeError, ValueError):
        raise ValueError("its run does not take (model, prompts, config, seed)") from None
    return spec


def plugin_methods(taken: Mapping[str, MethodSpec]) -> dict[str, MethodSpec]:
    """Every well-formed ``cdbench.methods`` entry point's spec by key, in entry-point name order; each
    broken one is logged as one line (``cdbench.methods plug-in NAME (VALUE) skipped: WHY``)."""
    found: dict[str, MethodSpec] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        try:
            spec = _check(ep.load(), ep, {**taken, **found})
        except Exception as exc:  # noqa: BLE001 - any failure of a third-party package is reported, not raised
            why = str(exc).splitlines()[0] if str(exc) else ""
            log.warning("%s plug-in %s (%s) skipped: %s%s", GROUP, ep.name, ep.value, type(exc).__name__,
                        f": {why}" if why else "")
            continue
        found[spec.key] = spec
    return found
