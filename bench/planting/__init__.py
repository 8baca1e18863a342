"""Planting circuits: the training recipes (which component computes each high-level variable), SIIT
training, certification by intervention and the ground-truth files they write. This is the only code that
knows a planted model's mapping; nothing on the path from a task to a method's scores imports it."""
from __future__ import annotations

import bench.planting.recipe  # noqa: E402,F401  first, so that loading it later cannot rebind `recipe` below

RECIPES = ("ioi", "frac", "reverse", "induction", "ioi32", "greater32", "docstring32", "reverse32")


def recipe(name: str):
    """The recipe of planted-<name>."""
    import importlib

    if name not in RECIPES:
        raise KeyError(name)
    return importlib.import_module(f"bench.planting.{name}").RECIPE
