"""One raw cell to a clean Python value, whatever produced it.

The featurizer reads records from three places: processed CSVs read by pandas
(NaN, ``pd.NA``, "A|B" strings), API requests (None, lists, dates) and
hand-built dicts in tests. These helpers make the three look the same, so the
feature rules in :mod:`tmdb_mlops.features` never branch on where a value came
from. Pure Python on purpose: they run once per cell on the /predict hot path.

What counts as missing is pandas' rule for one value (``pandas.isna`` of a
scalar: None, NaN, ``pd.NA``, ``NaT``, ...), so a record's cell and the same
value in a DataFrame column are missing alike: the column-wise batch encoder
(:mod:`tmdb_mlops.batch_features`) masks a column with ``Series.isna`` and must
agree with these helpers cell for cell.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from tmdb_mlops.schema import LIST_SEPARATOR

try:  # pandas' own test of one value, what Series.isna applies to each object cell
    from pandas._libs.missing import checknull as _checknull
except ImportError:  # pragma: no cover - an image without pandas has no pd.NA nor NaT

    def _checknull(value: Any) -> bool:
        try:
            return bool(value != value)  # NaN of any float type
        except Exception:  # noqa: BLE001 - an odd object is not missing
            return False

_SEQUENCES = (list, tuple)
# Types that are never missing, checked by identity first (the hot path's cells).
_NEVER_MISSING = frozenset({str, int, bool, list, tuple, dict})

Stats = dict[str, tuple[float, int]]  # name -> (sum of targets, count)


def is_missing(value: Any) -> bool:
    """Whether one cell is missing: None, NaN, ``pd.NA``, ``NaT`` (pandas' rule for a scalar)."""
    if value is None:
        return True
    cls = type(value)
    if cls is float:
        return value != value
    if cls in _NEVER_MISSING:
        return False
    return bool(_checknull(value))


def number(value: Any) -> float:
    """A float, NaN when missing or unparsable (CSV empties, None, NaN, huge integers)."""
    if type(value) is float:
        return value if math.isfinite(value) else math.nan
    if value is None or (type(value) is not int and is_missing(value)):
        return math.nan
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return result if math.isfinite(result) else math.nan


def text(value: Any) -> str:
    """Stripped text; missing (None, NaN, ``pd.NA``) is empty."""
    if type(value) is str:
        return value.strip()
    if value is None or is_missing(value):
        return ""
    return str(value).strip()


def split_list(value: Any) -> list[str]:
    """A list field, whether "A|B" (the CSV form) or already a list (a request)."""
    if type(value) is str:
        # The serving hot path: no per-item str() (split already gives str) nor generator.
        return [item for item in map(str.strip, value.split(LIST_SEPARATOR)) if item]
    if value is None:
        return []
    if isinstance(value, _SEQUENCES):
        return [item for item in map(str.strip, map(str, value)) if item]
    if is_missing(value):
        return []
    return [item for item in map(str.strip, str(value).split(LIST_SEPARATOR)) if item]


def parse_date(value: Any) -> date | None:
    """A date from a date, a datetime or ISO text (its first ten characters); else None."""
    if type(value) is str:
        cell = value.strip()
    elif is_missing(value):  # before the datetime test: NaT is a datetime
        return None
    elif isinstance(value, datetime):
        return value.date()
    elif isinstance(value, date):
        return value
    else:
        cell = str(value).strip()
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
