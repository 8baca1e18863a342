"""A method's settings for one run: its ``Config`` defaults, its paper's setting for the task family, then
``--set`` overrides (each read as the type of the setting's default and checked by the class itself), and
the row's ``setting`` text, generated from the values the run used."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Iterable, Sequence

from bench.errors import CdbenchError
from methods.base import MethodSpec


def _parse(value: str, default: Any, key: str) -> Any:
    """A ``--set`` string as the type of the setting's default."""
    try:
        if isinstance(default, str):
            return value  # a string setting takes the word as written ("none" is a value, e.g. hisp normalize=none)
        if value.lower() == "none":
            return None
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        if isinstance(default, tuple):
            kind = type(default[0]) if default else str
            return tuple(kind(v) for v in value.split(",") if v)
        if isinstance(default, int):
            return int(value)
        return float(value)
    except ValueError:
        raise CdbenchError(f"setting {key}: cannot read {value!r} as {type(default).__name__}") from None


def make_config(method: MethodSpec, family: str, overrides: Iterable[tuple[str, Any]]) -> Any:
    """The method's settings: its defaults, then its paper's setting for the task family, then ``--set``."""
    cls = method.config
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = dict(method.family_settings.get(family, {}))
    for key, value in overrides:
        if key not in names:
            raise CdbenchError(f"method {method.key} has no setting {key!r}; settings: {', '.join(sorted(names)) or 'none'}")
        kwargs[key] = _parse(value, getattr(cls(), key), key) if isinstance(value, str) else value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CdbenchError(f"method {method.key}: {exc}") from None


def check_config_for(method: MethodSpec, config: Any, n_prompts: int, attn_only: bool) -> None:
    """Settings that depend on the prompt count or the model (``Config.check_prompts``, ``check_model``),
    checked before any work."""
    try:
        for check, arg in ((getattr(config, "check_prompts", None), n_prompts), (getattr(config, "check_model", None), attn_only)):
            if check is not None:
                check(arg)
    except ValueError as exc:
        raise CdbenchError(f"method {method.key}: {exc}") from None


def config_hash(config: Any) -> str:
    """A short hash of the settings class and every value (part of the cache key and each row)."""
    blob = json.dumps({"cls": f"{type(config).__module__}.{type(config).__qualname__}", **dataclasses.asdict(config)},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _short(v: Any) -> str:
    if isinstance(v, tuple) and len(v) > 3:
        return f"{len(v)} values {v[0]:.3g}..{v[-1]:.3g}"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def setting_text(method: MethodSpec, config: Any, family: str, overrides: Sequence[tuple[str, str]]) -> str:
    """What the row ran at: the method's setting in words, then every value of its settings as used, and
    which of them came from the task family's paper setting or from ``--set``."""
    values = ", ".join(f"{f.name}={_short(getattr(config, f.name))}" for f in dataclasses.fields(config))
    text = f"{method.setting}: {values}" if method.setting and values else method.setting or values
    fam = sorted(method.family_settings.get(family, {}))
    if fam:
        text += f" ({family} paper setting: {', '.join(fam)})"
    if overrides:
        text += f" (--set {', '.join(k for k, _ in overrides)})"
    return text
