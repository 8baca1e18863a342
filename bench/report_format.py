"""How the report writes numbers: mean ± sd over seeds, a plain number, n/a for what is missing."""
from __future__ import annotations

import math

import pandas as pd


def missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt(mean: float, sd: float, n: int) -> str:
    """``mean ± sd`` over ``n`` seeds (the mean alone for one seed), ``n/a`` when there is none."""
    if missing(mean):
        return "n/a"
    return f"{mean:.3f} ± {sd:.3f}" if n > 1 and not missing(sd) else f"{mean:.3f}"


def fmt_series(s: pd.Series) -> str:
    """:func:`fmt` over the non-missing values of ``s``."""
    s = s.dropna()
    return fmt(float(s.mean()), float(s.std()), len(s)) if len(s) else "n/a"


def num(v: float, digits: int = 3) -> str:
    return "n/a" if missing(v) else f"{v:.{digits}f}"
