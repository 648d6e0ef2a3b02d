"""One raw cell to a clean Python value, whatever produced it.

The featurizer reads records from three places: processed CSVs read by pandas
(NaN, ``pd.NA``, "A|B" strings), API requests (None, lists, dates) and
hand-built dicts in tests. These helpers make the three look the same, so the
feature rules in :mod:`tmdb_mlops.features` never branch on where a value came
from. Pure Python on purpose: they run once per cell on the /predict hot path.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from tmdb_mlops.schema import LIST_SEPARATOR

_SEQUENCES = (list, tuple)

Stats = dict[str, tuple[float, int]]  # name -> (sum of targets, count)


def number(value: Any) -> float:
    """A float, NaN when missing or unparsable (CSV empties, None, NaN)."""
    if value is None or value == "":
        return math.nan
    try:
        result = float(value)
    except (TypeError, ValueError):
        return math.nan
    return result if math.isfinite(result) else math.nan


def text(value: Any) -> str:
    """Stripped text; missing (None, NaN) is empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def split_list(value: Any) -> list[str]:
    """A list field, whether "A|B" (the CSV form) or already a list (a request)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, _SEQUENCES):
        return [item for item in map(str.strip, map(str, value)) if item]
    # The serving hot path: no per-item str() (split already gives str) nor generator.
    return [item for item in map(str.strip, str(value).split(LIST_SEPARATOR)) if item]


def parse_date(value: Any) -> date | None:
    """A date from a date, a datetime or ISO text (its first ten characters); else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    cell = text(value)
    if len(cell) < 10:
        return None
    try:
        return date.fromisoformat(cell[:10])
    except ValueError:
        return None


def frequent(counter: Counter[str], *, min_count: int, max_values: int) -> list[str]:
    """The most common values (ties broken by name, so fitting is deterministic)."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return sorted(v for v, n in ranked[:max_values] if n >= min_count)


def target_stats(names: Iterable[list[str]], y: Iterable[float]) -> Stats:
    """For each name, the sum of the targets of the rows that carry it and their count."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row_names, target in zip(names, y, strict=True):
        for name in row_names:
            sums[name] = sums.get(name, 0.0) + target
            counts[name] = counts.get(name, 0) + 1
    return {name: (sums[name], counts[name]) for name in sums}
